"""The model builder of issue 9: a validated architecture and the real `nn.Module` it builds.

An MLP of 0–6 hidden layers of 1–256 units with one activation, fed, for the two-dimensional data
sets, by TensorFlow Playground's input features (x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂); and, for
the 8×8 digits, a small CNN. Like an experiment, an architecture is data, so the browser can choose
one without sending code.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

Activation = Literal["relu", "tanh", "sigmoid", "gelu", "identity"]
Feature = Literal["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin x1", "sin x2"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}

# Each feature of a point (x₁, x₂), as Playground computes it.
FEATURES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1^2": lambda p: p[:, 0] ** 2,
    "x2^2": lambda p: p[:, 1] ** 2,
    "x1*x2": lambda p: p[:, 0] * p[:, 1],
    "sin x1": lambda p: torch.sin(p[:, 0]),
    "sin x2": lambda p: torch.sin(p[:, 1]),
}


class Architecture(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["mlp", "cnn"] = Field(
        default="mlp", description="cnn: the small convolutional network, for the 8×8 digits"
    )
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=256)]], Field(max_length=6)] = [4, 2]
    activation: Activation = "tanh"
    # Playground's inputs for the 2-D data sets; ignored by the others.
    features: Annotated[list[Feature], Field(min_length=1, max_length=7)] = ["x1", "x2"]


class PlaygroundFeatures(nn.Module):
    """The chosen features of each 2-D point, one column each: no parameters, nothing to learn."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return torch.stack([FEATURES[name](points) for name in self.names], dim=1)


def mlp(in_features: int, out_features: int, hidden: list[int], activation: str) -> nn.Sequential:
    """Linear layers of the given widths with the activation between them (none after the last:
    the loss takes logits or raw outputs). No hidden layer is a linear model."""
    widths = [in_features, *hidden, out_features]
    layers: list[nn.Module] = []
    for i, (width_in, width_out) in enumerate(pairwise(widths)):
        layers.append(nn.Linear(width_in, width_out))
        if i < len(widths) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def playground_model(architecture: Architecture, out_features: int = 1) -> nn.Sequential:
    """Features of (x₁, x₂), then the MLP: Playground's network, on real PyTorch."""
    features = PlaygroundFeatures(list(architecture.features))
    body = mlp(
        len(features.names), out_features, list(architecture.hidden), architecture.activation
    )
    return nn.Sequential(features, *body)


class DigitsCNN(nn.Module):
    """A small CNN for 8×8 digits given as 64 pixels: two 3×3 convolutions with pooling, then a
    linear layer to the 10 classes (1,898 parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8×8 → 4×4
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4×4 → 2×2
        )
        self.classifier = nn.Linear(16 * 2 * 2, 10)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        images = pixels.reshape(-1, 1, 8, 8)
        out: torch.Tensor = self.classifier(self.features(images).flatten(1))
        return out
