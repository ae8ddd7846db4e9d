"""A worked example of your own experiment: a ripple, z = sin(x₁)·cos(x₂), fitted by a small MLP.

Run it with:

    stepscope --experiments examples/ripple.py

and choose "Ripple (your own experiment)" in the page's Experiment menu. Every view works on it:
the phases, the parameters, the update ledger, and, because its inputs are points of a plane, the
regression output over the plane with each hidden unit's map. docs/experiments.md describes the API.
"""

import torch
from torch import nn

import stepscope


def make_data(config: stepscope.ExperimentConfig) -> stepscope.Data:
    """Samples from the run's seed, so the same config always gives the same data."""
    generator = torch.Generator().manual_seed(config.seed)
    points = 6 * torch.rand(config.n_samples, 2, generator=generator) - 3  # the square [-3, 3]²
    heights = torch.sin(points[:, 0]) * torch.cos(points[:, 1])
    heights += config.noise * torch.randn(config.n_samples, generator=generator)
    held_out = int(config.validation_fraction * config.n_samples)
    return stepscope.Data(
        inputs=points[held_out:],
        targets=heights[held_out:, None],
        validation_inputs=points[:held_out],
        validation_targets=heights[:held_out, None],
    )


def make_model(config: stepscope.ExperimentConfig) -> nn.Module:
    # torch.manual_seed(config.seed) has been called: the initial weights are the seed's
    return nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    )


RIPPLE = stepscope.Experiment(
    name="ripple",
    title="Ripple (your own experiment)",
    description="z = sin x₁ · cos x₂ over the square [−3, 3]², fitted by a 2-16-16-1 Tanh MLP"
    " with MSELoss: an example of an experiment file (examples/ripple.py).",
    data=make_data,
    model=make_model,
    loss=lambda config: nn.MSELoss(),
    task="regression",
    # what the page may change (each change starts a new run); the rest keep these defaults
    settings=frozenset({"seed", "n_samples", "noise", "validation_fraction", "batch_size"}),
    defaults={
        "n_samples": 600,
        "noise": 0.05,
        "validation_fraction": 0.25,
        "batch_size": 32,
        "steps_per_second": None,  # full speed
        "optimizer": {"name": "adam", "lr": 0.01},
    },
)
