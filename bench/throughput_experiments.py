"""Experiments for bench/throughput.py that no built-in one matches: an MNIST-sized MLP.

    python -m app --experiments bench/throughput_experiments.py

`mlp-784`: 784 → 256 → 256 → 10 ReLU (269,322 parameters), Adam lr 0.001, batch 64, on 4,096
Gaussian inputs labelled by a random linear teacher: the built-in wide MLP's data
(app.engine.playground.teacher_data), 784 numbers wide. The third model of issue 10's table.
"""

import stepscope
from app.engine.playground import teacher_data

INPUTS, CLASSES, HIDDEN = 784, 10, [256, 256]


MLP_784 = stepscope.Experiment(
    name="mlp-784",
    title="MLP 784-256-256-10 (benchmark)",
    description="An MNIST-sized ReLU MLP on synthetic data, for bench/throughput.py.",
    data=teacher_data(INPUTS, CLASSES),
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
