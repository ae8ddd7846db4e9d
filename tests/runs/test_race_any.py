"""A race on an experiment other than the surface (issue 12): every racer trains exactly as a
hand-written torch loop with its optimizer would, from the run's own weights on its batches."""

from __future__ import annotations

import contextlib
import copy
import math
import multiprocessing
import threading
from typing import Any

import pytest
import torch
from torch import nn

from app.contract.worker import Control, ScalarsBatch
from app.engine.experiments import ExperimentConfig, epoch_order
from app.engine.loop import TrainingLoop
from app.runs.state import Command
from app.runs.worker import Session

STEPS = 30  # more than an epoch: 1,437 training digits at batch 64 is 22 steps
RACE = {
    "experiment": "digits",
    "batch_size": 64,
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "race": [{"name": "adam", "lr": 0.01}, {"name": "rmsprop", "lr": 0.001, "alpha": 0.9}],
}
# the same hyperparameters as torch.optim takes them, written out
TORCH: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "SGD": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "Adam": (torch.optim.Adam, {"lr": 0.01}),
    "RMSprop": (torch.optim.RMSprop, {"lr": 0.001, "alpha": 0.9}),
}


def by_hand(
    start: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, name: str
) -> list[float]:
    """Each step's loss of a plain loop from `start`'s weights: the batches in the seed's order,
    reshuffled each epoch, CrossEntropyLoss, zero_grad, backward, step."""
    model = copy.deepcopy(start)
    cls, kwargs = TORCH[name]
    optimizer = cls(model.parameters(), **kwargs)
    n, batch, seed = len(inputs), 64, 0
    epoch, position, order = 0, 0, epoch_order(n, seed, 0)
    losses = []
    for _ in range(STEPS):
        if position + batch > n:
            epoch, position = epoch + 1, 0
            order = epoch_order(n, seed, epoch)
        index = order[position : position + batch]
        position += batch
        optimizer.zero_grad(set_to_none=True)
        loss: torch.Tensor = nn.CrossEntropyLoss()(model(inputs[index]), targets[index])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.fixture(scope="module")
def streamed() -> tuple[list[float], dict[str, list[float]], list[Any]]:
    """Run the race in a worker session, step by step, and collect what it streams."""
    config = ExperimentConfig.model_validate(RACE)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    own: list[float] = []
    racers: dict[str, list[float]] = {}
    batches: list[Any] = []

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                message = receiver.recv()
                if isinstance(message, ScalarsBatch):
                    batches.append(message)
                    own.extend(message.loss)
                    for series in message.race or ():
                        racers.setdefault(series.name, []).extend(series.loss)

    reader = threading.Thread(target=read)
    reader.start()
    session = Session(config, sender)
    for _ in range(STEPS):
        session.handle(Control(command=Command.STEP))
    sender.close()
    reader.join(timeout=30)
    return own, racers, batches


def start_of(config: ExperimentConfig) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The weights every competitor starts from and the training samples: the run's at step 0."""
    loop = TrainingLoop(config)
    return copy.deepcopy(loop.model), loop.data.inputs, loop.data.targets


def test_every_racer_matches_its_hand_written_loop_bit_for_bit(
    streamed: tuple[list[float], dict[str, list[float]], list[Any]],
) -> None:
    own, racers, _ = streamed
    start, inputs, targets = start_of(ExperimentConfig.model_validate(RACE))
    assert list(racers) == ["Adam", "RMSprop"]
    assert own == by_hand(start, inputs, targets, "SGD")
    for name, losses in racers.items():
        assert len(losses) == STEPS
        assert losses == by_hand(start, inputs, targets, name), name
    # the racers really differ from the run: a race of equals would prove nothing
    assert racers["Adam"][-1] != own[-1] != racers["RMSprop"][-1]


def test_off_the_surface_a_racer_has_no_w_and_b(
    streamed: tuple[list[float], dict[str, list[float]], list[Any]],
) -> None:
    _, _, batches = streamed
    for message in batches:
        assert message.path is None
        for series in message.race:
            assert len(series.w) == len(series.b) == len(series.loss)
            assert all(math.isnan(v) for v in series.w + series.b)


def test_a_race_is_refused_for_no_built_in_experiment() -> None:
    for name in ("seed-linear", "circle", "spiral", "sine", "digits", "wide-mlp"):
        config = ExperimentConfig.model_validate({"experiment": name, "race": [{"name": "adam"}]})
        assert len(config.race) == 1
