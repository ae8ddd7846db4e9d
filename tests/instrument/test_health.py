"""Health points against a hand-written loop: every distribution is torch.histc of the same
tensor, every norm and ratio torch.linalg.vector_norm, computed here from the loop's own tensors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from app.contract.health import HealthPoint, Overhead
from app.instrument.health import health_point
from app.instrument.recorder import Recorder

OVERHEAD = Overhead(budget=0.05, share=0.0, snapshot_ms=0.0, interval_s=0.05)
FIELDS = ("value", "grad", "update", "state.exp_avg", "state.exp_avg_sq")


def histc(t: torch.Tensor) -> tuple[float, float, list[int]]:
    """The expected distribution: range and counts of the finite elements, by torch.histc."""
    finite = t.detach().reshape(-1).float()
    finite = finite[torch.isfinite(finite)]
    low, high = finite.min().item(), finite.max().item()
    counts = torch.histc(finite, bins=64, min=low, max=high)
    return low, high, [int(c) for c in counts.tolist()]


class Loop:
    """A small model with one sampled weight (5120 > 4096 elements) and unsampled ones, trained
    by Adam on random data, with the recorder attached as the worker attaches it."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(80, 64), nn.ReLU(), nn.Linear(64, 3))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.01)
        self.recorder = Recorder(list(self.model.named_parameters()))
        self.recorder.attach(self.optimizer)
        g = torch.Generator().manual_seed(1)
        self.x, self.y = torch.randn(32, 80, generator=g), torch.randn(32, 3, generator=g)
        self.steps = 0

    def step(self) -> dict[str, torch.Tensor]:
        """One step; the update of each parameter (after − before), computed here."""
        self.recorder.arm()
        self.optimizer.zero_grad(set_to_none=True)
        nn.functional.mse_loss(self.model(self.x), self.y).backward()
        before = {n: p.detach().clone() for n, p in self.model.named_parameters()}
        self.optimizer.step()
        self.steps += 1
        return {n: p.detach() - before[n] for n, p in self.model.named_parameters()}

    def point(self) -> HealthPoint:
        snapshot = self.recorder.snapshot(self.optimizer)
        return health_point(snapshot, self.steps, [], OVERHEAD)

    def field(self, name: str, field: str, updates: dict[str, torch.Tensor]) -> torch.Tensor:
        p = dict(self.model.named_parameters())[name]
        if field == "value":
            return p.detach()
        if field == "grad":
            assert p.grad is not None
            return p.grad
        if field == "update":
            return updates[name]
        tensor: torch.Tensor = self.optimizer.state[p][field.removeprefix("state.")]
        return tensor


def test_distributions_are_histc_of_every_field_sampled_or_not() -> None:
    loop = Loop()
    loop.step()
    updates = loop.step()
    point = loop.point()
    assert [layer.tensor for layer in point.layers] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert loop.model[0].weight.numel() > 4096  # sampled: its histogram comes from the recorder
    for layer in point.layers:
        assert [d.field for d in layer.distributions] == list(FIELDS)
        for distribution in layer.distributions:
            expected = histc(loop.field(layer.tensor, distribution.field, updates))
            what = f"{layer.tensor} {distribution.field}"
            assert (distribution.low, distribution.high, distribution.counts) == expected, what
            assert distribution.nonfinite == 0 and sum(distribution.counts) > 0, what


def test_norms_and_update_ratios_are_those_of_the_loop() -> None:
    loop = Loop()
    updates = loop.step()
    point = loop.point()
    norm = torch.linalg.vector_norm
    parameters = dict(loop.model.named_parameters())
    for layer in point.layers:
        p = parameters[layer.tensor]
        assert p.grad is not None
        assert layer.value_norm == pytest.approx(norm(p).item(), rel=1e-5)
        assert layer.grad_norm == pytest.approx(norm(p.grad).item(), rel=1e-5)
        assert layer.update_norm == pytest.approx(norm(updates[layer.tensor]).item(), rel=1e-5)
        # θ after the step, as the contract says
        ratio = (norm(updates[layer.tensor]) / norm(p)).item()
        assert layer.update_ratio == pytest.approx(ratio, rel=1e-5)
    grads = torch.cat([p.grad.reshape(-1) for p in parameters.values() if p.grad is not None])
    assert point.grad_norm == pytest.approx(norm(grads.double()).item(), rel=1e-5)


def test_before_any_step_there_is_no_gradient_or_update() -> None:
    loop = Loop()
    point = loop.point()
    assert point.grad_norm is None
    for layer in point.layers:
        assert (layer.grad_norm, layer.update_norm, layer.update_ratio) == (None, None, None)
        assert [d.field for d in layer.distributions] == ["value"]


def test_nan_and_inf_are_counted_apart_from_the_bins() -> None:
    loop = Loop()
    updates = loop.step()
    small, big = loop.model[2].weight, loop.model[0].weight
    assert small.grad is not None and big.grad is not None
    small.grad[0, :3] = torch.tensor([math.nan, math.inf, -math.inf])
    big.grad[5, 7] = math.nan
    point = loop.point()
    for layer, count in (("2.weight", 3), ("0.weight", 1)):
        grad = next(
            d
            for d in point.layers[[x.tensor for x in point.layers].index(layer)].distributions
            if d.field == "grad"
        )
        assert grad.nonfinite == count
        assert (grad.low, grad.high, grad.counts) == histc(loop.field(layer, "grad", updates))


def test_a_constant_field_and_a_subnormal_range_follow_histc() -> None:
    loop = Loop()
    with torch.no_grad():
        loop.model[2].bias.fill_(0.5)  # constant: histc bins it over 0.5 − 1 .. 0.5 + 1
        loop.model[0].bias.zero_()
        loop.model[0].bias[:3] = torch.tensor([1e-40, 2e-40, 3e-40])  # (max − min) / 64 subnormal
    point = loop.point()
    for name in ("2.bias", "0.bias"):
        layer = next(x for x in point.layers if x.tensor == name)
        (value,) = layer.distributions
        expected = histc(dict(loop.model.named_parameters())[name])
        assert (value.low, value.high, value.counts) == expected, name
    constant = next(x for x in point.layers if x.tensor == "2.bias").distributions[0]
    assert constant.counts[32] == 3 and sum(constant.counts) == 3
