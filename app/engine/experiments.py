"""Experiments: a declarative, validated config, and the model, data and loss it builds.

An experiment run is data (an `ExperimentConfig`), so that the browser can choose and change one
without ever sending code. An `Experiment` is the code behind a name: how to make the data, the
model and the loss from a config, and which of the config's settings the page may change. The
built-in ones are registered below; `app.engine.loader` registers those of the files named on the
command line (`stepscope --experiments PATH`), through the same class: docs/experiments.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from torch import nn

from app.engine.models import Architecture
from app.engine.optimizers import OptimizerConfig, SGDConfig

LossName = Literal["mse", "bce", "cross_entropy"]
Task = Literal["regression", "binary", "classes"]

# The losses the page offers, as torch builds them. BCE takes logits: the model ends without a
# sigmoid, which is both what practitioners write and numerically safer.
LOSSES: dict[str, Callable[[], nn.Module]] = {
    "mse": nn.MSELoss,
    "bce": nn.BCEWithLogitsLoss,
    "cross_entropy": nn.CrossEntropyLoss,
}
LOSS_TITLES = {
    "mse": "MSELoss",
    "bce": "BCEWithLogitsLoss",
    "cross_entropy": "CrossEntropyLoss",
}

# The settings that define the data, its batches or the model: a change is a new run.
RUN_SETTINGS = (
    "seed",
    "n_samples",
    "noise",
    "validation_fraction",
    "batch_size",
    "architecture",
    "loss",
)


class Teaching(BaseModel):
    """Switches that break the loop on purpose, to show why each part is there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zero_grad: bool = True  # off: gradients accumulate across steps
    backward: bool = True  # off: step() runs with no gradients, and nothing moves
    accumulate: Annotated[int, Field(ge=1, le=32)] = 1  # micro-batches of backward per step


