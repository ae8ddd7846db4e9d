"""What can be run: the experiments and the optimizers with their hyperparameters' ranges."""

from __future__ import annotations

import typing
from typing import Any

import annotated_types
from fastapi import APIRouter
from pydantic import BaseModel

from app.api.schemas import (
    BuilderSpec,
    ExperimentSpec,
    HyperparameterSpec,
    LoopSource,
    OptimizerSpec,
)
from app.engine.experiments import EXPERIMENTS, LOSS_TITLES, RUN_SETTINGS, ExperimentConfig
from app.engine.loop import loop_source
from app.engine.models import Activation, Architecture, Feature
from app.engine.optimizers import REGISTRY

router = APIRouter(prefix="/api", tags=["catalogue"])


def hyperparameters(config: type[BaseModel]) -> list[HyperparameterSpec]:
    """Read each field's type, default and bounds from the pydantic model: one source of truth."""
    specs = []
    for name, field in config.model_fields.items():
        if name == "name":
            continue
        kinds = {bool: "boolean", int: "integer"}
        spec = HyperparameterSpec(
            name=name,
            label=field.title or name,
            kind=kinds.get(field.annotation, "number"),  # type: ignore[arg-type]
            default=field.default,
        )
        for bound in field.metadata:
            match bound:
                case annotated_types.Gt(gt=value):
                    spec.minimum, spec.exclusive_minimum = float(value), True  # type: ignore[arg-type]
                case annotated_types.Ge(ge=value):
                    spec.minimum = float(value)  # type: ignore[arg-type]
                case annotated_types.Lt(lt=value):
                    spec.maximum, spec.exclusive_maximum = float(value), True  # type: ignore[arg-type]
                case annotated_types.Le(le=value):
                    spec.maximum = float(value)  # type: ignore[arg-type]
        specs.append(spec)
    return specs


@router.get("/optimizers")
def list_optimizers() -> list[OptimizerSpec]:
    return [
        OptimizerSpec(
            name=entry.name,
            title=entry.title,
            torch_class=entry.torch_name,
            ledger=entry.rule is not None,
            note=entry.note,
            hyperparameters=hyperparameters(entry.config),
        )
        for entry in REGISTRY.values()
    ]


@router.get("/source")
def training_loop_source() -> LoopSource:
    """The source of the training loop that runs, with the lines of each phase (0-based)."""
    return LoopSource(**loop_source())


@router.get("/experiments")
def list_experiments() -> list[ExperimentSpec]:
    return [
        ExperimentSpec(
            name=experiment.name,
            title=experiment.title,
            description=experiment.description,
            default_config=ExperimentConfig(experiment=experiment.name).model_dump(),
            task=experiment.task,
            settings=[name for name in RUN_SETTINGS if name in experiment.settings],
            losses=list(experiment.losses),
            models=list(experiment.models),
            features=experiment.features,
            source=experiment.source,
        )
        for experiment in EXPERIMENTS.values()
    ]


@router.get("/builder")
def model_builder() -> BuilderSpec:
    hidden = Architecture.model_fields["hidden"]
    (units,) = typing.get_args(hidden.annotation)
    unit_bounds = typing.get_args(units)[1].metadata
    return BuilderSpec(
        max_hidden_layers=_bound(hidden.metadata, "max_length"),
        min_units=_bound(unit_bounds, "ge"),
        max_units=_bound(unit_bounds, "le"),
        activations=list(typing.get_args(Activation)),
        features=list(typing.get_args(Feature)),
        losses=dict(LOSS_TITLES),
    )


def _bound(metadata: list[Any], name: str) -> int:
    return int(next(getattr(m, name) for m in metadata if getattr(m, name, None) is not None))
