"""The loss of the two-parameter experiment over a grid of (w, b): the map the racers run on."""

from __future__ import annotations

from typing import Any

import torch

from app.engine.experiments import EXPERIMENTS, SURFACE_START, ExperimentConfig

GRID = 64  # points per axis


def loss_surface(config: ExperimentConfig, n: int = GRID) -> dict[str, Any]:
    """MSE of y = w·x + b over the whole data set, on an n×n grid (rows: b, columns: w).

    The window holds the start and the least-squares minimum with a margin, so every path from the
    start stays on the map unless it diverges.
    """
    data = EXPERIMENTS["surface-2d"].data(config)
    x, y = data.inputs.flatten().double(), data.targets.flatten().double()
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    w_best, b_best = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.flatten().tolist()
    w_lo, w_hi = _window(SURFACE_START[0], w_best)
    b_lo, b_hi = _window(SURFACE_START[1], b_best)
    w = torch.linspace(w_lo, w_hi, n, dtype=torch.float64)
    b = torch.linspace(b_lo, b_hi, n, dtype=torch.float64)
    # loss[i, j] = mean((w_j x + b_i - y)^2), for every grid point at once
    residual = w[None, :, None] * x[None, None, :] + b[:, None, None] - y[None, None, :]
    loss = residual.square().mean(dim=2)
    return {
        "w": [w_lo, w_hi],
        "b": [b_lo, b_hi],
        "n": n,
        "loss": loss.flatten().tolist(),
        "minimum": [w_best, b_best],
        "start": list(SURFACE_START),
    }


def _window(start: float, best: float) -> tuple[float, float]:
    low, high = min(start, best), max(start, best)
    margin = max(0.75, 0.6 * (high - low))  # momentum overshoots the minimum: keep it on the map
    return low - margin, high + margin
