"""A hand-written training loop: the oracle that every streamed number is checked against."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from app.engine.experiments import ExperimentConfig, epoch_order, make_linear_regression


@dataclass
class OracleStep:
    loss: float
    before: dict[str, torch.Tensor]
    after: dict[str, torch.Tensor]
    grad: dict[str, torch.Tensor]
    state: dict[str, dict[str, torch.Tensor]]


def run_oracle(
    config: ExperimentConfig,
    optimizer: type[torch.optim.Optimizer],
    steps: int,
    **hyperparameters: object,
) -> list[OracleStep]:
    torch.manual_seed(config.seed)
    model = nn.Linear(10, 1)
    data = make_linear_regression(config)
    opt = optimizer(model.parameters(), **hyperparameters)  # type: ignore[call-arg]
    names = {p: name for name, p in model.named_parameters()}
    history: list[OracleStep] = []
    epoch, position = 0, 0
    order = epoch_order(config.n_samples, config.seed, epoch)
    for _ in range(steps):
        if position + config.batch_size > config.n_samples:
            epoch, position = epoch + 1, 0
            order = epoch_order(config.n_samples, config.seed, epoch)
        index = order[position : position + config.batch_size]
        position += config.batch_size
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(data.inputs[index]), data.targets[index])
        loss.backward()
        before = {names[p]: p.detach().clone() for p in model.parameters()}
        opt.step()
        history.append(
            OracleStep(
                loss=loss.item(),
                before=before,
                after={names[p]: p.detach().clone() for p in model.parameters()},
                grad={
                    names[p]: p.grad.detach().clone()
                    for p in model.parameters()
                    if p.grad is not None
                },
                state={
                    names[p]: {k: v.clone() for k, v in s.items() if isinstance(v, torch.Tensor)}
                    for p, s in opt.state.items()
                },
            )
        )
    return history
