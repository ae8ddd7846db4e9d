"""Response bodies, so that the OpenAPI schema documents what each route returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RunInfo(BaseModel):
    id: str
    experiment: str
    title: str
    config: dict[str, Any]
    state: str = Field(description="idle, running, paused, stopped or failed")
    reason: str | None = Field(description="why a run failed or stopped, when it did")
    step: int = Field(description="optimizer steps taken")
    loss: float | None = Field(description="the loss of the latest step")
    phase: str | None = Field(description="the last phase that ran")
    ready: bool = Field(description="the worker process has built the model")


class HyperparameterSpec(BaseModel):
    name: str
    kind: str = Field(description="number or boolean")
    default: float | bool
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False


class OptimizerSpec(BaseModel):
    name: str
    title: str
    hyperparameters: list[HyperparameterSpec]


class ExperimentSpec(BaseModel):
    name: str
    title: str
    description: str
    default_config: dict[str, Any]


class Health(BaseModel):
    status: str
    live_runs: int
    connections: int


class PaceChange(BaseModel):
    steps_per_second: float | None = Field(
        default=None,
        gt=0.0,
        le=100_000.0,
        allow_inf_nan=False,
        description="steps per second, or null for as fast as possible",
    )


class LoopSource(BaseModel):
    file: str
    first_line: int = Field(description="line number of the first line in the file")
    lines: list[str]
    phases: dict[str, list[int]] = Field(description="the (0-based) lines each phase runs")
    main: dict[str, int] = Field(description="the line that is the phase's call")
