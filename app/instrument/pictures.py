"""Pictures of the model itself, for a snapshot (issue 9): the decision boundary and each hidden
unit over the input plane, the fitted curve of a 1-D input, the network's linear layers as a
diagram, and the first layer's weights as images.

All of it is computed in the worker at display rate under `torch.no_grad()` and in eval mode, and
its arrays join the snapshot's float32 block (one more copy to the host per snapshot). The budget
that spaces snapshots counts this time too, so a big model is pictured less often, never slower.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from app.contract.views import (
    CurveView,
    FilterView,
    ModelViews,
    NetworkLayer,
    NetworkLink,
    NetworkView,
    PlaneView,
    UnitMap,
)
from app.engine.experiments import Data, Task
from app.engine.models import ACTIVATIONS, PlaygroundFeatures
from app.instrument.evaluation import eval_mode

GRID = 48  # points per axis of the decision boundary
UNIT_GRID = 20  # points per axis of each hidden unit's map
UNITS_SHOWN = 8  # hidden units pictured per layer
NETWORK_SHOWN = 16  # units drawn per layer of the network diagram
FILTERS_SHOWN = 32  # first-layer images
CURVE_POINTS = 120
_ACTIVATION_TYPES = tuple({type(make()) for make in ACTIVATIONS.values()})
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class Block:
    """The float32 arrays of the pictures, placed after the snapshot's own data."""

    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.pieces: list[torch.Tensor] = []

    def place(self, values: torch.Tensor) -> tuple[int, int]:
        flat = values.detach().reshape(-1).to(torch.float32)
        start = self.offset
        self.pieces.append(flat)
        self.offset += flat.numel()
        return start, flat.numel()

    def tobytes(self) -> bytes:
        if not self.pieces:
            return b""
        return bytes(torch.cat(self.pieces).cpu().numpy().tobytes())


