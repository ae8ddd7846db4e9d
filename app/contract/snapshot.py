"""The JSON header of a binary `snapshot` message (docs/protocol.md, "snapshot").

The float32 data block that follows the header is addressed by `[offset, length]` pairs: every
float in it lies under exactly one `view` or `histogram` of a field, or under `values` of
`state_scalars`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.contract.base import PROTOCOL_VERSION, Message
from app.contract.snapshot_span import Span
from app.contract.views import Evaluation, ModelViews
from app.engine.experiments import Teaching
from app.engine.loop import Phase
from app.engine.optimizers import OptimizerConfig


class Stats(Message):
    """Over the whole tensor; mean, std, min, max and norm over its finite elements only."""

    mean: float
    std: float = Field(description="population standard deviation: divided by n, not n − 1")
    min: float
    max: float
    norm: float = Field(description="L2 norm")
    nan: int = Field(description="how many elements are NaN")
    inf: int = Field(description="how many elements are +Inf or −Inf")


class FieldData(Message):
    view: Span = Field(description="the elements: all of them, or 4096 samples when sampled")
    stats: Stats
    histogram: Span | None = Field(
        default=None,
        description="sampled tensors only: 64 counts of finite elements, min to max in equal bins",
    )


class LedgerLine(Message):
    symbolic: str = Field(description="the rule in symbols, e.g. m ← β₁·m + (1 − β₁)·g")
    numeric: str = Field(description="the same line with this element's numbers")
    value: float = Field(description="the line's result for this element")


class Tensor(Message):
    name: str = Field(description="the parameter's name in the model, e.g. weight")
    shape: list[int]
    numel: int
    sampled: bool = Field(description="more than 4096 elements: views carry 4096 samples")
    fields: dict[str, FieldData | None] = Field(
        description="value, grad, update, predicted and state.<key>; null when it does not exist"
    )
    state_scalars: dict[str, float] = Field(description="the optimizer's scalar state, e.g. step")
    ledger: list[list[LedgerLine]] = Field(
        description="per element, the update rule's lines (after a step or phase command)"
    )


class Batch(Message):
    size: int
    predictions: list[float] = Field(description="the first 8 predictions, flattened")
    targets: list[float] = Field(description="the first 8 targets, flattened")


class Racer(Message):
    name: str = Field(description="the optimizer's title")
    optimizer: OptimizerConfig
    point: tuple[float, float] = Field(description="(w, b) now")
    before: tuple[float, float] | None = Field(description="(w, b) before its last step")
    gradient_step: tuple[float, float] | None = Field(
        description="−lr·g from `before`: where plain gradient descent would have gone"
    )
    loss: float | None
    step: int


class MicroBatch(Message):
    index: int = Field(ge=1, description="1-based")
    of: int = Field(ge=1, description="micro-batches per step (teaching.accumulate)")


class ZeroGradEffect(Message):
    phase: Literal[Phase.ZERO_GRAD] = Phase.ZERO_GRAD
    cleared: bool = Field(description="false when the zero_grad switch was off: nothing cleared")


class ForwardEffect(Message):
    phase: Literal[Phase.FORWARD] = Phase.FORWARD


class LossEffect(Message):
    phase: Literal[Phase.LOSS] = Phase.LOSS


class BackwardEffect(Message):
    phase: Literal[Phase.BACKWARD] = Phase.BACKWARD
    ran: bool = Field(description="false when the backward switch was off: no gradient added")
    micro_batch: int = Field(ge=1, description="1-based")
    micro_batches: int = Field(ge=1)


class StepEffect(Message):
    phase: Literal[Phase.STEP] = Phase.STEP
    moved: bool | None = Field(
        description="false when every Δθ was exactly 0; null when no update was recorded"
    )


Effect = Annotated[
    ZeroGradEffect | ForwardEffect | LossEffect | BackwardEffect | StepEffect,
    Field(discriminator="phase"),
]


class SnapshotHeader(Message):
    type: Literal["snapshot"] = "snapshot"
    v: Literal[1] = PROTOCOL_VERSION
    step: int = Field(description="optimizer steps taken")
    phase: Phase | None = Field(description="the last phase that ran")
    loss: float | None = Field(description="this step's loss, once the loss phase ran")
    batch: Batch | None = Field(description="this step's batch, once the forward phase ran")
    race: list[Racer] | None = Field(description="surface-2d: the run's own optimizer first")
    optimizer: OptimizerConfig | None = Field(
        description="null for an attached script's optimizer of a class Stepscope has no fields for"
    )
    teaching: Teaching = Field(description="the teaching switches in force")
    effect: Effect | None = Field(description="what the last phase did; null before any")
    micro_batch: MicroBatch
    tensors: list[Tensor]
    views: ModelViews | None = Field(
        default=None, description="what the model does over its inputs; null for the classic two"
    )
    evaluation: Evaluation | None = Field(
        default=None, description="training and validation metrics at this step, where measured"
    )
