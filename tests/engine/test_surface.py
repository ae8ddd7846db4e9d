"""The loss surface of the two-parameter experiment, against the loss computed directly."""

from __future__ import annotations

import pytest
import torch

from app.engine.experiments import SURFACE_START, ExperimentConfig, make_line
from app.engine.surface import loss_surface


def test_every_grid_point_is_the_mse_of_that_line() -> None:
    config = ExperimentConfig(experiment="surface-2d")
    surface = loss_surface(config, n=16)
    data = make_line(config)
    w = torch.linspace(*surface["w"], 16, dtype=torch.float64)
    b = torch.linspace(*surface["b"], 16, dtype=torch.float64)
    for i in (0, 5, 15):
        for j in (0, 9, 15):
            direct = ((w[j] * data.inputs.double() + b[i] - data.targets.double()) ** 2).mean()
            assert surface["loss"][i * 16 + j] == pytest.approx(float(direct), rel=1e-9)


def test_the_window_holds_the_start_and_the_minimum() -> None:
    surface = loss_surface(ExperimentConfig(experiment="surface-2d"))
    (w_lo, w_hi), (b_lo, b_hi) = surface["w"], surface["b"]
    w_best, b_best = surface["minimum"]
    for w, b in (SURFACE_START, (w_best, b_best)):
        assert w_lo < w < w_hi and b_lo < b < b_hi
    assert min(surface["loss"]) < 0.05  # the grid passes near the least-squares minimum
    assert w_best == pytest.approx(2.0, abs=0.1) and b_best == pytest.approx(-1.0, abs=0.1)
