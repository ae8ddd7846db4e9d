"""When snapshots are taken: never faster than the display rate, never over the overhead budget."""

from __future__ import annotations

import pytest

from app.instrument.governor import Governor


def test_the_first_snapshot_is_due_at_once() -> None:
    assert Governor().due(0.0)
    assert Governor().due(12345.6)


def test_cheap_snapshots_are_spaced_by_the_display_rate() -> None:
    governor = Governor(budget=0.05, max_rate=20.0)
    governor.spent(cost=0.0001, now=100.0)  # 0.0001 / 0.05 = 2 ms, less than one 50 ms frame
    assert governor.next_at == pytest.approx(100.0 + 1 / 20.0)
    assert not governor.due(100.0)
    assert not governor.due(100.0 + 1 / 20.0 - 1e-6)
    assert governor.due(100.0 + 1 / 20.0)


def test_costly_snapshots_are_spaced_by_the_budget() -> None:
    governor = Governor(budget=0.05, max_rate=20.0, warm=True)
    governor.spent(cost=0.01, now=10.0)  # 10 ms at a 5% budget: one snapshot every 200 ms
    assert governor.next_at == pytest.approx(10.2)
    assert not governor.due(10.199)
    assert governor.due(10.2 + 1e-9)


@pytest.mark.parametrize("budget", [0.01, 0.05, 0.5])
@pytest.mark.parametrize("cost", [0.0, 0.001, 0.01, 0.1])
def test_instrumentation_stays_within_budget_and_rate(budget: float, cost: float) -> None:
    governor = Governor(budget=budget, max_rate=30.0)
    now, snapshots, end = 0.0, 0, 10.0  # the first snapshot's cost is not charged: one extra
    while now < end:
        if governor.due(now):
            snapshots += 1
            governor.spent(cost, now)
        now += 0.001  # a 1 ms training step
    assert snapshots <= end * 30.0 + 1
    assert snapshots * cost <= budget * end + 2 * cost


def test_the_first_snapshot_is_not_charged_the_next_are() -> None:
    governor = Governor(budget=0.05, max_rate=20.0)
    governor.spent(cost=0.25, now=1.0)  # first calls: charged in full it would wait 5 s
    assert governor.due(1.0 + 1 / 20.0)
    governor.spent(cost=0.25, now=2.0)
    assert not governor.due(2.0 + 4.9)
    assert governor.due(2.0 + 5.0)
