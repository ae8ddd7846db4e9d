"""Health points in the history: kept with their non-finite numbers, replayed in step order,
thinned evenly past the replay limit, cleared by a reset."""

from __future__ import annotations

import math
from pathlib import Path

from app.contract.health import Distribution, HealthPoint, LayerHealth, Overhead
from app.store.history import History


def point(step: int, grad_norm: float | None = 1.0) -> HealthPoint:
    distribution = Distribution(field="grad", low=-1.0, high=math.inf, counts=[1] * 64, nonfinite=2)
    layer = LayerHealth(
        tensor="weight",
        value_norm=2.0,
        grad_norm=grad_norm,
        update_norm=None,
        update_ratio=None,
        distributions=[distribution],
    )
    overhead = Overhead(budget=0.05, share=0.01, snapshot_ms=1.5, interval_s=0.05)
    return HealthPoint(step=step, grad_norm=grad_norm, layers=[layer], units=[], overhead=overhead)


def test_points_come_back_as_they_were_in_step_order(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    history.add_run("r", "seed-linear", {}, "running")
    stored = [point(3, math.nan), point(1), point(2, None)]
    for i, p in enumerate(stored):
        history.add_health("r", p, now=10.0 * i)
    found = history.health_points("r")
    assert [p.step for p in found] == [1, 2, 3]
    assert found[1] == stored[2] and found[0] == stored[1]
    assert (
        math.isnan(found[2].grad_norm or 0.0)
        and found[2].layers[0].distributions[0].high == math.inf
    )
    history.clear_progress("r")
    assert history.health_points("r") == []


def test_a_long_run_replays_points_spread_evenly_with_its_first_and_latest(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    history.add_run("r", "seed-linear", {}, "running")
    for step in range(1, 101):
        history.add_health("r", point(step), now=10.0 * step)
    steps = [p.step for p in history.health_points("r", limit=10)]
    assert steps == [1, 12, 23, 34, 45, 56, 67, 78, 89, 100]
    assert [p.step for p in history.health_points("r", limit=100)] == list(range(1, 101))


def test_points_closer_than_the_keep_interval_are_thinned_on_disk_the_latest_always_kept(
    tmp_path: Path,
) -> None:
    history = History(tmp_path / "h.sqlite3")
    history.add_run("r", "seed-linear", {}, "running")
    # two points a second for 12 s: one kept for good at 0 s, 5 s and 10 s (steps 1, 11, 21), and
    # after each the latest of those that came too soon (steps 10, 20, and 24, the run's latest)
    for i in range(24):
        history.add_health("r", point(i + 1), now=0.5 * i)
    assert [p.step for p in history.health_points("r")] == [1, 10, 11, 20, 21, 24]
    history.clear_progress("r")
    history.add_health("r", point(1), now=100.0)
    assert [p.step for p in history.health_points("r")] == [1]


def test_a_commands_points_are_all_kept_however_close(tmp_path: Path) -> None:
    history = History(tmp_path / "h.sqlite3")
    history.add_run("r", "seed-linear", {}, "paused")
    for step in range(1, 6):  # five Steps pressed within a second
        history.add_health("r", point(step), now=0.1 * step, thin=False)
    history.add_health("r", point(6), now=0.65)  # then running: too soon, kept as the latest
    history.add_health("r", point(7), now=0.7)  # replaces it
    assert [p.step for p in history.health_points("r")] == [1, 2, 3, 4, 5, 7]
