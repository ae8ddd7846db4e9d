"""A run as the REST API and the stream's `hello` and `status` events describe it."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from app.contract.attached import AttachedRun
from app.contract.base import Message
from app.contract.branch import BranchPoint
from app.contract.checkpoint import CheckpointInfo
from app.contract.health import Instrumentation
from app.engine.experiments import ExperimentConfig
from app.engine.loop import Phase
from app.runs.state import RunState


class AlertSettings(Message):
    """Which alerts pause the run (docs/protocol.md, "Alerts")."""

    model_config = ConfigDict(frozen=True)

    nonfinite: bool = Field(
        default=True,
        description="a NaN or ±Inf in the loss, a gradient, a parameter or the optimizer state "
        "pauses the run and names the first tensor; off: NaN is streamed as data",
    )


class RunInfo(Message):
    id: str
    experiment: str = Field(description="the experiment's name, e.g. seed-linear")
    title: str = Field(description="the experiment's title, for people")
    config: ExperimentConfig | None = Field(
        description="the run's configuration as it is now; null for an attached script's run, "
        "whose model, data and loop are the script's own (see `attached`)"
    )
    state: RunState
    reason: str | None = Field(
        description="why the run failed or stopped, or what alert paused it, when one did"
    )
    step: int = Field(description="optimizer steps taken")
    loss: float | None = Field(description="the loss of the latest step")
    phase: Phase | None = Field(description="the last phase that ran")
    ready: bool = Field(description="the worker process has built the model")
    alerts: AlertSettings = Field(description="which alerts pause the run")
    instrumentation: Instrumentation = Field(
        description="the overhead budget of snapshots, hooks and evaluation"
    )
    attached: AttachedRun | None = Field(
        default=None,
        description="the script, its optimizer and what it dropped, for a run of an attached "
        "script (stepscope.attach); null for the server's own runs",
    )
    name: str | None = Field(
        default=None,
        description="the name a person gave the run (PATCH /api/runs/{id}); null: never named",
    )
    started_at: float | None = Field(
        default=None, description="when the run was made, in seconds since the Unix epoch"
    )
    disk_bytes: int | None = Field(
        default=None,
        description="the run's share of the history file and its checkpoints, in bytes; given "
        "by GET /api/runs only (null elsewhere, and where SQLite cannot measure it)",
    )
    branch: BranchPoint | None = Field(
        default=None,
        description="the run this one branched from (POST /api/runs/{id}/branch) and the step "
        "they share last; null for a run that started from step 0",
    )
    branches: list[BranchPoint] = Field(
        default_factory=list,
        description="the runs that branched from this one, each with the step it went on from",
    )
    checkpoint: CheckpointInfo | None = Field(
        default=None,
        description="the run's latest checkpoint: Start on a stopped or interrupted run goes on "
        "from its step; null when it has none",
    )
