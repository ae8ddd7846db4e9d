"""A run as the server keeps it: its state (changed only through the state machine), its worker's
handles (a process, or an attached script's websocket), and how it looks to clients, live or read
back from the history."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from app.contract.attached import AttachedRun
from app.contract.branch import BranchPoint, Rewound
from app.contract.checkpoint import CheckpointInfo
from app.contract.health import Instrumentation
from app.contract.run import AlertSettings, RunInfo
from app.contract.worker import WorkerCommand
from app.engine.experiments import EXPERIMENTS, ExperimentConfig
from app.engine.loop import Phase
from app.runs.state import Command, Move, RunState, next_state
from app.store.history import RunRecord


class UnknownRun(KeyError):
    pass


class TooManyRuns(Exception):
    pass


# The experiment name an attached script's run is listed under (RunInfo.experiment).
ATTACHED = "attached"


class Script(Protocol):
    """The way to an attached script (app/runs/attached.py): commands out, and the connection's
    end. Both only queue: the websocket's own task writes."""

    def send(self, message: WorkerCommand) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass
class Run:
    id: str
    # None for an attached script: its model, data and loop are the script's own (`attached`)
    config: ExperimentConfig | None
    _state: RunState = RunState.IDLE  # changed only by advance(): through the state machine
    step: int = 0
    loss: float | None = None
    phase: Phase | None = None
    ready: bool = False
    reason: str | None = None
    # which alerts pause the run: a setting of the live run (its worker applies it), not of the
    # experiment, so it is not part of the stored config
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # the overhead budget: like the alerts, how the run is watched, not what is trained
    instrumentation: Instrumentation = field(default_factory=Instrumentation)
    process: BaseProcess | None = field(default=None, repr=False)
    commands: Connection | None = field(default=None, repr=False)
    posted: Any = field(default=None, repr=False)  # commands sent, shared with the worker
    exited: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    # commands sent and not yet acknowledged, with when they were sent (monotonic seconds)
    unanswered: deque[tuple[Command, float]] = field(default_factory=deque, repr=False)
    heard_at: float = field(default_factory=time.monotonic, repr=False)  # last worker message
    # an attached script's run: who it is, and the connection that is its worker
    attached: AttachedRun | None = None
    script: Script | None = field(default=None, repr=False)
    # the latest checkpoint (app/store/checkpoints.py), and the on-demand saves awaiting theirs
    checkpoint: CheckpointInfo | None = None
    saving: list[asyncio.Future[CheckpointInfo]] = field(default_factory=list, repr=False)
    # lineage (app/runs/branch.py): the run this one branched from, and the runs branched from it
    branch: BranchPoint | None = None
    branches: list[BranchPoint] = field(default_factory=list)
    # the branches whose first checkpoint the worker is writing, by the branch's id
    rewinding: dict[str, asyncio.Future[Rewound]] = field(default_factory=dict, repr=False)

    @property
    def state(self) -> RunState:
        return self._state

    def advance(self, move: Move, reason: str | None = None) -> None:
        """Change state by a command or a happening; an illegal one raises IllegalTransition."""
        self._state = next_state(self._state, move)
        self.reason = reason

    def info(self) -> RunInfo:
        if self.config is None:
            assert self.attached is not None
            experiment, title = ATTACHED, self.attached.process.name
        else:
            experiment = self.config.experiment
            title = EXPERIMENTS[experiment].title
        return RunInfo.model_construct(
            id=self.id,
            experiment=experiment,
            title=title,
            config=self.config,
            state=self.state,
            reason=self.reason,
            step=self.step,
            loss=self.loss,
            phase=self.phase,
            ready=self.ready,
            alerts=self.alerts,
            instrumentation=self.instrumentation,
            attached=self.attached,
            checkpoint=self.checkpoint,
            branch=self.branch,
            branches=self.branches,
        )


def record_info(record: RunRecord) -> RunInfo:
    """What a run from an earlier server process looks like: its history, no worker."""
    attached = stored_attached(record)
    experiment = EXPERIMENTS.get(record.experiment)
    if attached is not None:
        title = attached.process.name
    else:
        title = experiment.title if experiment else record.experiment
    return RunInfo.model_construct(
        id=record.id,
        experiment=record.experiment,
        title=title,
        config=None if attached is not None else stored_config(record.config),
        state=RunState(record.state),
        reason=record.reason,
        step=record.step,
        loss=None,
        phase=None,
        ready=False,
        alerts=AlertSettings(),
        instrumentation=Instrumentation(),
        attached=attached,
    )


def stored_attached(record: RunRecord) -> AttachedRun | None:
    """An attached script's run as the history kept it (its `config` column holds the
    AttachedRun), or None for the server's own runs. An experiment file may name an experiment
    "attached" too: its config has no `process`."""
    if record.experiment != ATTACHED or "process" not in record.config:
        return None
    try:
        return AttachedRun.model_validate(record.config)
    except ValueError:
        return AttachedRun.model_construct(**record.config)


def stored_config(config: dict[str, Any]) -> ExperimentConfig:
    """A config as the history kept it. One written by an older version that no longer validates
    is shown as it was stored rather than hiding the run."""
    try:
        return ExperimentConfig.model_validate(config)
    except ValueError:
        return ExperimentConfig.model_construct(**config)
