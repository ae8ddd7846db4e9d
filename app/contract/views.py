"""What a snapshot shows of the model itself, beyond its tensors (issue 9): the decision boundary
and each hidden unit over the input plane, the fit of a 1-D curve, the network as a diagram, the
first layer's weights as images, and how well the model does on data it trains and never trains on.

Large arrays live in the snapshot's float32 data block, addressed by `Span`s like the tensors'.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.contract.base import Message
from app.contract.snapshot_span import Span


class Evaluation(Message):
    """The model on the training and the validation samples (up to 512 of each, always the same
    ones), with no gradient and in eval mode, after `step` optimizer steps."""

    step: int
    train_loss: float | None = Field(description="the loss over the training samples")
    validation_loss: float | None = Field(description="null when nothing is held out")
    train_accuracy: float | None = Field(description="0…1; classification only")
    validation_accuracy: float | None = Field(description="0…1; classification with validation")


class UnitMap(Message):
    layer: int = Field(ge=1, description="the hidden layer, 1-based")
    unit: int = Field(ge=0, description="the unit in its layer, 0-based")
    values: Span = Field(description="unit_n × unit_n activations, row-major, rows along x₂")


class PlaneView(Message):
    """The model over a grid of the input plane (2-D inputs only): rows go up x₂, columns along x₁."""

    x1: tuple[float, float] = Field(description="[low, high] of the first input")
    x2: tuple[float, float] = Field(description="[low, high] of the second input")
    n: int = Field(description="grid points per axis of `output`")
    output: Span = Field(description="n × n outputs, row-major")
    output_kind: Literal["probability", "value", "class"] = Field(
        description="probability of class 1 (binary), the model's value (regression), or the "
        "predicted class index (several classes)"
    )
    unit_n: int = Field(description="grid points per axis of each unit map")
    units: list[UnitMap] = Field(description="each hidden unit's output (the first 8 per layer)")


class CurveView(Message):
    """The model's output along its one input (1-D regression), to draw over the samples."""

    x: list[float]
    y: list[float]


class NetworkLayer(Message):
    name: str = Field(
        description="input (or features, when the chain follows other layers, as a CNN's "
        "classifier does), hidden 1, …, output"
    )
    units: int = Field(description="how many units the layer has")
    labels: list[str] | None = Field(description="the input features' names, where known")


class NetworkLink(Message):
    """A linear layer's weights between two drawn layers: W[:rows, :cols] of the `parameter`."""

    parameter: str = Field(description="the weight's name in the model, e.g. 1.weight")
    rows: int = Field(description="units drawn in the layer it feeds (≤ network.shown)")
    cols: int = Field(description="units drawn in the layer it reads (≤ network.shown)")
    value: Span
    grad: Span | None = Field(description="null before the first backward")
    update: Span | None = Field(description="the last step's Δθ; null when none is recorded")


class NetworkView(Message):
    """The model's chain of linear layers, for a diagram of units and weighted edges."""

    shown: int = Field(description="at most this many units of a layer are drawn")
    layers: list[NetworkLayer]
    links: list[NetworkLink] = Field(description="links[i] joins layers[i] to layers[i + 1]")


class FilterView(Message):
    """The first layer's weights as small images: one per unit (a Linear reading an image) or
    per kernel (a Conv2d)."""

    parameter: str
    count: int = Field(description="images drawn (the first 32 at most)")
    height: int
    width: int
    values: Span = Field(description="count × height × width weights")


class ModelViews(Message):
    plane: PlaneView | None = None
    curve: CurveView | None = None
    network: NetworkView | None = None
    filters: FilterView | None = None
    confusion: list[list[int]] | None = Field(
        default=None,
        description="validation samples by true class (rows) and predicted class (columns)",
    )
