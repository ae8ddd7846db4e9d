"""Experiments for bench/throughput.py that no built-in one matches: an MNIST-sized MLP.

    python -m app --experiments bench/throughput_experiments.py

`mlp-784`: 784 → 256 → 256 → 10 ReLU (269,322 parameters), Adam lr 0.001, batch 64, on 4,096
Gaussian inputs labelled by a random linear teacher, as the built-in wide MLP's data but 784
numbers wide: the third model of issue 10's table.
"""

import torch

import stepscope

INPUTS, CLASSES, HIDDEN = 784, 10, [256, 256]


def teacher_data(config: stepscope.ExperimentConfig) -> stepscope.Data:
    generator = torch.Generator().manual_seed(config.seed)
    inputs = torch.randn(config.n_samples, INPUTS, generator=generator)
    teacher = torch.randn(INPUTS, CLASSES, generator=generator) / INPUTS**0.5
    scores = inputs @ teacher + config.noise * torch.randn(
        config.n_samples, CLASSES, generator=generator
    )
    labels = scores.argmax(dim=1)
    held_out = int(config.validation_fraction * config.n_samples)
    return stepscope.Data(
        inputs=inputs[held_out:],
        targets=labels[held_out:],
        validation_inputs=inputs[:held_out],
        validation_targets=labels[:held_out],
    )


MLP_784 = stepscope.Experiment(
    name="mlp-784",
    title="MLP 784-256-256-10 (benchmark)",
    description="An MNIST-sized ReLU MLP on synthetic data, for bench/throughput.py.",
    data=teacher_data,
    model=lambda config: stepscope.mlp(INPUTS, CLASSES, HIDDEN, "relu"),
    task="classes",
    losses=("cross_entropy",),
    settings=frozenset({"seed", "batch_size"}),
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
