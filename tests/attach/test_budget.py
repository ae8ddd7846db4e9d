"""The whole watch keeps within the run's budget, not only its snapshots: the hooks and log() of
every step and the sender thread's CPU are measured and charged, and snapshots get what they
leave (stepscope/watch.py `_account`, stepscope/frames.py `charge_watching`)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from stepscope.frames import Instruments
from tests.attach.live import watched
from tests.support import Server


def instruments(budget: float) -> Instruments:
    model = nn.Linear(10, 1)
    return Instruments(list(model.named_parameters()), model, budget=budget)


def test_snapshots_get_the_budget_the_rest_of_the_watch_leaves_and_never_less_than_a_floor() -> (
    None
):
    watch = instruments(0.05)
    assert watch.governor.budget == pytest.approx(0.04)  # not measured yet: the worker's share
    watch.charge_watching(0.010, now=1.0, elapsed=1.0)  # 1% of the wall time
    assert watch.governor.budget == pytest.approx(0.04)
    watch.charge_watching(0.035, now=2.0, elapsed=1.0)  # 3.5%: smoothed to 0.8·1% + 0.2·3.5%
    assert watch.governor.budget == pytest.approx(0.05 - 0.015)
    for second in range(3, 40):  # the hooks alone take a tenth of the time
        watch.charge_watching(0.1, now=float(second), elapsed=1.0)
    assert watch.governor.budget == pytest.approx(0.01)  # the floor: a fifth of the budget
    watch.budget = 0.5  # the page raises the budget: the share left is recomputed
    assert watch.governor.budget == pytest.approx(0.5 - watch.watching_share)
    # the meter the health view reads counts what was charged, not only snapshots
    assert watch.overhead._costs[-1] == (39.0, 0.1)


@pytest.mark.slow
def test_a_running_watch_measures_its_hooks_log_and_sender_and_spends_the_rest_on_snapshots(
    live_server: Server,
) -> None:
    torch.manual_seed(0)
    model = nn.Linear(10, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.randn(1, 10), torch.randn(1, 1)
    with watched(live_server, model, optimizer, x, y) as (watch, stream, trainer):
        stream.wait_for(lambda: len(stream.of_type("health")) >= 3)
        trainer.halt.set()  # (the loop's thread updates what is read below)
        trainer.thread.join()
        measured = watch._instruments
        assert measured is not None and measured.watching_share is not None
        assert watch._hooks_seconds > 0 and watch._log_seconds > 0
        assert watch._link is not None and watch._link.sender_seconds > 0
        assert measured.governor.budget == pytest.approx(
            max(0.05 * 0.2, 0.05 - measured.watching_share)
        )
        # what the page shows as the watch's share is read from the meter that was charged
        share = stream.of_type("health")[-1]["points"][-1]["overhead"]["share"]
        assert share > 0
