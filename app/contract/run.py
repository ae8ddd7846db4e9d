"""A run as the REST API and the stream's `hello` and `status` events describe it."""

from __future__ import annotations

from pydantic import Field

from app.contract.base import Message
from app.engine.experiments import ExperimentConfig
from app.engine.loop import Phase
from app.runs.state import RunState


class RunInfo(Message):
    id: str
    experiment: str = Field(description="the experiment's name, e.g. seed-linear")
    title: str = Field(description="the experiment's title, for people")
    config: ExperimentConfig = Field(description="the run's configuration as it is now")
    state: RunState
    reason: str | None = Field(description="why the run failed or stopped, when it did")
    step: int = Field(description="optimizer steps taken")
    loss: float | None = Field(description="the loss of the latest step")
    phase: Phase | None = Field(description="the last phase that ran")
    ready: bool = Field(description="the worker process has built the model")
