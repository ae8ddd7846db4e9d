"""The experiments of issue 9: TensorFlow Playground's data sets and networks on real PyTorch, a
sine curve, scikit-learn's 8×8 digits, and a wide MLP of real size.

Each is an `Experiment` like any other (app/engine/experiments.py): data made from the run's seed,
a model built from the config's `architecture`, and the loss the config names. Their defaults were
tuned on a 2-core CPU so that each classification set reaches the validation accuracy its
description promises at full speed (tests/engine/test_accuracy.py holds them to it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from app.engine import datasets
from app.engine.datasets import Points
from app.engine.experiments import Data, Experiment, ExperimentConfig, register
from app.engine.models import Architecture, DigitsCNN, mlp, playground_model

# Everything the page may change on a model-builder experiment.
BUILDER_SETTINGS = frozenset(
    {"seed", "n_samples", "noise", "validation_fraction", "batch_size", "architecture", "loss"}
)


def split(points: Points, config: ExperimentConfig, generator: torch.Generator) -> Data:
    train, validation = datasets.train_validation_split(
        points, config.validation_fraction, generator
    )
    held_out = len(validation.inputs) > 0
    return Data(
        inputs=train.inputs,
        targets=train.targets,
        validation_inputs=validation.inputs if held_out else None,
        validation_targets=validation.targets if held_out else None,
    )


def plane_data(name: str) -> Any:
    make = datasets.CLASSIFICATION_2D[name]

    def data(config: ExperimentConfig) -> Data:
        generator = torch.Generator().manual_seed(config.seed)
        return split(make(config.n_samples, config.noise, generator), config, generator)

    return data


def plane_model(config: ExperimentConfig) -> nn.Module:
    assert config.architecture is not None  # check() requires one
    return playground_model(config.architecture)


def _plane(name: str, title: str, description: str, **defaults: Any) -> Experiment:
    return Experiment(
        name=name,
        title=title,
        description=description,
        data=plane_data(name),
        model=plane_model,
        task="binary",
        losses=("bce", "mse"),
        models=("mlp",),
        features=True,
        settings=BUILDER_SETTINGS,
        defaults={
            "n_samples": 500,
            "noise": 0.0,
            "validation_fraction": 0.3,
            "batch_size": 16,
            "loss": "bce",
            "steps_per_second": None,
            "optimizer": {"name": "adam", "lr": 0.03},
            **defaults,
        },
    )


for _experiment in (
    _plane(
        "circle",
        "Circle (2-D classes)",
        "A disc inside a ring: a straight line cannot separate them; x₁² and x₂² can, or a few"
        " hidden units. Reaches 95% validation accuracy in seconds.",
        architecture=Architecture(hidden=[4], activation="tanh"),
    ),
    _plane(
        "xor",
        "XOR (2-D classes)",
        "Opposite quadrants share a class: the textbook problem one linear layer cannot solve."
        " Reaches 95% validation accuracy in seconds.",
        architecture=Architecture(hidden=[6, 4], activation="tanh"),
    ),
    _plane(
        "gaussians",
        "Two Gaussians (2-D classes)",
        "Two blobs of points: the easiest set, a linear model separates it. Reaches 95%"
        " validation accuracy at once.",
        architecture=Architecture(hidden=[], activation="tanh"),
    ),
    _plane(
        "moons",
        "Two moons (2-D classes)",
        "scikit-learn's two interleaved half circles: a curved boundary. Reaches 95% validation"
        " accuracy in seconds.",
        architecture=Architecture(hidden=[8, 8], activation="tanh"),
        noise=0.1,
    ),
    _plane(
        "spiral",
        "Spiral (2-D classes)",
        "Two interleaved spirals: the network must bend its boundary round and round. Watch the"
        " hidden units untangle it; reaches 95% validation accuracy within a minute.",
        architecture=Architecture(
            hidden=[16, 16, 8], activation="tanh", features=["x1", "x2", "sin x1", "sin x2"]
        ),
    ),
):
    register(_experiment)


def sine_data(config: ExperimentConfig) -> Data:
    generator = torch.Generator().manual_seed(config.seed)
    return split(datasets.sine(config.n_samples, config.noise, generator), config, generator)


def sine_model(config: ExperimentConfig) -> nn.Module:
    assert config.architecture is not None
    return mlp(1, 1, list(config.architecture.hidden), config.architecture.activation)


register(
    Experiment(
        name="sine",
        title="Sine curve (1-D regression)",
        description="y = sin x with noise: a line cannot fit it, a few hidden units bend to it.",
        data=sine_data,
        model=sine_model,
        task="regression",
        losses=("mse",),
        models=("mlp",),
        settings=BUILDER_SETTINGS,
        defaults={
            "n_samples": 300,
            "noise": 0.1,
            "validation_fraction": 0.3,
            "batch_size": 16,
            "loss": "mse",
            "steps_per_second": None,
            "architecture": Architecture(hidden=[16, 16], activation="tanh", features=["x1"]),
            "optimizer": {"name": "adam", "lr": 0.01},
        },
    )
)


def digits_data(config: ExperimentConfig) -> Data:
    generator = torch.Generator().manual_seed(config.seed)
    return split(datasets.digits(), config, generator)


def digits_model(config: ExperimentConfig) -> nn.Module:
    assert config.architecture is not None
    if config.architecture.kind == "cnn":
        return DigitsCNN()
    return mlp(64, 10, list(config.architecture.hidden), config.architecture.activation)


register(
    Experiment(
        name="digits",
        title="Digits: 8×8 images, 10 classes",
        description="scikit-learn's 1,797 handwritten digits (no download): an MLP or a small CNN"
        " learns to read them. Reaches 95% validation accuracy within two minutes.",
        data=digits_data,
        model=digits_model,
        task="classes",
        losses=("cross_entropy",),
        models=("mlp", "cnn"),
        image_shape=(8, 8),
        settings=frozenset({"seed", "validation_fraction", "batch_size", "architecture", "loss"}),
        defaults={
            "n_samples": 1797,
            "noise": 0.0,
            "validation_fraction": 0.2,
            "batch_size": 32,
            "loss": "cross_entropy",
            "steps_per_second": None,
            "architecture": Architecture(hidden=[32], activation="relu", features=["x1"]),
            "optimizer": {"name": "adam", "lr": 0.01},
        },
    )
)

WIDE_INPUTS, WIDE_CLASSES = 1024, 10
WIDE_HIDDEN = [2048, 2048]


def teacher_data(width: int, classes: int) -> Callable[[ExperimentConfig], Data]:
    """Gaussian inputs `width` numbers wide labelled by a hidden random linear teacher (plus
    noise) among `classes`: learnable, and as big as asked, so that every view and the overhead
    budget meet a model of real size (the wide MLP here; an MNIST-sized one in bench/)."""

    def make(config: ExperimentConfig) -> Data:
        generator = torch.Generator().manual_seed(config.seed)
        inputs = torch.randn(config.n_samples, width, generator=generator)
        teacher = torch.randn(width, classes, generator=generator) / width**0.5
        scores = inputs @ teacher + config.noise * torch.randn(
            config.n_samples, classes, generator=generator
        )
        return split(Points(inputs, scores.argmax(dim=1)), config, generator)

    return make


wide_data = teacher_data(WIDE_INPUTS, WIDE_CLASSES)


register(
    Experiment(
        name="wide-mlp",
        title="Wide MLP: 6.3M parameters",
        description="A 1024-2048-2048-10 ReLU network (6,316,042 parameters) on 4,096 synthetic"
        " samples: a model of real size, to see what watching it costs. It memorises its training"
        " set long before it generalises: watch the validation loss part from the training loss.",
        data=wide_data,
        model=lambda config: mlp(WIDE_INPUTS, WIDE_CLASSES, WIDE_HIDDEN, "relu"),
        task="classes",
        losses=("cross_entropy",),
        settings=frozenset({"seed", "n_samples", "noise", "validation_fraction", "batch_size"}),
        defaults={
            "n_samples": 4096,
            "noise": 0.1,
            "validation_fraction": 0.2,
            "batch_size": 64,
            "loss": "cross_entropy",
            "steps_per_second": None,
            "optimizer": {"name": "adam", "lr": 0.001},
        },
    )
)
