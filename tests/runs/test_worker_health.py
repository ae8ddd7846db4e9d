"""The worker's health points and budget, driven in-process (tests/runs/test_worker.py's
Harness): how often points come while running, the overhead they report, and the budget setting
reaching the governor and surviving a reset."""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from app.contract.health import Instrumentation
from app.contract.worker import (
    Ack,
    Alerted,
    Control,
    Evaluated,
    HealthMeasured,
    SetInstrumentation,
    SnapshotFrame,
)
from app.engine.experiments import ExperimentConfig
from app.instrument.overhead import OverheadMeter
from app.runs.state import Command
from app.runs.worker import HEALTH_INTERVAL
from app.stream.protocol import decode_snapshot
from tests.runs.test_worker import Harness


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def points(messages: list[object]) -> list[int]:
    return [m.point.step for m in messages if isinstance(m, HealthMeasured)]


def test_running_sends_a_point_with_a_due_snapshot_at_most_every_half_second(
    harness: Harness,
) -> None:
    harness.do("start")
    # a snapshot is due on every one of these steps, and they take well under half a second
    assert points(harness.train(5, snapshots=True)) == [1]
    harness.session.health_at -= HEALTH_INTERVAL  # as if half a second went by
    assert points(harness.train(3, snapshots=True)) == [6]
    assert points(harness.train(4, snapshots=False)) == []  # no snapshot due: no point


def test_the_budget_reaches_the_governor_and_survives_a_reset(harness: Harness) -> None:
    session = harness.session
    # the whole budget: four fifths for snapshots, one for evaluation
    assert session.governor.budget == pytest.approx(0.04)
    assert session.evaluation_governor.budget == pytest.approx(0.01)
    assert session.handle(SetInstrumentation(instrumentation=Instrumentation(budget=0.2)))
    assert session.governor.budget == pytest.approx(0.16)
    assert session.evaluation_governor.budget == pytest.approx(0.04)
    (point,) = [m.point for m in harness.do("step") if isinstance(m, HealthMeasured)]
    assert point.overhead.budget == 0.2
    harness.do("reset")
    assert harness.session.governor.budget == pytest.approx(0.16)
    assert harness.session.evaluation_governor.budget == pytest.approx(0.04)


def test_the_overhead_is_what_the_running_loop_spent(harness: Harness) -> None:
    harness.do("start")
    harness.train(3, snapshots=True)
    harness.session.health_at = -math.inf
    (point,) = [m.point for m in harness.train(1, snapshots=True) if isinstance(m, HealthMeasured)]
    overhead = point.overhead
    # the latest snapshot's cost, and the governor's spacing after it
    assert overhead.snapshot_ms > 0.0
    assert overhead.interval_s >= 1.0 / harness.session.governor.max_rate
    assert 0.0 < overhead.share <= 1.0


def test_the_meter_shares_the_last_seconds_of_running() -> None:
    meter = OverheadMeter(window=5.0)
    assert meter.share(100.0) == 0.0  # never started
    meter.started(100.0)
    meter.charge(0.1, 100.5)
    meter.charge(0.2, 101.0)
    assert meter.share(102.0) == pytest.approx(0.3 / 2.0)
    meter.charge(0.05, 107.0)  # the first two are now older than the window
    assert meter.share(107.0) == pytest.approx(0.05 / 5.0)
    meter.started(200.0)  # a pause in between: time paused is not charged or counted
    assert meter.share(201.0) == 0.0


class Reading(Harness):
    """A Harness whose pipe is read on a thread: a pictured experiment's snapshot is larger than
    a pipe's buffer, so the session would block on it otherwise."""

    def __init__(self, config: ExperimentConfig) -> None:
        super().__init__(config)
        self.received: list[object] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                self.received.append(self.inbox.recv())

    def until_point(self) -> HealthMeasured:
        self.until(HealthMeasured)
        return next(m for m in self.received if isinstance(m, HealthMeasured))

    def until(self, kind: type) -> None:
        deadline = time.monotonic() + 30
        while not any(isinstance(m, kind) for m in self.received):
            assert time.monotonic() < deadline, f"no {kind.__name__} came"
            time.sleep(0.01)