class Pictures:
    def __init__(
        self,
        model: nn.Module,
        data: Data,
        task: Task,
        loss_fn: nn.Module,
        image_shape: tuple[int, int] | None = None,
    ) -> None:
        self.model = model
        self.task = task
        self.logits = isinstance(loss_fn, nn.BCEWithLogitsLoss)
        self.dims = data.inputs.shape[1] if data.inputs.dim() == 2 else 0
        self.image_shape = image_shape
        self.network = linear_chain(model)
        self.labels = next(
            (m.names for m in model.modules() if isinstance(m, PlaygroundFeatures)), None
        )
        self.plane_grid: tuple[torch.Tensor, torch.Tensor] | None = None
        self.extent: tuple[tuple[float, float], tuple[float, float]] | None = None
        if self.dims == 2:
            everything = data.inputs
            if data.validation_inputs is not None:
                everything = torch.cat([everything, data.validation_inputs])
            x1, x2 = _span(everything[:, 0]), _span(everything[:, 1])
            self.extent = (x1, x2)
            self.plane_grid = (_grid(x1, x2, GRID), _grid(x1, x2, UNIT_GRID))
        self.curve_x: torch.Tensor | None = None
        if self.dims == 1 and task == "regression":
            low, high = _span(data.inputs[:, 0])
            self.curve_x = torch.linspace(low, high, CURVE_POINTS).unsqueeze(1)

    def render(
        self,
        block: Block,
        updates: dict[nn.Parameter, torch.Tensor],
        confusion: list[list[int]] | None,
    ) -> ModelViews:
        with torch.no_grad(), eval_mode(self.model):
            plane = self._plane(block) if self.plane_grid is not None else None
            curve = None
            if self.curve_x is not None:
                y = self.model(self.curve_x).reshape(-1)
                curve = CurveView.model_construct(x=self.curve_x.reshape(-1).tolist(), y=y.tolist())
            network = self._network(block, updates)
            filters = self._filters(block)
        return ModelViews.model_construct(
            plane=plane, curve=curve, network=network, filters=filters, confusion=confusion
        )

    def _plane(self, block: Block) -> PlaneView:
        assert self.plane_grid is not None and self.extent is not None
        grid, unit_grid = self.plane_grid
        outputs = self.model(grid)
        kind: Literal["probability", "value", "class"]
        if self.task == "classes":
            output, kind = outputs.argmax(dim=1).float(), "class"
        elif self.task == "binary":
            output = torch.sigmoid(outputs) if self.logits else outputs
            kind = "probability"
        else:
            output, kind = outputs[:, 0], "value"
        units = self._units(unit_grid, block)
        return PlaneView.model_construct(
            x1=self.extent[0],
            x2=self.extent[1],
            n=GRID,
            output=block.place(output),
            output_kind=kind,
            unit_n=UNIT_GRID,
            units=units,
        )

    def _units(self, grid: torch.Tensor, block: Block) -> list[UnitMap]:
        """Each hidden layer's output: what its activation module returns, in the order they run."""
        seen: list[torch.Tensor] = []
        handles = [
            module.register_forward_hook(lambda _m, _i, out: seen.append(out))
            for module in self.model.modules()
            if isinstance(module, _ACTIVATION_TYPES)
        ]
        try:
            self.model(grid)
        finally:
            for handle in handles:
                handle.remove()
        maps = []
        for layer, out in enumerate(seen, start=1):
            if out.dim() != 2:
                continue  # a convolution's feature maps are not points of the plane
            for unit in range(min(UNITS_SHOWN, out.shape[1])):
                maps.append(
                    UnitMap.model_construct(
                        layer=layer, unit=unit, values=block.place(out[:, unit])
                    )
                )
        return maps

    def _network(
        self, block: Block, updates: dict[nn.Parameter, torch.Tensor]
    ) -> NetworkView | None:
        if not self.network:
            return None
        shown = NETWORK_SHOWN
        first = self.network[0][1]
        # A chain that starts after other layers (a CNN's classifier) reads features, not inputs.
        reads_inputs = next(m for m in self.model.modules() if isinstance(m, _WEIGHTED)) is first
        layers = [
            NetworkLayer.model_construct(
                name="input" if reads_inputs else "features",
                units=first.in_features,
                labels=self.labels if self.labels else None,
            )
        ]
        links = []
        for index, (name, linear) in enumerate(self.network):
            last = index == len(self.network) - 1
            layers.append(
                NetworkLayer.model_construct(
                    name="output" if last else f"hidden {index + 1}",
                    units=linear.out_features,
                    labels=None,
                )
            )
            rows, cols = min(shown, linear.out_features), min(shown, linear.in_features)
            weight = linear.weight
            update = updates.get(weight)  # type: ignore[call-overload]  # a Parameter, typed Tensor
            links.append(
                NetworkLink.model_construct(
                    parameter=f"{name}.weight" if name else "weight",
                    rows=rows,
                    cols=cols,
                    value=block.place(weight[:rows, :cols]),
                    grad=None if weight.grad is None else block.place(weight.grad[:rows, :cols]),
                    update=None if update is None else block.place(update[:rows, :cols]),
                )
            )
        return NetworkView.model_construct(shown=shown, layers=layers, links=links)

    def _filters(self, block: Block) -> FilterView | None:
        first = next(
            (
                (name, m)
                for name, m in self.model.named_modules()
                if isinstance(m, nn.Linear | nn.Conv2d)
            ),
            None,
        )
        if first is None:
            return None
        name, module = first
        weight = module.weight
        if isinstance(module, nn.Conv2d):
            kernels = weight[:FILTERS_SHOWN, 0]
            count, height, width = kernels.shape
            values = kernels
        elif self.image_shape is not None and math.prod(self.image_shape) == weight.shape[1]:
            count = min(FILTERS_SHOWN, weight.shape[0])
            height, width = self.image_shape
            values = weight[:count]
        else:
            return None
        return FilterView.model_construct(
            parameter=f"{name}.weight",
            count=count,
            height=height,
            width=width,
            values=block.place(values),
        )


def linear_chain(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The model's linear layers in order, when each reads what the one before writes: an MLP, or
    a CNN's classifier head. Empty when there is none."""
    chain: list[tuple[str, nn.Linear]] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if chain and chain[-1][1].out_features != module.in_features:
            chain = []  # not one chain: start again from this layer
        chain.append((name, module))
    return chain


def _span(values: torch.Tensor) -> tuple[float, float]:
    """The data's range with a 10% margin on each side (or ±1 around a single value)."""
    low, high = float(values.min()), float(values.max())
    margin = 0.1 * (high - low) or 1.0
    return low - margin, high + margin


def _grid(x1: tuple[float, float], x2: tuple[float, float], n: int) -> torch.Tensor:
    """n × n points of the plane, row-major with rows going up x₂: shape (n·n, 2)."""
    a = torch.linspace(x1[0], x1[1], n)
    b = torch.linspace(x2[0], x2[1], n)
    rows, cols = torch.meshgrid(b, a, indexing="ij")
    return torch.stack([cols.reshape(-1), rows.reshape(-1)], dim=1)
