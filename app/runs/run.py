"""A run as the server keeps it: its state (changed only through the state machine), its worker's
handles, and how it looks to clients, live or read back from the history."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from app.contract.health import Instrumentation
from app.contract.run import AlertSettings, RunInfo
from app.engine.experiments import EXPERIMENTS, ExperimentConfig
from app.engine.loop import Phase
from app.runs.state import Command, Move, RunState, next_state
from app.store.history import RunRecord


class UnknownRun(KeyError):
    pass


class TooManyRuns(Exception):
    pass


@dataclass
class Run:
    id: str
    config: ExperimentConfig
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

    @property
    def state(self) -> RunState:
        return self._state

    def advance(self, move: Move, reason: str | None = None) -> None:
        """Change state by a command or a happening; an illegal one raises IllegalTransition."""
        self._state = next_state(self._state, move)
        self.reason = reason

    def info(self) -> RunInfo:
        return RunInfo.model_construct(
            id=self.id,
            experiment=self.config.experiment,
            title=EXPERIMENTS[self.config.experiment].title,
            config=self.config,
            state=self.state,
            reason=self.reason,
            step=self.step,
            loss=self.loss,
            phase=self.phase,
            ready=self.ready,
            alerts=self.alerts,
            instrumentation=self.instrumentation,
        )


def record_info(record: RunRecord) -> RunInfo:
    """What a run from an earlier server process looks like: its history, no worker."""
    experiment = EXPERIMENTS.get(record.experiment)
    return RunInfo.model_construct(
        id=record.id,
        experiment=record.experiment,
        title=experiment.title if experiment else record.experiment,
        config=stored_config(record.config),
        state=RunState(record.state),
        reason=record.reason,
        step=record.step,
        loss=None,
        phase=None,
        ready=False,
        alerts=AlertSettings(),
        instrumentation=Instrumentation(),
    )


def stored_config(config: dict[str, Any]) -> ExperimentConfig:
    """A config as the history kept it. One written by an older version that no longer validates
    is shown as it was stored rather than hiding the run."""
    try:
        return ExperimentConfig.model_validate(config)
    except ValueError:
        return ExperimentConfig.model_construct(**config)
