"""The NaN/Inf alert in a real Session over a real pipe: a NaN or Inf that appears in the loss, a
gradient or a parameter pauses the running loop at the first loss that shows it, and the alert
names the tensor, the phase that wrote it and that phase's step."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch

from app.contract.run import AlertSettings
from app.contract.worker import Alerted, SetAlerts
from app.engine.experiments import ExperimentConfig
from app.engine.optimizers import AdamConfig, SGDConfig
from app.runs.nonfinite import where
from tests.runs.test_worker import Harness, Message, kinds, losses_of, snap

# no momentum: SGD keeps no state, so a parameter is the only tensor the step phase writes
PLAIN = ExperimentConfig(
    seed=4, n_samples=100, batch_size=32, optimizer=SGDConfig(lr=10.0), steps_per_second=None
)


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness(PLAIN)
    harness.do("start")
    yield harness
    harness.close()


def run_until_paused(harness: Harness, limit: int = 20) -> list[Message]:
    """Train as the running loop does until the session stops itself (or `limit` steps)."""
    messages: list[Message] = []
    for _ in range(limit):
        messages += harness.train(1, snapshots=False)
        if not harness.session.running:
            break
    return messages


def the_alert(messages: list[Message]) -> Alerted:
    alerts = [m for m in messages if isinstance(m, Alerted)]
    assert len(alerts) == 1, kinds(messages)
    return alerts[0]


def test_a_nan_loss_pauses_after_the_loss_phase_of_its_step(harness: Harness) -> None:
    loop = harness.session.loop
    original = loop.loss_fn

    def nan_at_step_3(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = original(predictions, targets)
        return loss * math.nan if loop.step == 2 else loss

    loop.loss_fn = nan_at_step_3  # type: ignore[assignment]
    messages = run_until_paused(harness)
    alerted = the_alert(messages)
    alert = alerted.alert
    assert (alert.step, alert.phase, alert.tensor, alert.kind) == (3, "loss", "loss", "nonfinite")
    assert alert.paused and alert.detail == "the loss is NaN"
    # paused where it was found: two steps done, in the middle of the third, before backward
    assert (alerted.at_step, alerted.phase, alerted.mid_step) == (2, "loss", True)
    assert not harness.session.running
    # the losses of steps 1 and 2 came before the alert, the snapshot of that moment after it
    order = kinds(messages)
    assert order.index("alerted") < order.index("snapshot")
    assert sorted(losses_of(messages)) == [1, 2]
    shown = snap(messages[-1])
    assert shown.header["step"] == 2 and shown.header["phase"] == "loss"
    assert shown.header["loss"] == "NaN" or math.isnan(shown.header["loss"])
    # zero_grad ran, backward did not: no gradient yet to spoil
    assert all(p.grad is None for _, p in loop.parameters())


def test_a_nan_gradient_is_named_with_its_backward_phase(harness: Harness) -> None:
    """step() spreads it into the weight, so the next loss is NaN: the loop pauses there, and the
    alert names the gradient of the step before, not the weight or the loss it spoiled."""
    loop = harness.session.loop
    weight = dict(loop.parameters())["weight"]
    weight.register_hook(lambda g: g * math.nan if loop.step == 3 else g)
    alerted = the_alert(run_until_paused(harness))
    alert = alerted.alert
    assert (alert.step, alert.phase, alert.tensor) == (4, "backward", "weight.grad")
    assert alert.detail == "weight.grad holds 10 NaN and 0 ±Inf of its 10 elements"
    assert where(alert) == "after the backward phase of step 4"
    # found at the loss of step 5, before its backward
    assert (alerted.at_step, alerted.phase, alerted.mid_step) == (4, "loss", True)
    # checked against torch: SGD's step with that gradient made the weight NaN
    assert bool(torch.isnan(weight).all())


def test_a_parameter_the_step_made_infinite_is_named_not_the_loss_it_spoiled(
    harness: Harness,
) -> None:
    """A huge but finite gradient: SGD at lr 10 steps the weight to −Inf. The gradient's norm
    overflows, which the screen may trip on; the survey finds every element finite and training
    goes on. The next loss is Inf or NaN; the alert names the weight and the step that wrote it."""
    loop = harness.session.loop
    weight = dict(loop.parameters())["weight"]
    weight.register_hook(lambda g: torch.full_like(g, 3e38) if loop.step == 4 else g)
    alerted = the_alert(run_until_paused(harness))
    alert = alerted.alert
    assert (alert.step, alert.phase, alert.tensor) == (5, "step", "weight")
    assert where(alert) == "after the step phase of step 5"
    # found at the loss of step 6, before its backward
    assert (alerted.at_step, alerted.phase, alerted.mid_step) == (5, "loss", True)
    # checked against torch: −lr · 3e38 overflows float32
    assert torch.tensor(3e38) * -10.0 == -math.inf


def test_a_nan_written_into_a_parameter_between_phases_is_found_on_start() -> None:
    harness = Harness(PLAIN)
    try:
        for _ in range(2):
            harness.do("step")
        for _ in range(3):  # zero_grad, forward, loss of step 3
            harness.do("phase")
        with torch.no_grad():
            dict(harness.session.loop.parameters())["bias"][0] = math.inf
        messages = harness.do("start")
        alert = the_alert(messages).alert
        # the loss of step 3 was computed from it, but the parameter was written first
        assert (alert.step, alert.phase, alert.tensor) == (2, "step", "bias")
        assert alert.detail == "bias is Infinity"
        assert not harness.session.running
    finally:
        harness.close()


def test_the_switch_off_lets_nan_stream_as_data(harness: Harness) -> None:
    harness.session.handle(SetAlerts(alerts=AlertSettings(nonfinite=False)))
    weight = dict(harness.session.loop.parameters())["weight"]
    weight.register_hook(lambda g: g * math.nan)
    messages = harness.train(5, snapshots=False)
    messages += harness.do("pause")
    assert "alerted" not in kinds(messages)
    losses = losses_of(messages)
    assert sorted(losses) == [1, 2, 3, 4, 5]
    assert math.isfinite(losses[1]) and all(math.isnan(losses[s]) for s in (2, 3, 4, 5))


def test_a_resumed_run_does_not_alert_again_for_the_same_nan(harness: Harness) -> None:
    weight = dict(harness.session.loop.parameters())["weight"]
    weight.register_hook(lambda g: g * math.nan if harness.session.loop.step == 1 else g)
    the_alert(run_until_paused(harness))
    messages = harness.do("start")
    messages += harness.train(5, snapshots=False)
    messages += harness.do("pause")
    assert "alerted" not in kinds(messages)  # NaN parameters stay NaN: the learner has been told
    losses = losses_of(messages)
    # found at the loss of step 3: that step finishes, and every loss from it on is NaN
    assert sorted(losses) == [3, 4, 5, 6, 7]
    assert all(math.isnan(loss) for loss in losses.values())


def test_non_finite_optimizer_state_is_named_before_the_parameter_it_makes() -> None:
    harness = Harness(PLAIN.model_copy(update={"optimizer": AdamConfig(lr=0.01)}))
    try:
        for _ in range(2):
            harness.do("step")
        loop = harness.session.loop
        weight = dict(loop.parameters())["weight"]
        with torch.no_grad():
            loop.optimizer.state[weight]["exp_avg"][0, 3] = math.nan
            weight[0, 3] = math.nan  # as step() would have made it from that state
        alert = the_alert(harness.do("start")).alert
        assert (alert.step, alert.phase, alert.tensor) == (2, "step", "state.exp_avg of weight")
        assert alert.detail == "state.exp_avg of weight holds 1 NaN and 0 ±Inf of its 10 elements"
    finally:
        harness.close()
