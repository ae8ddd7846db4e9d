"""The model builder of issue 9: architectures validate, and build the network they describe."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from app.engine.models import Architecture, DigitsCNN, mlp, playground_model


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_an_mlp_has_the_layers_and_parameters_it_says() -> None:
    model = mlp(2, 1, [4, 2], "tanh")
    kinds = [type(layer) for layer in model]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert parameter_count(model) == (2 * 4 + 4) + (4 * 2 + 2) + (2 * 1 + 1)


def test_no_hidden_layer_is_a_linear_model() -> None:
    model = mlp(10, 1, [], "relu")
    assert [type(layer) for layer in model] == [nn.Linear]


@pytest.mark.parametrize(
    "activation, expected",
    [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), ("gelu", nn.GELU)],
)
def test_each_activation(activation: str, expected: type[nn.Module]) -> None:
    assert isinstance(mlp(2, 1, [3], activation)[1], expected)


def test_playground_features_are_computed_from_each_point() -> None:
    features = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2"]
    model = playground_model(Architecture(hidden=[], activation="identity", features=features))
    points = torch.tensor([[1.5, -2.0], [0.0, 3.0]])
    columns = model[0](points)
    expected = [
        [1.5, -2.0, 2.25, 4.0, -3.0, math.sin(1.5), math.sin(-2.0)],
        [0.0, 3.0, 0.0, 9.0, 0.0, 0.0, math.sin(3.0)],
    ]
    torch.testing.assert_close(columns, torch.tensor(expected))
    assert model(points).shape == (2, 1)
    assert parameter_count(model) == 7 + 1  # features have no parameters: one linear unit


def test_the_same_seed_builds_the_same_network() -> None:
    torch.manual_seed(5)
    first = playground_model(Architecture())
    torch.manual_seed(5)
    second = playground_model(Architecture())
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "bad",
    [
        {"hidden": [4] * 7},  # at most 6 hidden layers
        {"hidden": [0]},
        {"hidden": [257]},
        {"activation": "swish"},
        {"features": []},
        {"features": ["x3"]},
        {"dropout": 0.5},
    ],
)
def test_an_architecture_out_of_range_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Architecture.model_validate(bad)


def test_the_digits_cnn_reads_64_pixels_and_gives_ten_logits() -> None:
    model = DigitsCNN()
    assert model(torch.rand(5, 64)).shape == (5, 10)
    conv = (1 * 8 * 9 + 8) + (8 * 16 * 9 + 16)
    assert parameter_count(model) == conv + (64 * 10 + 10)


def test_the_wide_mlp_has_about_6_3_million_parameters() -> None:
    """1024-2048-2048-10, the "wide MLP" that exercises every view at a real size."""
    wide = mlp(1024, 10, [2048, 2048], "relu")
    assert parameter_count(wide) == (1024 * 2048 + 2048) + (2048 * 2048 + 2048) + (2048 * 10 + 10)
    assert parameter_count(wide) == 6_316_042
