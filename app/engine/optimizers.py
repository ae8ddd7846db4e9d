"""Optimizer configurations: validated hyperparameters that build real `torch.optim` optimizers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

# Learning rates outside this range are never useful and are how a run is made to explode on purpose;
# we still allow up to 10 so that a learner can see divergence.
LearningRate = Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)]
Unit = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
Epsilon = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
WeightDecay = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SGDConfig(_Config):
    name: Literal["sgd"] = "sgd"
    lr: LearningRate = 0.05
    momentum: Unit = 0.9
    dampening: Unit = 0.0
    nesterov: bool = False
    weight_decay: WeightDecay = 0.0

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> SGDConfig:
        # torch.optim.SGD refuses this combination at construction; say so at validation instead.
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0")
        return self


class _AdamFamily(_Config):
    """The hyperparameters the Adam family shares: running moments of g and g², and decay."""

    lr: LearningRate = 0.05
    beta1: Unit = 0.9
    beta2: Unit = 0.999
    eps: Epsilon = 1e-8
    weight_decay: WeightDecay = 0.0


class AdamConfig(_AdamFamily):
    name: Literal["adam"] = "adam"
    amsgrad: bool = False


class AdamWConfig(_AdamFamily):
    name: Literal["adamw"] = "adamw"
    weight_decay: WeightDecay = 0.01  # decoupled: AdamW's reason to exist, so on by default
    amsgrad: bool = False


class AdamaxConfig(_AdamFamily):
    name: Literal["adamax"] = "adamax"


class NAdamConfig(_AdamFamily):
    name: Literal["nadam"] = "nadam"
    momentum_decay: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 4e-3
    decoupled_weight_decay: bool = False


class RAdamConfig(_AdamFamily):
    name: Literal["radam"] = "radam"
    decoupled_weight_decay: bool = False


class RMSpropConfig(_Config):
    name: Literal["rmsprop"] = "rmsprop"
    lr: LearningRate = 0.01
    alpha: Unit = 0.99
    eps: Epsilon = 1e-8
    momentum: Unit = 0.0
    centered: bool = False
    weight_decay: WeightDecay = 0.0


class AdagradConfig(_Config):
    name: Literal["adagrad"] = "adagrad"
    lr: LearningRate = 0.1
    lr_decay: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    eps: Epsilon = 1e-10
    weight_decay: WeightDecay = 0.0


class AdadeltaConfig(_Config):
    name: Literal["adadelta"] = "adadelta"
    lr: LearningRate = 1.0
    rho: Unit = 0.9
    eps: Epsilon = 1e-6
    weight_decay: WeightDecay = 0.0


class ASGDConfig(_Config):
    name: Literal["asgd"] = "asgd"
    lr: LearningRate = 0.01
    lambd: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 1e-4
    alpha: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.75
    t0: Annotated[float, Field(ge=0.0, le=1e9, allow_inf_nan=False)] = 1e6
    weight_decay: WeightDecay = 0.0


class RpropConfig(_Config):
    name: Literal["rprop"] = "rprop"
    lr: LearningRate = 0.01
    eta_minus: Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False)] = 0.5
    eta_plus: Annotated[float, Field(gt=1.0, le=10.0, allow_inf_nan=False)] = 1.2
    step_size_min: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 1e-6
    step_size_max: Annotated[float, Field(gt=0.0, le=1000.0, allow_inf_nan=False)] = 50.0


OptimizerConfig = Annotated[
    SGDConfig
    | AdamConfig
    | AdamWConfig
    | RMSpropConfig
    | AdagradConfig
    | AdamaxConfig
    | NAdamConfig
    | RAdamConfig
    | AdadeltaConfig
    | ASGDConfig
    | RpropConfig,
    Field(discriminator="name"),
]

OPTIMIZER_TITLES: dict[str, str] = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "adadelta": "Adadelta",
    "asgd": "ASGD",
    "rprop": "Rprop",
}


def torch_kwargs(config: BaseModel) -> dict[str, Any]:
    """The keyword arguments `torch.optim` takes for this configuration (betas joined into a pair)."""
    kwargs = config.model_dump(exclude={"name"})
    # torch.optim takes some hyperparameters as pairs; the page edits each number on its own
    for pair, (first, second) in _PAIRS.items():
        if first in kwargs:
            kwargs[pair] = (kwargs.pop(first), kwargs.pop(second))
    return kwargs


_PAIRS = {
    "betas": ("beta1", "beta2"),
    "etas": ("eta_minus", "eta_plus"),
    "step_sizes": ("step_size_min", "step_size_max"),
}


_TORCH_CLASSES: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
    "adadelta": torch.optim.Adadelta,
    "asgd": torch.optim.ASGD,
    "rprop": torch.optim.Rprop,
}


def build_optimizer(
    config: BaseModel, params: Iterable[torch.nn.Parameter]
) -> torch.optim.Optimizer:
    name = getattr(config, "name")  # noqa: B009 - every optimizer config has a literal name
    return _TORCH_CLASSES[name](params, **torch_kwargs(config))


def apply_hyperparameters(optimizer: torch.optim.Optimizer, config: BaseModel) -> None:
    """Change hyperparameters in place, keeping the optimizer's state (momentum, moments, step)."""
    kwargs = torch_kwargs(config)
    for group in optimizer.param_groups:
        group.update(kwargs)
