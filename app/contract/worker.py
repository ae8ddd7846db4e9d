"""The pipe between the server and a run's worker process: commands in, reports out.

The models themselves travel (pickled). They are built with `model_construct` on the worker's side,
where they are made from values the worker computed itself, so the loop pays no validation.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from app.contract.base import Message
from app.contract.branch import Rewind, Rewound
from app.contract.checkpoint import CheckpointInfo, SaveReason
from app.contract.events import Alert, OwnPath, RaceSeries
from app.contract.health import HealthPoint, Instrumentation
from app.contract.run import AlertSettings
from app.contract.views import Evaluation
from app.engine.experiments import Teaching
from app.engine.loop import Phase
from app.engine.optimizers import OptimizerConfig
from app.runs.state import Command

# server → worker


class Control(Message):
    kind: Literal["control"] = "control"
    command: Command


class SetOptimizer(Message):
    kind: Literal["optimizer"] = "optimizer"
    optimizer: OptimizerConfig


class SetTeaching(Message):
    kind: Literal["teaching"] = "teaching"
    teaching: Teaching


class SetPace(Message):
    kind: Literal["steps_per_second"] = "steps_per_second"
    steps_per_second: float | None


class SetAlerts(Message):
    kind: Literal["alerts"] = "alerts"
    alerts: AlertSettings


class SetInstrumentation(Message):
    kind: Literal["instrumentation"] = "instrumentation"
    instrumentation: Instrumentation


class SaveCheckpoint(Message):
    """Write a checkpoint now (at the step boundary the loop is at); answered by Checkpointed."""

    kind: Literal["save_checkpoint"] = "save_checkpoint"
    why: SaveReason = SaveReason.DEMAND


WorkerCommand = Annotated[
    Control
    | SetOptimizer
    | SetTeaching
    | SetPace
    | SetAlerts
    | SetInstrumentation
    | SaveCheckpoint
    | Rewind,
    Field(discriminator="kind"),
]


# worker → server


class Ready(Message):
    kind: Literal["ready"] = "ready"
    parameters: list[str]


class ScalarsBatch(Message):
    kind: Literal["scalars"] = "scalars"
    first_step: int
    loss: list[float]
    t0: float = Field(description="wall clock when the batch's first step ended")
    t1: float = Field(description="wall clock when the batch was sent")
    race: list[RaceSeries] | None = None
    path: OwnPath | None = None


class SnapshotFrame(Message):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    kind: Literal["snapshot"] = "snapshot"
    step: int
    frame: bytes = Field(description="the encoded binary snapshot message")


class Ack(Message):
    kind: Literal["ack"] = "ack"
    command: Command
    step: int
    phase: Phase | None
    mid_step: bool


class OptimizerChanged(Message):
    kind: Literal["optimizer_changed"] = "optimizer_changed"
    step: int
    optimizer: OptimizerConfig
    fresh: bool
    previous: OptimizerConfig


class Evaluated(Message):
    kind: Literal["evaluated"] = "evaluated"
    point: Evaluation


class HealthMeasured(Message):
    """A health point, sent just before the snapshot it was made from."""

    kind: Literal["health"] = "health"
    point: HealthPoint


class Alerted(Message):
    """An alert: a non-finite value, or a health alert (never paused). When `paused`, the loop stopped itself where it was found:
    its scalars were flushed before this message, and the snapshot of that moment follows it."""

    kind: Literal["alerted"] = "alerted"
    alert: Alert
    at_step: int = Field(description="the loop's step counter when it stopped")
    phase: Phase | None = Field(description="the last phase the loop ran")
    mid_step: bool


class Checkpointed(Message):
    """A checkpoint was written (app/store/checkpoints.py), after the scalars of its step; or,
    with `refused`, why none could be (the loop is in the middle of a step)."""

    kind: Literal["checkpointed"] = "checkpointed"
    checkpoint: CheckpointInfo | None
    why: SaveReason
    refused: str | None = None


class Failed(Message):
    kind: Literal["failed"] = "failed"
    reason: str


WorkerMessage = Annotated[
    Ready
    | ScalarsBatch
    | SnapshotFrame
    | Evaluated
    | HealthMeasured
    | Ack
    | OptimizerChanged
    | Alerted
    | Checkpointed
    | Rewound
    | Failed,
    Field(discriminator="kind"),
]
