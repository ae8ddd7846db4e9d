"""Hooks on a real optimizer, and the snapshot of every parameter they make possible.

The step hooks bracket `optimizer.step()`: the pre-hook keeps a copy of each parameter, the post-hook
subtracts it from the new value, so the update we show is exactly what `step()` did (after − before),
for any optimizer, without re-implementing one. The optimizer's own `state[p]` is read, never
recomputed. Copies are only taken when a snapshot is due (`arm()`), so steps in between cost nothing
but two cheap Python calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from app.instrument.stats import STAT_NAMES, VIEW_LIMIT, histogram, tensor_stats, view_of


@dataclass(frozen=True)
class Snapshot:
    """A JSON-ready description of every parameter, and the float32 data its views point into."""

    header: dict[str, Any]
    data: bytes


class Recorder:
    def __init__(self, parameters: list[tuple[str, nn.Parameter]]) -> None:
        self.parameters = parameters
        self.armed = False
        self.updates: dict[nn.Parameter, torch.Tensor] = {}
        self.hook_seconds = 0.0  # time spent in armed hooks, charged to the overhead budget
        self._before: list[torch.Tensor] | None = None
        self._steps = 0  # step() calls seen
        self._updated_at = 0  # the step() whose update `updates` holds
        self._handles: list[RemovableHandle] = []

    def attach(self, optimizer: torch.optim.Optimizer) -> None:
        """Hook a (new) optimizer; the hooks of the previous one are removed."""
        self.detach()
        self.updates.clear()
        self._handles = [
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
        ]

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def arm(self) -> None:
        """Capture the update of the next `step()`."""
        self.armed = True

    def _before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._steps += 1
        if not self.armed:
            return
        started = time.perf_counter()
        with torch.no_grad():
            self._before = [p.detach().clone() for _, p in self.parameters]
        self.hook_seconds += time.perf_counter() - started

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._before is None:
            return
        started = time.perf_counter()
        with torch.no_grad():
            self.updates = {
                p: p.detach() - before
                for (_, p), before in zip(self.parameters, self._before, strict=True)
            }
        self._before = None
        self.armed = False
        self._updated_at = self._steps
        self.hook_seconds += time.perf_counter() - started

    def snapshot(self, optimizer: torch.optim.Optimizer) -> Snapshot:
        # An update from an earlier step is not this step's: leave it out rather than mislabel it.
        current = self.updates if self._updated_at == self._steps else {}
        with torch.no_grad():
            return build_snapshot(self.parameters, optimizer, current)


def _per_element_fields(
    param: nn.Parameter, optimizer: torch.optim.Optimizer, update: torch.Tensor | None
) -> tuple[dict[str, torch.Tensor | None], dict[str, torch.Tensor]]:
    """The tensors shaped like the parameter (value, grad, update, state) and its scalar state."""
    fields: dict[str, torch.Tensor | None] = {
        "value": param.detach(),
        "grad": None if param.grad is None else param.grad.detach(),
        "update": update,
    }
    scalars: dict[str, torch.Tensor] = {}
    for key, state in optimizer.state.get(param, {}).items():
        if state is None:  # e.g. SGD's momentum_buffer before momentum is used
            continue
        if not isinstance(state, torch.Tensor):
            scalars[key] = torch.tensor(float(state))
        elif state.shape == param.shape:
            fields[f"state.{key}"] = state.detach()
        elif state.numel() == 1:
            scalars[key] = state.detach()
    return fields, scalars


def build_snapshot(
    parameters: list[tuple[str, nn.Parameter]],
    optimizer: torch.optim.Optimizer,
    updates: dict[nn.Parameter, torch.Tensor],
) -> Snapshot:
    # Gather every number on the device first: one concatenation, one copy to the host.
    pieces: list[torch.Tensor] = []
    offset = 0

    def place(values: torch.Tensor) -> tuple[int, int]:
        nonlocal offset
        flat = values.reshape(-1).to(torch.float32)
        pieces.append(flat)
        start, offset = offset, offset + flat.numel()
        return start, flat.numel()

    tensors: list[dict[str, Any]] = []
    stat_slots: list[tuple[dict[str, Any], int]] = []
    scalar_slots: list[tuple[dict[str, Any], str, int]] = []
    for name, param in parameters:
        fields, scalars = _per_element_fields(param, optimizer, updates.get(param))
        entry: dict[str, Any] = {
            "name": name,
            "shape": list(param.shape),
            "numel": param.numel(),
            "sampled": param.numel() > VIEW_LIMIT,
            "fields": {},
            "state_scalars": {},
        }
        for field, tensor in fields.items():
            if tensor is None:
                entry["fields"][field] = None
                continue
            flat = tensor.reshape(-1).to(torch.float32)
            stats = tensor_stats(flat)
            record: dict[str, Any] = {"view": place(view_of(flat))}
            stat_slots.append((record, place(stats)[0]))
            if entry["sampled"]:
                record["histogram"] = place(histogram(flat, stats))
            entry["fields"][field] = record
        for key, value in scalars.items():
            scalar_slots.append((entry["state_scalars"], key, place(value)[0]))
        tensors.append(entry)

    # note: on a GPU this is the snapshot's one device-to-host sync point
    host = torch.cat(pieces).cpu().numpy() if pieces else torch.empty(0).numpy()
    for record, start in stat_slots:
        record["stats"] = dict(
            zip(STAT_NAMES, host[start : start + len(STAT_NAMES)].tolist(), strict=True)
        )
    for target, key, start in scalar_slots:
        target[key] = float(host[start])
    return Snapshot(header={"tensors": tensors}, data=host.tobytes())
