"""Data sets worth watching a network learn, made from the run's seed with no download (issue 9).

The two-dimensional sets follow TensorFlow Playground's (`dataset.ts`): points in the square
[−6, 6]², two classes labelled 1 and 0, and a noise level in [0, 1] that blurs the classes into
each other. `sine` is a one-dimensional curve that needs hidden units; `digits` the 8×8 handwritten
digits that ship inside scikit-learn. Every generator takes a `torch.Generator`, so the same seed
gives the same points in every process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

RADIUS = 5.0  # the points lie within this radius of the origin, as in Playground


@dataclass(frozen=True)
class Points:
    inputs: torch.Tensor  # (n, features), float32
    targets: torch.Tensor  # (n, 1) float32 for regression and two classes; (n,) int64 for digits


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def circle(n: int, noise: float, generator: torch.Generator) -> Points:
    """Class 1 inside radius 2.5, class 0 on a ring from 3.5 to 5; noise shifts each point by up to
    ±5·noise in x and y."""
    inner = n // 2
    radius = torch.cat(
        [
            _uniform(inner, 0, 0.5 * RADIUS, generator),
            _uniform(n - inner, 0.7 * RADIUS, RADIUS, generator),
        ]
    )
    angle = _uniform(n, 0, 2 * math.pi, generator)
    shift = _uniform(2 * n, -RADIUS, RADIUS, generator).reshape(n, 2) * noise
    inputs = torch.stack([radius * angle.sin(), radius * angle.cos()], dim=1) + shift
    labels = torch.cat([torch.ones(inner), torch.zeros(n - inner)])
    return Points(inputs.float(), labels.unsqueeze(1))


def xor(n: int, noise: float, generator: torch.Generator) -> Points:
    """Class 1 where x·y > 0 (first and third quadrants); points keep 0.3 away from the axes so
    that, without noise, the classes do not touch."""
    padding = 0.3
    raw = _uniform(2 * n, -RADIUS, RADIUS, generator).reshape(n, 2)
    inputs = raw + padding * raw.sign()
    labels = (inputs[:, 0] * inputs[:, 1] > 0).float()
    shift = _uniform(2 * n, -RADIUS, RADIUS, generator).reshape(n, 2) * noise
    return Points((inputs + shift).float(), labels.unsqueeze(1))


def gaussians(n: int, noise: float, generator: torch.Generator) -> Points:
    """Two Gaussian blobs, class 1 around (2, 2) and class 0 around (−2, −2); their standard
    deviation grows from 0.5 to 2 with the noise level."""
    half = n // 2
    centres = torch.cat([torch.full((half, 2), 2.0), torch.full((n - half, 2), -2.0)])
    std = 0.5 + 1.5 * noise
    inputs = centres + std * torch.randn(n, 2, generator=generator)
    labels = torch.cat([torch.ones(half), torch.zeros(n - half)])
    return Points(inputs.float(), labels.unsqueeze(1))


def spiral(n: int, noise: float, generator: torch.Generator) -> Points:
    """Two interleaved spirals of 1.75 turns, class 1 and class 0 half a turn apart."""
    half = n // 2
    parts = []
    for count, phase in ((half, 0.0), (n - half, math.pi)):
        # half a step in from the centre, so the two spirals never share a point (the origin)
        i = (torch.arange(count, dtype=torch.float64) + 0.5) / max(count, 1)
        radius = i * RADIUS
        turn = 1.75 * i * 2 * math.pi + phase
        shift = _uniform(2 * count, -1, 1, generator).reshape(count, 2).double() * noise
        parts.append(torch.stack([radius * turn.sin(), radius * turn.cos()], dim=1) + shift)
    labels = torch.cat([torch.ones(half), torch.zeros(n - half)])
    return Points(torch.cat(parts).float(), labels.unsqueeze(1))


def moons(n: int, noise: float, generator: torch.Generator) -> Points:
    """scikit-learn's two moons (class 1 the upper one), scaled by 2.5 to fill the same square;
    Gaussian noise of standard deviation 0.5·noise before scaling."""
    half = n // 2
    upper = torch.linspace(0, math.pi, half)
    lower = torch.linspace(0, math.pi, n - half)
    inputs = torch.cat(
        [
            torch.stack([upper.cos(), upper.sin()], dim=1),
            torch.stack([1 - lower.cos(), 0.5 - lower.sin()], dim=1),
        ]
    )
    inputs = inputs + 0.5 * noise * torch.randn(n, 2, generator=generator)
    inputs = 2.5 * (inputs - torch.tensor([0.5, 0.25]))
    labels = torch.cat([torch.ones(half), torch.zeros(n - half)])
    return Points(inputs.float(), labels.unsqueeze(1))


def sine(n: int, noise: float, generator: torch.Generator) -> Points:
    """y = sin(x) for x in [−π, π], plus Gaussian noise of standard deviation `noise`: a curve a
    linear model cannot fit and a few hidden units can."""
    x = _uniform(n, -math.pi, math.pi, generator)
    y = x.sin() + noise * torch.randn(n, generator=generator)
    return Points(x.unsqueeze(1).float(), y.unsqueeze(1).float())


def digits() -> Points:
    """The 1,797 8×8 handwritten digits of scikit-learn (`load_digits` reads a file inside the
    package: no download), pixels scaled from 0…16 to 0…1, labels 0–9."""
    from sklearn.datasets import load_digits  # a heavy import, paid only when digits are asked for

    data = load_digits()
    inputs = torch.from_numpy(data.data).float() / 16.0
    return Points(inputs, torch.from_numpy(data.target).long())


CLASSIFICATION_2D: dict[str, Callable[[int, float, torch.Generator], Points]] = {
    "circle": circle,
    "xor": xor,
    "gaussians": gaussians,
    "spiral": spiral,
    "moons": moons,
}


def train_validation_split(
    points: Points, validation_fraction: float, generator: torch.Generator
) -> tuple[Points, Points]:
    """A seeded shuffle, then the last `validation_fraction` of it held out for validation."""
    order = torch.randperm(len(points.inputs), generator=generator)
    held_out = round(validation_fraction * len(order))
    train, validation = order[: len(order) - held_out], order[len(order) - held_out :]
    return (
        Points(points.inputs[train], points.targets[train]),
        Points(points.inputs[validation], points.targets[validation]),
    )