# a ReLU network at full speed: two hidden layers of 8 units
RELU_NET = ExperimentConfig(
    experiment="circle",
    architecture={"kind": "mlp", "hidden": [8, 8], "activation": "relu"},
    steps_per_second=None,
)


def test_relu_hooks_are_on_only_while_a_point_is_due() -> None:
    harness = Reading(RELU_NET)
    try:
        session = harness.session
        modules = [(n, m) for n, m in session.loop.model.named_modules() if isinstance(m, nn.ReLU)]
        assert len(modules) == 2
        session.handle(Control(command=Command.START))
        for _ in range(2):
            session.governor.next_at = math.inf  # no snapshot due
            session.train_step()
        assert session.activity.units() == []  # never armed: no hook ran
        session.governor.next_at = -math.inf
        session.train_step()
        assert all(not m._forward_hooks for _, m in modules)  # removed after the step
        point = harness.until_point().point
        assert [(u.layer, u.units) for u in point.units] == [(n, 8) for n, _ in modules]
        assert point.step == 3
    finally:
        harness.close()


def test_units_forced_dead_are_reported_and_raise_the_dead_units_alert() -> None:
    harness = Reading(RELU_NET)
    try:
        session = harness.session
        (name, _), _ = session.activity.modules
        first = next(m for m in session.loop.model.modules() if isinstance(m, nn.Linear))
        with torch.no_grad():  # units 0..4 of the first hidden layer can only output 0
            first.weight[:5] = 0.0
            first.bias[:5] = -1.0
        before = copy.deepcopy(session.loop.model)
        session.handle(Control(command=Command.STEP))
        harness.until(Ack)  # the last message of the step: its alerts came before it
        units = harness.until_point().point.units
        # the step's batch through the model as it was, to the first ReLU, as the test computes it
        inputs = session.loop.inputs
        assert inputs is not None
        with torch.no_grad():
            hidden = torch.relu(before[1](before[0](inputs)))
        dead = int((hidden == 0).all(dim=0).sum())
        assert (units[0].layer, units[0].units, units[0].dead) == (name, 8, dead) and dead >= 5
        alerts = [m.alert for m in harness.received if isinstance(m, Alerted)]
        assert [(a.kind, a.tensor, a.paused, a.phase) for a in alerts] == [
            ("dead_units", name, False, "forward")
        ]
    finally:
        harness.close()


def test_a_running_snapshot_evaluates_only_when_evaluation_is_due() -> None:
    harness = Reading(ExperimentConfig(experiment="circle", steps_per_second=None))
    try:
        session = harness.session
        session.handle(Control(command=Command.START))
        session.governor.next_at = -math.inf  # a snapshot is due
        session.evaluation_governor.next_at = math.inf  # evaluation is not
        session.train_step()
        harness.until(SnapshotFrame)
        assert not any(isinstance(m, Evaluated) for m in harness.received)
        frame = next(m for m in harness.received if isinstance(m, SnapshotFrame))
        assert decode_snapshot(frame.frame)[0]["evaluation"] is None
        harness.received.clear()
        session.governor.next_at = session.evaluation_governor.next_at = -math.inf
        session.train_step()
        harness.until(SnapshotFrame)
        (evaluated,) = [m for m in harness.received if isinstance(m, Evaluated)]
        frame = next(m for m in harness.received if isinstance(m, SnapshotFrame))
        assert evaluated.point.step == 2
        assert decode_snapshot(frame.frame)[0]["evaluation"]["step"] == 2
    finally:
        harness.close()


def test_a_commands_snapshot_is_timed_too(harness: Harness) -> None:
    def overhead() -> tuple[float | None, float]:
        (point,) = [m.point for m in harness.do("step") if isinstance(m, HealthMeasured)]
        return point.overhead.snapshot_ms, point.overhead.share

    assert overhead() == (None, 0.0)  # no snapshot before the first; nothing has run
    spent, share = overhead()
    assert spent is not None and spent > 0.0 and share == 0.0
