"""The health alerts on hand-made health points: each fires when its condition starts, once,
and again only after it cleared; none pauses."""

from __future__ import annotations

import math

import torch
from torch import nn

from app.contract.health import Distribution, HealthPoint, LayerHealth, Overhead, UnitActivity
from app.instrument.health import health_point
from app.instrument.recorder import Recorder
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


def test_a_spike_below_the_largest_healthy_norm_is_not_exploding() -> None:
    # a converged run: its gradients are noise, far below those of its first steps
    norms = [5.0, 3.0, 1.0, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 3e-5]
    assert fired(HealthWatch(), [point(i + 1, n) for i, n in enumerate(norms)]) == []


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


def test_a_weight_whose_gradient_holds_nan_is_not_called_vanishing() -> None:
    nan_grad = Distribution(field="grad", low=0.0, high=0.0, counts=[0] * 64, nonfinite=16)
    points = []
    for step in range(1, 5):
        first = layer("0.weight", 0.0)  # the norm of its finite elements: none
        first.distributions = [nan_grad]
        points.append(point(step, 1.0, [first, layer("2.weight", 1.0)]))
    assert fired(HealthWatch(), points) == []


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
    assert alert.detail == "7 of the 10 units of the ReLU 1 output 0 for every sample of the batch"


def test_a_step_already_seen_is_not_observed_again() -> None:
    watch = HealthWatch()
    units = [UnitActivity(layer="1", units=2, dead=2)]
    assert len(watch.observe(point(3, None, [], units))) == 1
    watch.observe(point(3, None, [], []))  # the same step again (a pause after a step): ignored
    assert watch.observe(point(3, None, [], units)) == []


class RealLoop:
    """A real model trained on y = x₀/2 − x₁ (16 inputs), its health points made by the recorder
    and app/instrument/health.py as the worker makes them, and watched."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 16, generator=g)
        self.y = self.x[:, :1] * 0.5 - self.x[:, 1:2]
        self.model, self.optimizer = model, optimizer
        self.recorder = Recorder(list(model.named_parameters()))
        self.recorder.attach(optimizer)
        self.watch = HealthWatch()
        self.alerts: list[tuple[int, str, str]] = []
        self.loss = math.inf

    def train(self, steps: int, every: int = 1) -> None:
        """`steps` steps, a health point each `every` steps."""
        for step in range(1, steps + 1):
            self.recorder.arm()
            self.optimizer.zero_grad()
            loss = nn.functional.mse_loss(self.model(self.x), self.y)
            loss.backward()
            self.optimizer.step()
            self.loss = loss.item()
            if step % every:
                continue
            found = health_point(self.recorder.snapshot(self.optimizer), step, [], OVERHEAD)
            self.alerts += [(a.step, a.kind, a.tensor) for a in self.watch.observe(found)]


def test_a_deep_sigmoid_network_raises_vanishing_on_its_first_layers() -> None:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(10):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    loop = RealLoop(model, torch.optim.SGD(model.parameters(), lr=0.1))
    loop.train(4)
    vanishing = {tensor for step, kind, tensor in loop.alerts if kind == "vanishing"}
    assert {step for step, _, _ in loop.alerts} == {3}  # the third point in a row
    assert "0.weight" in vanishing and "20.weight" not in vanishing  # the first, not the last
    # as the test computes it: the first weight's ‖g‖/‖θ‖ is under 1e-3 of the largest
    ratios = {
        name: (p.grad.norm() / p.norm()).item()
        for name, p in model.named_parameters()
        if name.endswith("weight") and p.grad is not None
    }
    assert ratios["0.weight"] < 1e-3 * max(ratios.values())


def test_a_converged_network_raises_nothing() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 1))
    loop = RealLoop(model, torch.optim.Adam(model.parameters(), lr=0.01))
    loop.train(1500, every=3)
    assert loop.loss < 1e-6  # converged: its gradients are tiny, and noisy
    assert loop.alerts == []
