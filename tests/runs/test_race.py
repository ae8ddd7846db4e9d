"""A race: every competitor moves exactly as a hand-written loop with its optimizer would, from the
same start on the same batches, and the arrows it reports are what they say."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from typing import Any

import pytest
import torch
from torch import nn

from app.contract.events import RaceSeries
from app.contract.worker import Control, ScalarsBatch, SnapshotFrame
from app.engine.experiments import SURFACE_START, ExperimentConfig, epoch_order, make_line
from app.runs.state import Command
from app.runs.worker import Session
from app.stream.protocol import decode_snapshot

RACE = {
    "experiment": "surface-2d",
    "steps_per_second": None,
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "race": [{"name": "adam", "lr": 0.05}, {"name": "rmsprop", "lr": 0.01}],
}
TORCH: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "SGD": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "Adam": (torch.optim.Adam, {"lr": 0.05}),
    "RMSprop": (torch.optim.RMSprop, {"lr": 0.01}),
}


def by_hand(config: ExperimentConfig, optimizer: str, steps: int) -> list[list[float]]:
    """(loss, w, b) of each step of a hand-written loop: its loss, and (w, b) after its step()."""
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(SURFACE_START[0])
        model.bias.fill_(SURFACE_START[1])
    cls, kwargs = TORCH[optimizer]
    opt = cls(model.parameters(), **kwargs)
    data = make_line(config)
    points = []
    epoch, position = 0, 0
    order = epoch_order(config.n_samples, config.seed, 0)
    for _ in range(steps):
        if position + config.batch_size > config.n_samples:
            epoch, position = epoch + 1, 0
            order = epoch_order(config.n_samples, config.seed, epoch)
        index = order[position : position + config.batch_size]
        position += config.batch_size
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(data.inputs[index]), data.targets[index])
        loss.backward()
        opt.step()
        points.append([loss.item(), model.weight.item(), model.bias.item()])
    return points


class Raced:
    def __init__(self) -> None:
        self.snapshots: list[dict[str, Any]] = []
        self.series: dict[str, list[list[float]]] = {}  # racer: (loss, w, b) per step
        self.first_steps: list[int] = []
        self.path: list[list[float]] = []  # the run's own (w, b) after each step

    def take(self, message: Any) -> None:
        if isinstance(message, SnapshotFrame):
            self.snapshots.append(decode_snapshot(message.frame)[0])
        if isinstance(message, ScalarsBatch):
            assert message.race is not None
            self.first_steps.append(message.first_step)
            assert message.path is not None
            assert len(message.path.w) == len(message.path.b) == len(message.loss)
            self.path += [[w, b] for w, b in zip(message.path.w, message.path.b, strict=True)]
            for entry in message.race:
                RaceSeries.model_validate(entry.model_dump())
                assert len(entry.loss) == len(entry.w) == len(entry.b) == len(message.loss)
                rows = self.series.setdefault(entry.name, [])
                rows += [list(row) for row in zip(entry.loss, entry.w, entry.b, strict=True)]


@pytest.fixture(scope="module")
def raced() -> Raced:
    config = ExperimentConfig.model_validate(RACE)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    raced = Raced()

    def read() -> None:  # drain the pipe as the server would, or a full pipe blocks the session
        with contextlib.suppress(EOFError, OSError):
            while True:
                raced.take(receiver.recv())

    reader = threading.Thread(target=read)
    reader.start()
    session = Session(config, sender)
    for _ in range(12):
        session.handle(Control(command=Command.STEP))
    sender.close()
    reader.join(timeout=10)
    return raced


@pytest.fixture
def race(raced: Raced) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = raced.snapshots[-1]["race"]
    return entries


def test_the_racers_losses_and_paths_stream_beside_the_runs_own(raced: Raced) -> None:
    """`scalars.race`: each racer's loss and (w, b) at every step, as its hand-written loop had
    them; the run's own optimizer is not among them."""
    config = ExperimentConfig.model_validate(RACE)
    assert raced.first_steps == list(range(1, 13))  # one scalars message per step command
    assert list(raced.series) == ["Adam", "RMSprop"]
    for name, rows in raced.series.items():
        expected = by_hand(config, name, 12)
        torch.testing.assert_close(torch.tensor(rows), torch.tensor(expected), rtol=1e-6, atol=0)


def test_the_runs_own_path_streams_beside_its_losses(raced: Raced) -> None:
    """`scalars.path`: the run's own (w, b) after every step, as its hand-written loop had them."""
    config = ExperimentConfig.model_validate(RACE)
    expected = [row[1:] for row in by_hand(config, "SGD", 12)]
    torch.testing.assert_close(torch.tensor(raced.path), torch.tensor(expected), rtol=1e-6, atol=0)


def test_every_competitor_matches_its_hand_written_loop(race: list[dict[str, Any]]) -> None:
    config = ExperimentConfig.model_validate(RACE)
    assert [entry["name"] for entry in race] == ["SGD", "Adam", "RMSprop"]
    for entry in race:
        expected = [row[1:] for row in by_hand(config, entry["name"], 12)]
        assert entry["step"] == 12
        assert entry["point"] == pytest.approx(expected[-1], rel=1e-6)
        assert entry["before"] == pytest.approx(expected[-2], rel=1e-6)


def test_the_arrows_are_the_gradient_step_and_the_actual_step(
    race: list[dict[str, Any]],
) -> None:
    sgd, adam, _ = race
    # plain gradient descent would have moved by -lr*g; momentum and Adam moved otherwise
    for entry in (sgd, adam):
        actual = [p - b for p, b in zip(entry["point"], entry["before"], strict=True)]
        assert entry["gradient_step"] is not None
        assert actual != pytest.approx(entry["gradient_step"], rel=1e-3)
