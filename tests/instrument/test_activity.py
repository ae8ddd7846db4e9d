"""Dead ReLU units, counted against the test's own forward, and hooks that change nothing."""

from __future__ import annotations

import torch
from torch import nn

from app.instrument.activity import Activity


def mlp_with_dead_units() -> nn.Sequential:
    """Linear(4, 6) → ReLU → Linear(6, 5) → ReLU → Linear(5, 1); the first layer's units 0, 1
    and 2 have zero weights and bias −1, so their ReLU outputs 0 for every input."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 1))
    with torch.no_grad():
        model[0].weight[:3] = 0.0
        model[0].bias[:3] = -1.0
    return model


def dead_in(outputs: list[torch.Tensor]) -> int:
    """Units (dim 1) that were exactly 0 for every sample and position of every batch."""
    zero = torch.stack([(out == 0).flatten(2).all(dim=2).all(dim=0) for out in outputs])
    return int(zero.all(dim=0).sum())


def test_dead_units_of_an_mlp_are_those_that_output_zero_for_the_whole_batch() -> None:
    model = mlp_with_dead_units()
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(2))
    activity = Activity(model)
    activity.arm()
    model(x)
    activity.disarm()
    first = torch.relu(model[0](x))
    second = torch.relu(model[2](first))
    found = {(u.layer, u.units): u.dead for u in activity.units()}
    assert found == {
        ("1", 6): dead_in([first[:, :, None]]),
        ("3", 5): dead_in([second[:, :, None]]),
    }
    assert found[("1", 6)] == 3  # the three units forced dead, and no other in this batch


def test_a_unit_alive_in_one_micro_batch_is_not_dead() -> None:
    model = mlp_with_dead_units()
    with torch.no_grad():
        model[0].weight[3] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # alive only where x₀ > 0
        model[0].bias[3] = 0.0
    x = torch.randn(32, 4, generator=torch.Generator().manual_seed(5))
    negative, positive = x.clone(), x.clone()
    negative[:, 0], positive[:, 0] = -x[:, 0].abs(), x[:, 0].abs()
    activity = Activity(model)
    activity.arm()
    model(negative)
    model(positive)  # a second micro-batch of the same step
    activity.disarm()
    first = [torch.relu(model[0](x))[:, :, None] for x in (negative, positive)]
    assert activity.units()[0].dead == dead_in(first) == 3
    activity.arm()
    model(negative)
    activity.disarm()
    # a new step's watch: unit 3 saw only negative x₀, so it is dead in this one
    assert activity.units()[0].dead == dead_in(first[:1]) == 4


def test_conv_channels_count_as_units() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(inplace=True), nn.Flatten(), nn.LazyLinear(2))
    with torch.no_grad():
        model[0].weight[1] = 0.0
        model[0].bias[1] = -0.5
    x = torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    activity = Activity(model)
    activity.arm()
    model(x)
    activity.disarm()
    out = torch.relu(model[0](x))
    (unit,) = activity.units()
    assert (unit.layer, unit.units, unit.dead) == ("1", 4, dead_in([out])) and unit.dead >= 1


def test_hooks_cost_nothing_unless_armed_and_never_change_the_losses() -> None:
    def train(watched: bool) -> list[float]:
        model = mlp_with_dead_units()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        activity = Activity(model)
        g = torch.Generator().manual_seed(4)
        losses = []
        for _ in range(20):
            x, y = torch.randn(16, 4, generator=g), torch.randn(16, 1, generator=g)
            if watched:
                activity.arm()
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            activity.disarm()
            losses.append(loss.item())
            # disarmed, no hook is left on any module: the forward takes its fast path
            assert all(not m._forward_hooks for m in model.modules())
        assert bool(activity.units()) is watched
        return losses

    assert train(watched=True) == train(watched=False)


def test_a_model_without_relu_reports_no_units() -> None:
    activity = Activity(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
    activity.arm()
    assert not activity.armed
    activity.disarm()
    assert activity.units() == []
