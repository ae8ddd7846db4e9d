"""What can be run: the experiments and the optimizers with their hyperparameters' ranges."""

from __future__ import annotations

from typing import get_args

import annotated_types
from fastapi import APIRouter
from pydantic import BaseModel

from app.api.schemas import ExperimentSpec, HyperparameterSpec, LoopSource, OptimizerSpec
from app.engine.experiments import EXPERIMENTS, ExperimentConfig
from app.engine.loop import loop_source
from app.engine.optimizers import OPTIMIZER_TITLES, OptimizerConfig

router = APIRouter(prefix="/api", tags=["catalogue"])


def hyperparameters(config: type[BaseModel]) -> list[HyperparameterSpec]:
    """Read each field's type, default and bounds from the pydantic model: one source of truth."""
    specs = []
    for name, field in config.model_fields.items():
        if name == "name":
            continue
        spec = HyperparameterSpec(
            name=name,
            kind="boolean" if field.annotation is bool else "number",
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


def optimizer_classes() -> list[type[BaseModel]]:
    union, _ = get_args(OptimizerConfig)
    return list(get_args(union))


@router.get("/optimizers")
def list_optimizers() -> list[OptimizerSpec]:
    return [
        OptimizerSpec(
            name=(name := cls.model_fields["name"].default),
            title=OPTIMIZER_TITLES[name],
            hyperparameters=hyperparameters(cls),
        )
        for cls in optimizer_classes()
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
        )
        for experiment in EXPERIMENTS.values()
    ]