class ExperimentConfig(BaseModel):
    """One run's whole configuration. Fields left out take the experiment's own defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: str = Field(
        default="seed-linear",
        description="an experiment's name, from GET /api/experiments (e.g. seed-linear, spiral)",
    )
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    n_samples: Annotated[int, Field(ge=1, le=100_000)] = 256
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 32
    noise: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)] = 0.1
    validation_fraction: Annotated[float, Field(ge=0.0, le=0.9, allow_inf_nan=False)] = Field(
        default=0.0, description="the share of the samples held out for validation"
    )
    architecture: Architecture | None = Field(
        default=None, description="the model builder's network; null: the experiment's own model"
    )
    loss: LossName | None = Field(
        default=None, description="the loss the page chose; null: the experiment's own loss"
    )
    optimizer: OptimizerConfig = SGDConfig()
    teaching: Teaching = Teaching()
    # Other optimizers that race the main one in lockstep: same start, same batches.
    race: Annotated[list[OptimizerConfig], Field(max_length=4)] = []
    # None runs as fast as the machine allows; a number paces the loop so a learner can follow it.
    # 100 steps/s shows the seed's loss falling over a second or two instead of in a blink.
    steps_per_second: Annotated[float | None, Field(gt=0.0, le=100_000.0, allow_inf_nan=False)] = (
        100.0
    )

    @model_validator(mode="before")
    @classmethod
    def _experiment_defaults(cls, data: Any) -> Any:
        """Fill what the request left out from the experiment's own defaults, so that
        `{"experiment": "spiral"}` is the spiral as its author meant it."""
        if isinstance(data, dict):
            experiment = EXPERIMENTS.get(str(data.get("experiment", "seed-linear")))
            if experiment is not None:
                return {**experiment.defaults, **data}
        return data

    @field_validator("experiment")
    @classmethod
    def _known_experiment(cls, name: str) -> str:
        if name not in EXPERIMENTS:
            known = ", ".join(EXPERIMENTS)
            raise ValueError(f"no experiment is named {name!r}; the experiments are: {known}")
        return name

    @model_validator(mode="after")
    def _fits_the_experiment(self) -> ExperimentConfig:
        EXPERIMENTS[self.experiment].check(self)
        return self


@dataclass(frozen=True)
class Data:
    """What a model learns from: training samples, and validation samples it never trains on.

    `targets` are float (n, outputs) for regression and for `binary` (0 or 1), int64 (n,) class
    indices for `classes`. Validation may be empty (None)."""

    inputs: torch.Tensor
    targets: torch.Tensor
    validation_inputs: torch.Tensor | None = None
    validation_targets: torch.Tensor | None = None


Dataset = Data  # the name the first experiments used


@dataclass(frozen=True)
class Experiment:
    """An experiment: the code behind a name in the page's Experiment menu.

    The same class serves the built-in experiments and the files given with `--experiments`
    (docs/experiments.md). `data`, `model` and `loss` are called with the run's config; the seed is
    already set (torch.manual_seed) when `model` is called, so its initial weights are the seed's.
    """

    name: str
    title: str
    description: str
    data: Callable[[ExperimentConfig], Data]
    model: Callable[[ExperimentConfig], nn.Module]
    # None: the loss the config names (config.loss, one of `losses`)
    loss: Callable[[ExperimentConfig], nn.Module] | None = None
    task: Task = "regression"
    # the losses the page may choose between; empty: `loss` decides alone
    losses: tuple[LossName, ...] = ()
    # the config's defaults for this experiment: optimizer, batch_size, steps_per_second, …
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # the settings (of RUN_SETTINGS) the page may change; the others stay at their defaults
    settings: frozenset[str] = frozenset({"seed", "batch_size"})
    # the model builder's kinds this experiment takes ("mlp", "cnn"); empty: a fixed model
    models: tuple[str, ...] = ()
    # the model builder's network reads Playground's input features (x₁, x₂, x₁², …) of 2-D points
    features: bool = False
    # inputs that are images of this (height, width): the first layer's weights are drawn as such
    image_shape: tuple[int, int] | None = None
    # pictures of the model (boundary, units, network, evaluation); off for the classic two,
    # whose panels (parameters, loss surface) already show everything, at no cost to their speed
    pictured: bool = True
    source: str = "built-in"  # or the file it was loaded from

    def check(self, config: ExperimentConfig) -> None:
        """Refuse a config this experiment cannot run, with the reason in words."""
        for name in RUN_SETTINGS:
            if name in self.settings:
                continue
            default = ExperimentConfig.model_fields[name].default
            if getattr(config, name) != self.defaults.get(name, default):
                raise ValueError(f"the experiment {self.name} does not let the page change {name}")
        if config.architecture is not None and config.architecture.kind not in self.models:
            if not self.models:
                raise ValueError(f"the experiment {self.name} has a fixed model")
            kinds = " or ".join(self.models)
            raise ValueError(
                f"the experiment {self.name} builds a {kinds}, not a {config.architecture.kind}"
            )
        if self.models and config.architecture is None:
            raise ValueError(f"the experiment {self.name} needs an architecture")
        if config.loss is not None and config.loss not in self.losses:
            allowed = ", ".join(self.losses) or "none: it has its own loss"
            raise ValueError(f"the experiment {self.name} takes the losses {allowed}")
        if self.loss is None and config.loss is None:
            raise ValueError(
                f"the experiment {self.name} needs a loss: one of {', '.join(self.losses)}"
            )

    def make_loss(self, config: ExperimentConfig) -> nn.Module:
        if config.loss is not None:
            return LOSSES[config.loss]()
        assert self.loss is not None  # check() refused a config with neither
        return self.loss(config)


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> None:
    """Add an experiment to the menu; a second one of the same name is refused."""
    if experiment.name in EXPERIMENTS:
        where = EXPERIMENTS[experiment.name].source
        raise ValueError(f"an experiment named {experiment.name!r} exists already ({where})")
    EXPERIMENTS[experiment.name] = experiment


def make_linear_regression(config: ExperimentConfig, n_features: int = 10) -> Data:
    """Targets from a hidden linear map plus Gaussian noise, so the loss can converge (to ~noise²)."""
    generator = torch.Generator().manual_seed(config.seed)
    inputs = torch.randn(config.n_samples, n_features, generator=generator)
    true_weight = torch.randn(n_features, 1, generator=generator)
    true_bias = torch.randn(1, generator=generator)
    noise = config.noise * torch.randn(config.n_samples, 1, generator=generator)
    return Data(inputs=inputs, targets=inputs @ true_weight + true_bias + noise)


SURFACE_START = (-0.5, 1.5)  # (w, b): a start far enough from the minimum to watch the path
SURFACE_TRUTH = (2.0, -1.0)  # the hidden line y = 2x - 1


def make_line(config: ExperimentConfig) -> Data:
    """Points near the line y = 2x - 1: two parameters, so the whole loss surface can be drawn."""
    generator = torch.Generator().manual_seed(config.seed)
    inputs = torch.randn(config.n_samples, 1, generator=generator)
    noise = config.noise * torch.randn(config.n_samples, 1, generator=generator)
    w, b = SURFACE_TRUTH
    return Data(inputs=inputs, targets=w * inputs + b + noise)


def make_line_model(config: ExperimentConfig | None = None) -> nn.Module:
    model = nn.Linear(1, 1)
    with torch.no_grad():  # every racer starts from the same, deliberate point
        model.weight.fill_(SURFACE_START[0])
        model.bias.fill_(SURFACE_START[1])
    return model


# The seed and the surface keep the settings they always had (a config of theirs from before still
# validates), and their own loss.
_CLASSIC_SETTINGS = frozenset({"seed", "n_samples", "noise", "batch_size"})

register(
    Experiment(
        name="seed-linear",
        title="Seed: Linear(10, 1)",
        description=(
            "nn.Linear(10, 1) fitted with MSELoss to a noisy hidden linear map: the classic example"
            " of how loss.backward() fills .grad and optimizer.step() uses it."
        ),
        data=make_linear_regression,
        model=lambda config: nn.Linear(10, 1),
        loss=lambda config: nn.MSELoss(),
        settings=_CLASSIC_SETTINGS,
        pictured=False,
    )
)
register(
    Experiment(
        name="surface-2d",
        title="Loss surface: y = w·x + b",
        description=(
            "Two parameters, so the loss over (w, b) is a map: see the gradient's arrow beside the"
            " step the optimizer actually takes, and race optimizers from the same start."
        ),
        data=make_line,
        model=make_line_model,
        loss=lambda config: nn.MSELoss(),
        settings=_CLASSIC_SETTINGS,
        pictured=False,
    )
)


class Batches:
    """Mini-batches in a reshuffled order each epoch; the order depends only on the seed."""

    def __init__(self, dataset: Data, batch_size: int, seed: int) -> None:
        self.dataset = dataset
        self.batch_size = min(batch_size, len(dataset.inputs))
        self.seed = seed
        self.epoch = 0
        self._order = epoch_order(len(dataset.inputs), seed, 0)
        self._position = 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._position + self.batch_size > len(self._order):
            self.epoch += 1
            self._order = epoch_order(len(self.dataset.inputs), self.seed, self.epoch)
            self._position = 0
        index = self._order[self._position : self._position + self.batch_size]
        self._position += self.batch_size
        return self.dataset.inputs[index], self.dataset.targets[index]


def epoch_order(n_samples: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(
        n_samples, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
    )


# The experiments worth watching (issue 9): registered after the classic two, in menu order.
from app.engine import playground as _playground  # noqa: E402, F401  (registers on import)
