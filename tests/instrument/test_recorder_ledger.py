"""The update ledger as streamed: for each optimizer the issue names, the ledger's predicted value
equals the parameter after step() in a hand-written loop, to 1e-6 relative, over 50 steps."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import (
    AdagradConfig,
    AdamConfig,
    AdamWConfig,
    RMSpropConfig,
    SGDConfig,
)
from app.instrument.recorder import Recorder
from tests.engine.oracle import run_oracle
from tests.instrument.decode import read_fields

CASES: list[tuple[Any, type[torch.optim.Optimizer], dict[str, Any]]] = [
    (SGDConfig(lr=0.05, momentum=0.9), torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (
        SGDConfig(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    (AdamConfig(lr=0.05), torch.optim.Adam, {"lr": 0.05}),
    (AdamWConfig(lr=0.05), torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.01}),
    (
        RMSpropConfig(lr=0.01, momentum=0.5, centered=True),
        torch.optim.RMSprop,
        {"lr": 0.01, "momentum": 0.5, "centered": True},
    ),
    (AdagradConfig(lr=0.1), torch.optim.Adagrad, {"lr": 0.1}),
]


@pytest.mark.parametrize(("config", "torch_class", "hyperparameters"), CASES)
def test_the_ledger_predicts_every_step(
    config: Any, torch_class: type[torch.optim.Optimizer], hyperparameters: dict[str, Any]
) -> None:
    steps = 50
    experiment = ExperimentConfig(optimizer=config)
    oracle = run_oracle(experiment, torch_class, steps, **hyperparameters)
    loop = TrainingLoop(experiment)
    recorder = Recorder(loop.parameters())
    recorder.attach(loop.optimizer)
    for k in range(steps):
        recorder.arm(explain=True)
        loop.run_step()
        snapshot = recorder.snapshot(loop.optimizer)
        fields = read_fields(snapshot.header, snapshot.data)
        for entry in snapshot.header["tensors"]:
            name = entry["name"]
            predicted = fields[name]["predicted"]
            assert predicted is not None
            expected = oracle[k].after[name]
            torch.testing.assert_close(predicted, expected, rtol=1e-6, atol=1e-7)
            # each element's rule ends with θ ← …, whose value is the prediction
            lines = entry["ledger"]
            assert len(lines) == entry["numel"]
            final = [element[-1]["value"] for element in lines]
            torch.testing.assert_close(
                torch.tensor(final, dtype=torch.float32), predicted.flatten(), rtol=1e-6, atol=1e-7
            )
            assert lines[0][-1]["symbolic"].startswith("θ ←")


def test_no_ledger_is_written_for_a_maximizing_optimizer() -> None:
    """maximize=True (an attached script's optimizer may set it) ascends the gradient: the written
    rules descend it, so their prediction would be wrong by twice the update. None is made."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1, maximize=True)
    recorder = Recorder(list(model.named_parameters()))
    recorder.attach(optimizer)
    for _ in range(3):
        recorder.arm(explain=True)
        optimizer.zero_grad()
        model(torch.randn(4, 3)).square().mean().backward()
        optimizer.step()
        snapshot = recorder.snapshot(optimizer)
        fields = read_fields(snapshot.header, snapshot.data)
        for entry in snapshot.header["tensors"]:
            assert fields[entry["name"]].get("predicted") is None
            assert not entry.get("ledger")
