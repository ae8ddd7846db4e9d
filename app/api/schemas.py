"""Response bodies, so that the OpenAPI schema documents what each route returns."""

from __future__ import annotations

import unicodedata
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from app.contract.run import RunInfo

__all__ = ["RunInfo"]  # defined with the rest of the contract, re-exported for the routes


class HyperparameterSpec(BaseModel):
    name: str
    label: str = Field(description="what the page calls it, e.g. β₁")
    kind: Literal["number", "integer", "boolean"]
    default: float | bool
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False


class OptimizerSpec(BaseModel):
    name: str
    title: str
    torch_class: str = Field(description="the class it builds, e.g. torch.optim.SGD")
    ledger: bool = Field(description="the update ledger has a written rule for its step")
    note: str | None = Field(default=None, description="what the page should say about it")
    hyperparameters: list[HyperparameterSpec]


class ExperimentSpec(BaseModel):
    name: str
    title: str
    description: str
    default_config: dict[str, Any]
    task: Literal["regression", "binary", "classes"] = Field(
        description="what the model predicts: a value, one of two classes, or one of several"
    )
    settings: list[str] = Field(
        description="the config's settings the page may change (each change is a new run)"
    )
    losses: list[str] = Field(description="the losses the page may choose; empty: its own loss")
    models: list[str] = Field(
        description="the model builder's kinds it takes (mlp, cnn); empty: a fixed model"
    )
    features: bool = Field(
        description="the builder's network reads Playground's input features of 2-D points"
    )
    source: str = Field(description="built-in, or the file it was loaded from")


class BuilderSpec(BaseModel):
    """What the model builder may build: the bounds of `Architecture`, read from the model."""

    max_hidden_layers: int
    min_units: int
    max_units: int
    activations: list[str]
    features: list[str] = Field(description="Playground's input features, for 2-D data")
    losses: dict[str, str] = Field(description="loss name → the torch class it builds")


class Health(BaseModel):
    status: Literal["ok"]


class ServerStatus(BaseModel):
    live_runs: int = Field(description="runs whose worker is live")
    connections: int = Field(description="open websockets, all runs together")


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


class RunRename(BaseModel):
    """A run's new name (PATCH /api/runs/{id}): null takes its name away."""

    name: str | None = Field(
        min_length=1,
        max_length=80,
        description="1 to 80 characters, not only spaces, no control characters; null: no name",
    )

    @field_validator("name")
    @classmethod
    def readable(cls, name: str | None) -> str | None:
        if name is None:
            return None
        name = name.strip()
        if not name:
            raise ValueError("a name needs at least one character that is not a space")
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
            raise ValueError("a name cannot hold control characters (tabs, line breaks, …)")
        return name
