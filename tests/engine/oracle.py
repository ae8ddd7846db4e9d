"""The seed experiment written out by hand: the oracle every engine and instrument test checks.

It shares nothing with `app.engine` but the data set (`make_linear_regression`): the model, the batch
order, the optimizer and the five phases are spelled out here, as a reader would write them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.engine.experiments import ExperimentConfig, make_linear_regression
from app.engine.optimizers import (
    AdagradConfig,
    AdamConfig,
    AdamWConfig,
    RMSpropConfig,
    SGDConfig,
)


@dataclass(frozen=True)
class OptimizerCase:
    id: str
    config: Any  # one of the app's optimizer configs
    torch_class: type[torch.optim.Optimizer]
    kwargs: dict[str, Any]  # the same hyperparameters, as torch.optim takes them
    state_keys: frozenset[str]  # per-element state torch keeps for this optimizer


CASES = [
    OptimizerCase(
        "sgd-momentum",
        SGDConfig(lr=0.05, momentum=0.9),
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9},
        frozenset({"momentum_buffer"}),
    ),
    OptimizerCase(
        "sgd-nesterov-decay",
        SGDConfig(lr=0.03, momentum=0.8, nesterov=True, weight_decay=0.01),
        torch.optim.SGD,
        {"lr": 0.03, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
        frozenset({"momentum_buffer"}),
    ),
    OptimizerCase(
        "adam",
        AdamConfig(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6),
        torch.optim.Adam,
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6},
        frozenset({"exp_avg", "exp_avg_sq"}),
    ),
    OptimizerCase(
        "adam-amsgrad",
        AdamConfig(lr=0.02, amsgrad=True),
        torch.optim.Adam,
        {"lr": 0.02, "amsgrad": True},
        frozenset({"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
    ),
    OptimizerCase(
        "adamw",
        AdamWConfig(lr=0.01, weight_decay=0.05),
        torch.optim.AdamW,
        {"lr": 0.01, "weight_decay": 0.05},
        frozenset({"exp_avg", "exp_avg_sq"}),
    ),
    OptimizerCase(
        "rmsprop-momentum-centered",
        RMSpropConfig(lr=0.005, alpha=0.9, momentum=0.5, centered=True),
        torch.optim.RMSprop,
        {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True},
        frozenset({"square_avg", "momentum_buffer", "grad_avg"}),
    ),
    OptimizerCase(
        "adagrad",
        AdagradConfig(lr=0.1, lr_decay=0.01),
        torch.optim.Adagrad,
        {"lr": 0.1, "lr_decay": 0.01},
        frozenset({"sum"}),
    ),
]


@dataclass(frozen=True)
class OracleStep:
    loss: float
    before: dict[str, torch.Tensor]
    grad: dict[str, torch.Tensor]
    after: dict[str, torch.Tensor]
    state: dict[str, dict[str, Any]]  # optimizer.state[p] after the step, cloned, by name


def shuffled(n_samples: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n_samples, generator=generator)


class Oracle:
    def __init__(
        self, config: ExperimentConfig, torch_class: type[torch.optim.Optimizer], **kwargs: Any
    ) -> None:
        torch.manual_seed(config.seed)
        self.model = nn.Linear(10, 1)
        data = make_linear_regression(config)
        self.inputs, self.targets = data.inputs, data.targets
        self.optimizer = torch_class(self.model.parameters(), **kwargs)
        self.seed = config.seed
        self.batch_size = min(config.batch_size, config.n_samples)
        self.epoch, self.position = 0, 0
        self.order = shuffled(config.n_samples, self.seed, 0)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position + self.batch_size > len(self.order):  # too few left: a new epoch
            self.epoch, self.position = self.epoch + 1, 0
            self.order = shuffled(len(self.order), self.seed, self.epoch)
        index = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return self.inputs[index], self.targets[index]

    def step(self) -> OracleStep:
        self.optimizer.zero_grad(set_to_none=True)
        inputs, targets = self.batch()
        loss = nn.MSELoss()(self.model(inputs), targets)
        loss.backward()
        before = self.snapshot_values()
        self.optimizer.step()
        named = dict(self.model.named_parameters())
        return OracleStep(
            loss=loss.item(),
            before=before,
            grad={name: p.grad.detach().clone() for name, p in named.items() if p.grad is not None},
            after=self.snapshot_values(),
            state={
                name: {
                    key: value.detach().clone() if isinstance(value, torch.Tensor) else value
                    for key, value in self.optimizer.state[p].items()
                }
                for name, p in named.items()
            },
        )

    def snapshot_values(self) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in self.model.named_parameters()}

    def losses(self, steps: int) -> list[float]:
        return [self.step().loss for _ in range(steps)]


def oracle_for(config: ExperimentConfig, case: OptimizerCase) -> Oracle:
    return Oracle(config, case.torch_class, **case.kwargs)


def run_oracle(
    config: ExperimentConfig, torch_class: type[torch.optim.Optimizer], steps: int, **kwargs: Any
) -> list[OracleStep]:
    """Every step of `steps` by hand, with what was before and after it."""
    oracle = Oracle(config, torch_class, **kwargs)
    return [oracle.step() for _ in range(steps)]
