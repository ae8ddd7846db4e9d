"""The snapshot header says what each phase really did (`teaching`, `effect`, `micro_batch`), and
its numbers are those of the same loop written by hand with the same switches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

from app.contract.snapshot import SnapshotHeader
from app.engine.experiments import ExperimentConfig, Teaching
from app.engine.optimizers import SGDConfig
from tests.engine.oracle import Oracle
from tests.runs.test_worker import Harness, Snap, snap

PHASES = ["zero_grad", "forward", "loss", "backward", "step"]


def setup(**teaching: Any) -> ExperimentConfig:
    return ExperimentConfig(
        seed=3,
        n_samples=64,
        batch_size=8,
        optimizer=SGDConfig(lr=0.05),
        teaching=Teaching.model_validate(teaching),
        steps_per_second=None,
    )


@pytest.fixture
def make() -> Iterator[Any]:
    made: list[Harness] = []

    def build(**teaching: Any) -> Harness:
        harness = Harness(setup(**teaching))
        made.append(harness)
        return harness

    yield build
    for harness in made:
        harness.close()


def phase(harness: Harness) -> Snap:
    """One phase command; its snapshot, checked against the contract."""
    snapshot = snap(harness.do("phase")[-2])
    SnapshotHeader.model_validate(snapshot.header)
    return snapshot


def by_hand(config: ExperimentConfig) -> tuple[Oracle, nn.MSELoss]:
    return Oracle(config, torch.optim.SGD, lr=0.05), nn.MSELoss()


def test_every_phase_says_what_it_did_with_the_switches_on(make: Any) -> None:
    harness = make()
    seen = [phase(harness).header for _ in PHASES]
    assert [h["effect"] for h in seen] == [
        {"phase": "zero_grad", "cleared": True},
        {"phase": "forward"},
        {"phase": "loss"},
        {"phase": "backward", "ran": True, "micro_batch": 1, "micro_batches": 1},
        {"phase": "step", "moved": True},
    ]
    assert all(h["micro_batch"] == {"index": 1, "of": 1} for h in seen)
    assert all(
        h["teaching"] == {"zero_grad": True, "backward": True, "accumulate": 1} for h in seen
    )


def test_no_phase_yet_means_no_effect(make: Any) -> None:
    harness = make()
    snapshot = snap(harness.do("pause")[-2])  # a paused run before any phase
    assert snapshot.header["effect"] is None and snapshot.header["phase"] is None
    assert snapshot.header["micro_batch"] == {"index": 1, "of": 1}


def test_zero_grad_switched_off_clears_nothing_and_gradients_pile_up(make: Any) -> None:
    harness = make(zero_grad=False)
    oracle, mse = by_hand(setup())
    for step in range(2):
        cleared = phase(harness)
        assert cleared.header["effect"] == {"phase": "zero_grad", "cleared": False}
        assert cleared.header["teaching"]["zero_grad"] is False
        if step == 0:
            assert cleared.fields["weight"]["grad"] is None  # nothing to clear yet
        else:  # the first step's gradient is still there: nothing was cleared
            grad = cleared.fields["weight"]["grad"]
            assert grad is not None and oracle.model.weight.grad is not None
            torch.testing.assert_close(grad, oracle.model.weight.grad)
        for _ in PHASES[1:4]:
            after = phase(harness)
        inputs, targets = oracle.batch()
        mse(oracle.model(inputs), targets).backward()  # no zero_grad: .grad adds up
        grad = after.fields["weight"]["grad"]
        assert grad is not None and oracle.model.weight.grad is not None
        torch.testing.assert_close(grad, oracle.model.weight.grad, rtol=1e-6, atol=1e-7)
        stepped = phase(harness)
        oracle.optimizer.step()
        assert stepped.header["effect"] == {"phase": "step", "moved": True}


def test_backward_switched_off_adds_no_gradient_and_step_moves_nothing(make: Any) -> None:
    harness = make(backward=False)
    before = [phase(harness) for _ in PHASES[:4]]
    assert before[-1].header["effect"] == {
        "phase": "backward",
        "ran": False,
        "micro_batch": 1,
        "micro_batches": 1,
    }
    assert before[-1].fields["weight"]["grad"] is None
    stepped = phase(harness)
    assert stepped.header["effect"] == {"phase": "step", "moved": False}
    update = stepped.fields["weight"]["update"]
    assert update is not None and bool((update == 0).all())


def test_micro_batches_count_and_each_backward_adds_its_share(make: Any) -> None:
    harness = make(accumulate=3)
    oracle, mse = by_hand(setup())
    oracle.optimizer.zero_grad(set_to_none=True)
    seen = [phase(harness)]  # zero_grad
    for micro in (1, 2, 3):
        forward, loss, backward = (phase(harness) for _ in range(3))
        for snapshot in (forward, loss, backward):
            assert snapshot.header["micro_batch"] == {"index": micro, "of": 3}
        assert backward.header["effect"] == {
            "phase": "backward",
            "ran": True,
            "micro_batch": micro,
            "micro_batches": 3,
        }
        inputs, targets = oracle.batch()
        (mse(oracle.model(inputs), targets) / 3).backward()
        grad = backward.fields["weight"]["grad"]
        assert grad is not None and oracle.model.weight.grad is not None
        torch.testing.assert_close(grad, oracle.model.weight.grad, rtol=1e-6, atol=1e-7)
        seen += [forward, loss, backward]
    stepped = phase(harness)
    oracle.optimizer.step()
    assert stepped.header["micro_batch"] == {"index": 3, "of": 3}
    value = stepped.fields["weight"]["value"]
    assert value is not None
    torch.testing.assert_close(value, oracle.model.weight.detach(), rtol=1e-6, atol=1e-7)
    after = phase(harness)  # the next step's zero_grad
    assert after.header["micro_batch"] == {"index": 1, "of": 3}


def test_a_teaching_change_shows_in_the_next_snapshot(make: Any) -> None:
    harness = make()
    phase(harness)
    assert harness.do("teaching", {"zero_grad": True, "backward": False, "accumulate": 2}) == []
    snapshot = phase(harness)
    assert snapshot.header["teaching"] == {"zero_grad": True, "backward": False, "accumulate": 2}
    assert snapshot.header["micro_batch"] == {"index": 1, "of": 2}  # this step runs two
