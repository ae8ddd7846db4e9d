"""The data sets of issue 9: seeded, the right shapes, and each class where its definition puts it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.engine import datasets
from app.engine.datasets import CLASSIFICATION_2D, Points


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", sorted(CLASSIFICATION_2D))
def test_two_classes_of_points_in_the_plane_from_the_seed(name: str) -> None:
    make = CLASSIFICATION_2D[name]
    points = make(301, 0.2, seeded(3))
    assert points.inputs.shape == (301, 2) and points.inputs.dtype == torch.float32
    assert points.targets.shape == (301, 1)
    assert set(points.targets.flatten().tolist()) == {0.0, 1.0}
    ones = int(points.targets.sum())
    assert abs(ones - 150) <= 30  # two classes of about the same size
    again = make(301, 0.2, seeded(3))
    assert torch.equal(points.inputs, again.inputs) and torch.equal(points.targets, again.targets)
    other = make(301, 0.2, seeded(4))
    assert not torch.equal(points.inputs, other.inputs)
    assert torch.isfinite(points.inputs).all()


def by_class(points: Points) -> tuple[torch.Tensor, torch.Tensor]:
    label = points.targets.flatten()
    return points.inputs[label == 1], points.inputs[label == 0]


def test_circle_without_noise_keeps_a_gap_between_its_classes() -> None:
    inner, outer = by_class(datasets.circle(400, 0.0, seeded()))
    assert inner.norm(dim=1).max() <= 2.5 + 1e-5
    assert outer.norm(dim=1).min() >= 3.5 - 1e-5 and outer.norm(dim=1).max() <= 5 + 1e-5


def test_noise_blurs_the_circle() -> None:
    inner, _ = by_class(datasets.circle(400, 0.5, seeded()))
    assert inner.norm(dim=1).max() > 2.5


def test_xor_is_the_sign_of_the_product() -> None:
    points = datasets.xor(400, 0.0, seeded())
    x, y = points.inputs[:, 0], points.inputs[:, 1]
    assert torch.equal(points.targets.flatten(), (x * y > 0).float())
    assert points.inputs.abs().min() >= 0.3 - 1e-6  # kept off the axes


def test_gaussians_sit_at_their_centres() -> None:
    positive, negative = by_class(datasets.gaussians(2000, 0.0, seeded()))
    torch.testing.assert_close(positive.mean(dim=0), torch.tensor([2.0, 2.0]), atol=0.05, rtol=0)
    torch.testing.assert_close(negative.mean(dim=0), torch.tensor([-2.0, -2.0]), atol=0.05, rtol=0)
    assert positive.std(dim=0).mean() == pytest.approx(0.5, abs=0.05)


def test_the_spirals_are_half_a_turn_apart() -> None:
    first, second = by_class(datasets.spiral(400, 0.0, seeded()))
    torch.testing.assert_close(second, -first, atol=1e-5, rtol=0)  # a turn of π about the origin
    assert first.norm(dim=1).max() <= 5


def test_the_upper_moon_is_a_half_circle() -> None:
    upper, _ = by_class(datasets.moons(200, 0.0, seeded()))
    centred = upper / 2.5 + torch.tensor([0.5, 0.25])
    torch.testing.assert_close(centred.norm(dim=1), torch.ones(100), atol=1e-5, rtol=0)
    assert (centred[:, 1] >= -1e-6).all()


def test_sine_is_the_sine_plus_noise() -> None:
    clean = datasets.sine(500, 0.0, seeded())
    x = clean.inputs.flatten()
    assert x.min() >= -math.pi and x.max() <= math.pi
    torch.testing.assert_close(clean.targets.flatten(), x.sin())
    noisy = datasets.sine(500, 0.1, seeded())
    assert (noisy.targets.flatten() - noisy.inputs.flatten().sin()).std() == pytest.approx(
        0.1, rel=0.15
    )


def test_digits_are_scikit_learns_8x8_images() -> None:
    from sklearn.datasets import load_digits

    points = datasets.digits()
    expected = load_digits()
    assert points.inputs.shape == (1797, 64) and points.targets.shape == (1797,)
    assert points.targets.dtype == torch.int64 and set(points.targets.tolist()) == set(range(10))
    assert float(points.inputs.min()) >= 0.0 and float(points.inputs.max()) == 1.0
    np.testing.assert_allclose(points.inputs.numpy() * 16, expected.data, atol=1e-5)


def test_the_split_holds_out_a_seeded_fraction() -> None:
    points = datasets.circle(200, 0.1, seeded())
    train, validation = datasets.train_validation_split(points, 0.25, seeded(1))
    assert (len(train.inputs), len(validation.inputs)) == (150, 50)
    rows = {tuple(row) for row in points.inputs.tolist()}
    held = {tuple(row) for row in validation.inputs.tolist()}
    kept = {tuple(row) for row in train.inputs.tolist()}
    assert held | kept == rows and not held & kept
    again, _ = datasets.train_validation_split(points, 0.25, seeded(1))
    assert torch.equal(train.inputs, again.inputs)
