"""The rewind ring (app/runs/rewind.py): any kept step's state, from a keyframe or made again by
replaying from the one before it, is the state the run had at that step, bit for bit."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import checkpoint
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import AdamConfig
from app.runs.rewind import RewindRefused, RewindRing, state_bytes
from tests.support import assert_same_tree

CONFIG = {
    "experiment": "seed-linear",
    "steps_per_second": None,
    "optimizer": {"name": "adam", "lr": 0.05},
}


def trained(
    steps: int, stride: int, change_at: dict[int, Any] | None = None, **config: Any
) -> tuple[TrainingLoop, RewindRing, dict[int, checkpoint.State]]:
    """A loop trained `steps` steps with a ring of a fixed stride, and its true state at every
    step (captured as it went: the oracle)."""
    loop = TrainingLoop(ExperimentConfig.model_validate({**CONFIG, **config}))
    ring = RewindRing(loop, stride=stride)
    truth = {0: checkpoint.capture(loop)}
    for _ in range(steps):
        change = (change_at or {}).get(loop.step)
        if change is not None:
            change(loop, ring)
        loop.run_step()
        ring.after_step(loop)
        truth[loop.step] = checkpoint.capture(loop)
    return loop, ring, truth


def test_every_kept_step_is_the_state_the_run_had_then() -> None:
    loop, ring, truth = trained(23, stride=5)
    assert [f.step for f in ring.frames] == [0, 5, 10, 15, 20]
    assert ring.kept(loop.step) == (0, 23)
    before = checkpoint.capture(loop)
    for step in range(24):
        assert_same_tree(ring.state_at(step, loop), truth[step], f"step {step}")
    # the replays left the run itself alone: parameters, optimizer and RNG as they were
    assert_same_tree(checkpoint.capture(loop), before)


def test_with_zero_grad_off_the_piled_up_gradients_are_replayed_too() -> None:
    loop, ring, truth = trained(13, stride=4, teaching={"zero_grad": False})
    assert truth[13]["grads"], "the state has gradients when zero_grad is off"
    for step in range(14):
        assert_same_tree(ring.state_at(step, loop), truth[step], f"step {step}")


def test_a_step_past_the_kept_range_is_refused_with_the_range() -> None:
    loop, ring, _ = trained(30, stride=2)
    ring.max_keyframes = 3
    ring.after_step(loop)  # no new keyframe (not due), but the bound is not applied until one
    loop.run_step()
    loop.run_step()
    ring.after_step(loop)
    first = ring.frames[0].step
    assert len(ring.frames) == 3 and first == 28
    with pytest.raises(RewindRefused, match=rf"keeps steps {first}–32"):
        ring.state_at(first - 1, loop)
    with pytest.raises(RewindRefused, match="keeps steps"):
        ring.state_at(33, loop)


def test_the_memory_bound_drops_the_oldest_keyframes() -> None:
    loop = TrainingLoop(ExperimentConfig.model_validate(CONFIG))
    one = state_bytes(checkpoint.capture(loop))
    assert one > 0
    ring = RewindRing(loop, budget_bytes=4 * one + one // 2, stride=1)
    for _ in range(10):
        loop.run_step()
        ring.after_step(loop)
    assert [f.step for f in ring.frames] == [7, 8, 9, 10]
    assert sum(f.nbytes for f in ring.frames) <= ring.budget_bytes


def test_a_settings_change_ends_a_replay_and_starts_a_keyframe() -> None:
    def faster(loop: TrainingLoop, ring: RewindRing) -> None:
        loop.change_optimizer(AdamConfig(lr=0.2))
        ring.settings_changed(loop)

    loop, ring, truth = trained(20, stride=6, change_at={8: faster})
    # keyframes at 0, 6, then 8 (the change, with its new lr), then every 6 from there
    assert [f.step for f in ring.frames] == [0, 6, 8, 14, 20]
    for step in range(21):
        assert_same_tree(ring.state_at(step, loop), truth[step], f"step {step}")


def test_a_change_in_the_middle_of_a_step_keeps_the_steps_either_side() -> None:
    loop = TrainingLoop(ExperimentConfig.model_validate(CONFIG))
    ring = RewindRing(loop, stride=4)
    truth = {0: checkpoint.capture(loop)}
    for _ in range(6):
        loop.run_step()
        ring.after_step(loop)
        truth[loop.step] = checkpoint.capture(loop)
    loop.run_phase()  # zero_grad of step 7
    loop.run_phase()  # its forward
    loop.change_optimizer(AdamConfig(lr=0.3))
    ring.settings_changed(loop)
    loop.run_step()
    ring.after_step(loop)  # step 7: a keyframe (forced), whatever the stride says
    truth[7] = checkpoint.capture(loop)
    assert [f.step for f in ring.frames] == [0, 4, 7]
    for step in range(8):
        assert_same_tree(ring.state_at(step, loop), truth[step], f"step {step}")
