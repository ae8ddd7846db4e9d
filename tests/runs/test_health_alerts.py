"""The health alerts on hand-made health points: each fires when its condition starts, once,
and again only after it cleared; none pauses."""

from __future__ import annotations

from app.contract.health import HealthPoint, LayerHealth, Overhead, UnitActivity
from app.runs.health_alerts import HealthWatch

OVERHEAD = Overhead(budget=0.05, share=0.0, snapshot_ms=0.0, interval_s=0.05)


def layer(tensor: str, grad: float | None, value: float = 1.0) -> LayerHealth:
    return LayerHealth(
        tensor=tensor,
        value_norm=value,
        grad_norm=grad,
        update_norm=None,
        update_ratio=None,
        distributions=[],
    )


def point(
    step: int,
    grad_norm: float | None = None,
    layers: list[LayerHealth] | None = None,
    units: list[UnitActivity] | None = None,
) -> HealthPoint:
    return HealthPoint(
        step=step, grad_norm=grad_norm, layers=layers or [], units=units or [], overhead=OVERHEAD
    )


def fired(watch: HealthWatch, points: list[HealthPoint]) -> list[tuple[int, str, str]]:
    found = []
    for p in points:
        for alert in watch.observe(p):
            assert alert.paused is False and alert.step == p.step
            found.append((alert.step, alert.kind, alert.tensor))
    return found


def test_an_exploding_norm_fires_once_then_rearms_when_it_clears() -> None:
    norms = [1.0, 1.2, 0.8, 1.1, 0.9, 11.5, 40.0, 1.0, 1.1, 30.0]
    alerts = fired(HealthWatch(), [point(i + 1, n) for i, n in enumerate(norms)])
    assert alerts == [(6, "exploding", "all parameters"), (10, "exploding", "all parameters")]


def test_no_exploding_alert_without_five_points_of_history_or_below_ten_times() -> None:
    assert fired(HealthWatch(), [point(i + 1, n) for i, n in enumerate([1, 1, 1, 1, 100.0])]) == []
    calm = [1.0, 1.0, 1.0, 1.0, 1.0, 9.9]
    assert fired(HealthWatch(), [point(i + 1, n) for i, n in enumerate(calm)]) == []


def test_the_exploding_detail_gives_the_numbers() -> None:
    watch = HealthWatch()
    for i in range(5):
        watch.observe(point(i + 1, 2.0))
    (alert,) = watch.observe(point(6, 50.0))
    assert alert.phase == "backward"
    assert alert.detail == "the gradient norm 50 is 25× the median 2 of the last 5 points"


def test_a_vanishing_weight_fires_after_three_points_in_a_row() -> None:
    def at(step: int, first: float) -> HealthPoint:
        layers = [layer("0.weight", first), layer("0.bias", 1e-9), layer("2.weight", 1.0)]
        return point(step, 1.0, layers)

    points = [at(1, 1e-4), at(2, 1e-4), at(3, 1e-2), at(4, 1e-4), at(5, 1e-4), at(6, 1e-4)]
    points += [at(7, 1e-4), at(8, 0.5), at(9, 1e-5), at(10, 1e-5), at(11, 1e-5)]
    # the bias's tiny gradient is never compared; the run of 3 restarts after a normal point
    assert fired(HealthWatch(), points) == [
        (6, "vanishing", "0.weight"),
        (11, "vanishing", "0.weight"),
    ]


def test_a_converged_model_whose_gradients_are_all_small_is_not_vanishing() -> None:
    points = [
        point(step, 1e-8, [layer("0.weight", 1e-9, 3.0), layer("2.weight", 4e-9, 2.0)])
        for step in range(1, 10)
    ]
    assert fired(HealthWatch(), points) == []


def test_half_the_units_dead_fires_per_layer() -> None:
    def at(step: int, dead: int) -> HealthPoint:
        units = [
            UnitActivity(layer="1", units=10, dead=dead),
            UnitActivity(layer="3", units=4, dead=0),
        ]
        return point(step, None, [], units)

    alerts = fired(HealthWatch(), [at(1, 4), at(2, 5), at(3, 9), at(4, 4), at(5, 6)])
    assert alerts == [(2, "dead_units", "1"), (5, "dead_units", "1")]
    watch = HealthWatch()
    (alert,) = watch.observe(at(1, 7))
    assert alert.phase == "forward"
    assert alert.detail == "7 of the 10 units of 1 output 0 for every sample of the batch"


def test_a_step_already_seen_is_not_observed_again() -> None:
    watch = HealthWatch()
    units = [UnitActivity(layer="1", units=2, dead=2)]
    assert len(watch.observe(point(3, None, [], units))) == 1
    watch.observe(point(3, None, [], []))  # the same step again (a pause after a step): ignored
    assert watch.observe(point(3, None, [], units)) == []
