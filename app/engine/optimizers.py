"""The optimizer registry: every `torch.optim` optimizer Stepscope offers, defined once.

Each entry holds the validated configuration (its fields' titles are the page's labels, their
bounds the page's limits), the real torch class it builds, its title, and the update rule that the
ledger writes out where one is written. The REST catalogue, the page, the ledger and the race read
this one table; nothing else lists optimizers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.engine import update_rules
from app.engine.muon import MuonWithAdamW

# Learning rates outside this range are never useful and are how a run is made to explode on purpose;
# we still allow up to 10 so that a learner can see divergence.
LearningRate = Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False, title="Learning rate")]
Unit = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
Epsilon = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False, title="ε")]
WeightDecay = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="Weight decay")]
Beta1 = Annotated[Unit, Field(title="β₁")]
Beta2 = Annotated[Unit, Field(title="β₂")]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SGDConfig(_Config):
    name: Literal["sgd"] = "sgd"
    lr: LearningRate = 0.01  # the article's `torch.optim.SGD(model.parameters(), lr=0.01)`
    momentum: Annotated[Unit, Field(title="Momentum")] = 0.0
    dampening: Annotated[Unit, Field(title="Dampening")] = 0.0
    nesterov: Annotated[bool, Field(title="Nesterov")] = False
    weight_decay: WeightDecay = 0.0

    @field_validator("nesterov")
    @classmethod
    def _nesterov_needs_momentum(cls, nesterov: bool, info: ValidationInfo) -> bool:
        # torch.optim.SGD refuses this combination at construction; say so at validation instead,
        # on the field itself, so that the page shows the reason beside the Nesterov box.
        momentum, dampening = info.data.get("momentum", 0.0), info.data.get("dampening", 0.0)
        if nesterov and (momentum == 0.0 or dampening != 0.0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0")
        return nesterov


class _AdamFamily(_Config):
    """The hyperparameters the Adam family shares: running moments of g and g², and decay."""

    lr: LearningRate = 0.05
    beta1: Beta1 = 0.9
    beta2: Beta2 = 0.999
    eps: Epsilon = 1e-8
    weight_decay: WeightDecay = 0.0


AMSGrad = Annotated[bool, Field(title="AMSGrad")]
DecoupledWeightDecay = Annotated[bool, Field(title="Decoupled weight decay")]


class AdamConfig(_AdamFamily):
    name: Literal["adam"] = "adam"
    amsgrad: AMSGrad = False


class AdamWConfig(_AdamFamily):
    name: Literal["adamw"] = "adamw"
    weight_decay: WeightDecay = 0.01  # decoupled: AdamW's reason to exist, so on by default
    amsgrad: AMSGrad = False


class AdamaxConfig(_AdamFamily):
    name: Literal["adamax"] = "adamax"


class NAdamConfig(_AdamFamily):
    name: Literal["nadam"] = "nadam"
    momentum_decay: Annotated[
        float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="Momentum decay")
    ] = 4e-3
    decoupled_weight_decay: DecoupledWeightDecay = False


class RAdamConfig(_AdamFamily):
    name: Literal["radam"] = "radam"
    decoupled_weight_decay: DecoupledWeightDecay = False


class RMSpropConfig(_Config):
    name: Literal["rmsprop"] = "rmsprop"
    lr: LearningRate = 0.01
    alpha: Annotated[Unit, Field(title="α (smoothing)")] = 0.99
    eps: Epsilon = 1e-8
    momentum: Annotated[Unit, Field(title="Momentum")] = 0.0
    centered: Annotated[bool, Field(title="Centered")] = False
    weight_decay: WeightDecay = 0.0


class AdagradConfig(_Config):
    name: Literal["adagrad"] = "adagrad"
    lr: LearningRate = 0.1
    lr_decay: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="LR decay")] = 0.0
    eps: Epsilon = 1e-10
    weight_decay: WeightDecay = 0.0


class AdadeltaConfig(_Config):
    name: Literal["adadelta"] = "adadelta"
    lr: LearningRate = 1.0
    rho: Annotated[Unit, Field(title="ρ")] = 0.9
    eps: Epsilon = 1e-6
    weight_decay: WeightDecay = 0.0


class ASGDConfig(_Config):
    name: Literal["asgd"] = "asgd"
    lr: LearningRate = 0.01
    lambd: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="λ (decay)")] = 1e-4
    alpha: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="α (power)")] = 0.75
    t0: Annotated[
        float, Field(ge=0.0, le=1e9, allow_inf_nan=False, title="t₀ (averaging start)")
    ] = 1e6
    weight_decay: WeightDecay = 0.0


class RpropConfig(_Config):
    name: Literal["rprop"] = "rprop"
    lr: LearningRate = 0.01
    eta_minus: Annotated[float, Field(gt=0.0, lt=1.0, allow_inf_nan=False, title="η−")] = 0.5
    eta_plus: Annotated[float, Field(gt=1.0, le=10.0, allow_inf_nan=False, title="η+")] = 1.2
    step_size_min: Annotated[
        float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="Min step")
    ] = 1e-6
    step_size_max: Annotated[
        float, Field(gt=0.0, le=1000.0, allow_inf_nan=False, title="Max step")
    ] = 50.0


class AdafactorConfig(_Config):
    """torch.optim.Adafactor; its ε₁ stays torch's default (None: the dtype's own epsilon)."""

    name: Literal["adafactor"] = "adafactor"
    lr: LearningRate = 0.01
    beta2_decay: Annotated[
        float, Field(ge=-1.0, le=0.0, allow_inf_nan=False, title="β₂ decay")
    ] = -0.8
    eps2: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, title="ε₂ (scale floor)")] = (
        1e-3
    )
    d: Annotated[float, Field(ge=1.0, le=100.0, allow_inf_nan=False, title="Clipping d")] = 1.0
    weight_decay: WeightDecay = 0.0


class MuonConfig(_Config):
    """torch.optim.Muon for weight matrices; AdamW, with the same lr and decay, for the rest."""

    name: Literal["muon"] = "muon"
    lr: LearningRate = 0.02
    momentum: Annotated[Unit, Field(title="Momentum")] = 0.95
    nesterov: Annotated[bool, Field(title="Nesterov")] = True
    weight_decay: WeightDecay = 0.1
    ns_steps: Annotated[int, Field(ge=1, le=20, title="Newton–Schulz steps")] = 5
    eps: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False, title="ε")] = 1e-7


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
    | RpropConfig
    | AdafactorConfig
    | MuonConfig,
    Field(discriminator="name"),
]


def _paired(**pairs: tuple[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """torch.optim takes some hyperparameters as pairs; the page edits each number on its own."""

    def to_torch(kwargs: dict[str, Any]) -> dict[str, Any]:
        for pair, (first, second) in pairs.items():
            kwargs[pair] = (kwargs.pop(first), kwargs.pop(second))
        return kwargs

    return to_torch


def _adafactor_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs["eps"] = (None, kwargs.pop("eps2"))
    return kwargs


def _same(kwargs: dict[str, Any]) -> dict[str, Any]:
    return kwargs


@dataclass(frozen=True)
class OptimizerEntry:
    name: str
    title: str
    torch_class: type[torch.optim.Optimizer]
    config: type[BaseModel]
    # The ledger's written rule for this optimizer's step, where there is one.
    rule: update_rules.Rule | None = None
    to_torch: Callable[[dict[str, Any]], dict[str, Any]] = _same
    note: str | None = None
    shown_as: str | None = None  # the torch class's name, where it is not torch.optim.<name>

    @property
    def torch_name(self) -> str:
        return self.shown_as or f"torch.optim.{self.torch_class.__name__}"


_betas = _paired(betas=("beta1", "beta2"))

REGISTRY: dict[str, OptimizerEntry] = {
    entry.name: entry
    for entry in [
        OptimizerEntry("sgd", "SGD", torch.optim.SGD, SGDConfig, update_rules.sgd),
        OptimizerEntry("adam", "Adam", torch.optim.Adam, AdamConfig, update_rules.adam, _betas),
        OptimizerEntry(
            "adamw", "AdamW", torch.optim.AdamW, AdamWConfig, update_rules.adamw, _betas
        ),
        OptimizerEntry(
            "rmsprop", "RMSprop", torch.optim.RMSprop, RMSpropConfig, update_rules.rmsprop
        ),
        OptimizerEntry(
            "adagrad", "Adagrad", torch.optim.Adagrad, AdagradConfig, update_rules.adagrad
        ),
        OptimizerEntry("adamax", "Adamax", torch.optim.Adamax, AdamaxConfig, None, _betas),
        OptimizerEntry("nadam", "NAdam", torch.optim.NAdam, NAdamConfig, None, _betas),
        OptimizerEntry("radam", "RAdam", torch.optim.RAdam, RAdamConfig, None, _betas),
        OptimizerEntry("adadelta", "Adadelta", torch.optim.Adadelta, AdadeltaConfig),
        OptimizerEntry("asgd", "ASGD", torch.optim.ASGD, ASGDConfig),
        OptimizerEntry(
            "rprop",
            "Rprop",
            torch.optim.Rprop,
            RpropConfig,
            to_torch=_paired(
                etas=("eta_minus", "eta_plus"), step_sizes=("step_size_min", "step_size_max")
            ),
        ),
        OptimizerEntry(
            "adafactor",
            "Adafactor",
            torch.optim.Adafactor,
            AdafactorConfig,
            to_torch=_adafactor_kwargs,
            note="ε₁ is torch's default: the parameter dtype's own epsilon",
        ),
        OptimizerEntry(
            "muon",
            "Muon",
            MuonWithAdamW,
            MuonConfig,
            shown_as="torch.optim.Muon + torch.optim.AdamW",
            note="torch.optim.Muon updates the weight matrices; torch.optim.AdamW, with the same "
            "learning rate and weight decay, updates the biases (Muon takes 2-D parameters only)",
        ),
    ]
}

# What torch 2.13 ships and the page does not offer, and why: a test holds this list complete.
NOT_OFFERED: dict[str, str] = {
    "LBFGS": "step(closure) re-runs forward and backward several times inside one step, so the "
    "five phases of a step do not exist",
    "SparseAdam": "takes sparse gradients only (nn.Embedding(sparse=True)); dense layers have none",
}


def entry_of(config: BaseModel) -> OptimizerEntry:
    return REGISTRY[getattr(config, "name")]  # noqa: B009 - every optimizer config has a literal name


def torch_kwargs(config: BaseModel) -> dict[str, Any]:
    """The keyword arguments the torch class takes for this configuration."""
    return entry_of(config).to_torch(config.model_dump(exclude={"name"}))


def build_optimizer(
    config: BaseModel, params: Iterable[torch.nn.Parameter]
) -> torch.optim.Optimizer:
    return entry_of(config).torch_class(params, **torch_kwargs(config))


def apply_hyperparameters(optimizer: torch.optim.Optimizer, config: BaseModel) -> None:
    """Change hyperparameters in place, keeping the optimizer's state (momentum, moments, step)."""
    kwargs = torch_kwargs(config)
    if isinstance(optimizer, MuonWithAdamW):
        optimizer.set_hyperparameters(**kwargs)
        return
    for group in optimizer.param_groups:
        group.update(kwargs)
