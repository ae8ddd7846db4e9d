"""Experiments: a declarative, validated config and the model, data and loss it builds.

An experiment is data (an `ExperimentConfig`), so that the browser can choose and change one without
ever sending code. `build()` turns a config into real PyTorch objects, seeded so that the same config
always gives the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from app.engine.optimizers import OptimizerConfig, SGDConfig

ExperimentName = Literal["seed-linear", "surface-2d"]


class Teaching(BaseModel):
    """Switches that break the loop on purpose, to show why each part is there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    zero_grad: bool = True  # off: gradients accumulate across steps
    backward: bool = True  # off: step() runs with no gradients, and nothing moves
    accumulate: Annotated[int, Field(ge=1, le=32)] = 1  # micro-batches of backward per step


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    experiment: ExperimentName = "seed-linear"
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    n_samples: Annotated[int, Field(ge=1, le=100_000)] = 256
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 32
    noise: Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)] = 0.1
    optimizer: OptimizerConfig = SGDConfig()
    teaching: Teaching = Teaching()
    # Other optimizers that race the main one in lockstep: same start, same batches.
    race: Annotated[list[OptimizerConfig], Field(max_length=4)] = []

    @model_validator(mode="after")
    def _race_needs_the_surface(self) -> ExperimentConfig:
        if self.race and self.experiment != "surface-2d":
            raise ValueError("a race of optimizers runs on the surface-2d experiment only")
        return self

    # None runs as fast as the machine allows; a number paces the loop so a learner can follow it.
    # 100 steps/s shows the seed's loss falling over a second or two instead of in a blink.
    steps_per_second: Annotated[float | None, Field(gt=0.0, le=100_000.0, allow_inf_nan=False)] = (
        100.0
    )


@dataclass(frozen=True)
class Dataset:
    inputs: torch.Tensor
    targets: torch.Tensor


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    description: str
    make_dataset: Callable[[ExperimentConfig], Dataset]
    make_model: Callable[[], nn.Module]
    make_loss: Callable[[], nn.Module]


def make_linear_regression(config: ExperimentConfig, n_features: int = 10) -> Dataset:
    """Targets from a hidden linear map plus Gaussian noise, so the loss can converge (to ~noise²)."""
    generator = torch.Generator().manual_seed(config.seed)
    inputs = torch.randn(config.n_samples, n_features, generator=generator)
    true_weight = torch.randn(n_features, 1, generator=generator)
    true_bias = torch.randn(1, generator=generator)
    noise = config.noise * torch.randn(config.n_samples, 1, generator=generator)
    return Dataset(inputs=inputs, targets=inputs @ true_weight + true_bias + noise)


SURFACE_START = (-0.5, 1.5)  # (w, b): a start far enough from the minimum to watch the path
SURFACE_TRUTH = (2.0, -1.0)  # the hidden line y = 2x - 1


def make_line(config: ExperimentConfig) -> Dataset:
    """Points near the line y = 2x - 1: two parameters, so the whole loss surface can be drawn."""
    generator = torch.Generator().manual_seed(config.seed)
    inputs = torch.randn(config.n_samples, 1, generator=generator)
    noise = config.noise * torch.randn(config.n_samples, 1, generator=generator)
    w, b = SURFACE_TRUTH
    return Dataset(inputs=inputs, targets=w * inputs + b + noise)


def make_line_model() -> nn.Module:
    model = nn.Linear(1, 1)
    with torch.no_grad():  # every racer starts from the same, deliberate point
        model.weight.fill_(SURFACE_START[0])
        model.bias.fill_(SURFACE_START[1])
    return model


EXPERIMENTS: dict[str, Experiment] = {
    "seed-linear": Experiment(
        name="seed-linear",
        title="Seed: Linear(10, 1)",
        description=(
            "nn.Linear(10, 1) fitted with MSELoss to a noisy hidden linear map: the classic example"
            " of how loss.backward() fills .grad and optimizer.step() uses it."
        ),
        make_dataset=make_linear_regression,
        make_model=lambda: nn.Linear(10, 1),
        make_loss=nn.MSELoss,
    ),
    "surface-2d": Experiment(
        name="surface-2d",
        title="Loss surface: y = w·x + b",
        description=(
            "Two parameters, so the loss over (w, b) is a map: see the gradient's arrow beside the"
            " step the optimizer actually takes, and race optimizers from the same start."
        ),
        make_dataset=make_line,
        make_model=make_line_model,
        make_loss=nn.MSELoss,
    ),
}


class Batches:
    """Mini-batches in a reshuffled order each epoch; the order depends only on the seed."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int) -> None:
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
