"""Issue 9's experiments in the engine: each builds and trains with its own defaults, a config it
cannot run is refused with a sentence, and the same config is the same run."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from pydantic import ValidationError

from app.engine.experiments import EXPERIMENTS, ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.models import Architecture

BUILT_IN = [
    "seed-linear",
    "surface-2d",
    "circle",
    "xor",
    "gaussians",
    "moons",
    "spiral",
    "sine",
    "digits",
    "wide-mlp",
]
PICTURED = BUILT_IN[2:]  # the classic two have their own panels


def test_the_built_in_experiments_in_menu_order() -> None:
    built_in = [name for name, e in EXPERIMENTS.items() if e.source == "built-in"]
    assert built_in == BUILT_IN
    assert [name for name in BUILT_IN if EXPERIMENTS[name].pictured] == PICTURED


def outputs_fit_the_task(loop: TrainingLoop) -> None:
    """The model's outputs are what its loss and its task expect."""
    predictions = loop.model(loop.data.inputs[:5])
    task = loop.experiment.task
    if task == "classes":
        assert loop.data.targets.dtype == torch.int64 and loop.data.targets.dim() == 1
        assert predictions.shape == (5, int(loop.data.targets.max()) + 1)
    else:
        assert predictions.shape == (5, 1) == loop.data.targets[:5].shape
    if task == "binary":
        assert set(loop.data.targets.reshape(-1).tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_experiment_trains_a_few_steps_with_its_defaults(name: str) -> None:
    config = ExperimentConfig(experiment=name)
    loop = TrainingLoop(config)
    outputs_fit_the_task(loop)
    before = [p.detach().clone() for p in loop.model.parameters()]
    losses = [float(loop.run_step()) for _ in range(3)]
    assert loop.step == 3
    assert all(math.isfinite(loss) for loss in losses), losses
    moved = [not torch.equal(b, p) for b, p in zip(before, loop.model.parameters(), strict=True)]
    assert all(moved), f"{name}: a parameter did not move"
    # the batch is the experiment's batch size (every data set here is larger than one batch)
    assert loop.inputs is not None and len(loop.inputs) == config.batch_size


@pytest.mark.parametrize("name", BUILT_IN)
def test_an_experiment_name_alone_takes_that_experiments_defaults(name: str) -> None:
    experiment = EXPERIMENTS[name]
    config = ExperimentConfig.model_validate({"experiment": name})
    for field, default in experiment.defaults.items():
        got = getattr(config, field)
        if field == "optimizer":
            assert got.model_dump() == {**got.model_dump(), **default}, field
        else:
            assert got == default, field
    # and a request may still override what the experiment allows
    if "seed" in experiment.settings:
        assert ExperimentConfig.model_validate({"experiment": name, "seed": 7}).seed == 7


def test_defaults_differ_by_experiment() -> None:
    spiral = ExperimentConfig(experiment="spiral")
    assert spiral.steps_per_second is None and spiral.loss == "bce"
    assert spiral.optimizer.model_dump()["name"] == "adam"
    assert spiral.architecture == Architecture(
        hidden=[16, 16, 8], activation="tanh", features=["x1", "x2", "sin x1", "sin x2"]
    )
    digits = ExperimentConfig(experiment="digits")
    assert digits.loss == "cross_entropy" and digits.n_samples == 1797 and digits.noise == 0.0
    seed = ExperimentConfig()  # the classic seed keeps what it always had
    assert seed.experiment == "seed-linear" and seed.steps_per_second == 100.0
    assert seed.optimizer.model_dump()["name"] == "sgd" and seed.architecture is None


@pytest.mark.parametrize(
    ("config", "sentence"),
    [
        (
            {"experiment": "digits", "noise": 0.5},
            "the experiment digits does not let the page change noise",
        ),
        ({"experiment": "digits", "n_samples": 100}, "does not let the page change n_samples"),
        (
            {"experiment": "circle", "architecture": {"kind": "cnn"}},
            "the experiment circle builds a mlp, not a cnn",
        ),
        ({"experiment": "sine", "loss": "bce"}, "the experiment sine takes the losses mse"),
        ({"experiment": "spiral", "loss": "cross_entropy"}, "takes the losses bce, mse"),
        (
            {"experiment": "wide-mlp", "architecture": {"hidden": [4]}},
            "the experiment wide-mlp does not let the page change architecture",
        ),
        (
            {"experiment": "wide-mlp", "loss": "mse"},
            "the experiment wide-mlp does not let the page change loss",
        ),
        (
            {"experiment": "seed-linear", "loss": "mse"},
            "the experiment seed-linear does not let the page change loss",
        ),
        (
            {"experiment": "seed-linear", "validation_fraction": 0.2},
            "the experiment seed-linear does not let the page change validation_fraction",
        ),
        (
            {"experiment": "spiral", "architecture": None},
            "the experiment spiral needs an architecture",
        ),
        ({"experiment": "nope"}, "no experiment is named 'nope'; the experiments are: seed-linear"),
    ],
)
def test_a_config_the_experiment_cannot_run_is_refused_with_a_sentence(
    config: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        ExperimentConfig.model_validate(config)
    assert sentence in str(refused.value)


def test_a_setting_left_at_the_experiments_own_default_is_not_a_change() -> None:
    # digits' own noise is 0: saying so is allowed, as is the surface's race
    assert ExperimentConfig(experiment="digits", noise=0.0).noise == 0.0
    raced = ExperimentConfig.model_validate(
        {"experiment": "surface-2d", "race": [{"name": "adam", "lr": 0.05}]}
    )
    assert len(raced.race) == 1


def run_losses(config: ExperimentConfig, steps: int) -> list[torch.Tensor]:
    loop = TrainingLoop(config)
    return [loop.run_step() for _ in range(steps)]


@pytest.mark.parametrize("name", PICTURED)
def test_the_same_config_gives_the_same_losses_twice(name: str) -> None:
    config = ExperimentConfig(experiment=name, seed=3)
    steps = 2 if name == "wide-mlp" else 5
    first, second = run_losses(config, steps), run_losses(config, steps)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True)), (first, second)


@pytest.mark.parametrize("name", PICTURED)
def test_another_seed_gives_other_data(name: str) -> None:
    one = EXPERIMENTS[name].data(ExperimentConfig(experiment=name, seed=1))
    two = EXPERIMENTS[name].data(ExperimentConfig(experiment=name, seed=2))
    assert one.inputs.shape == two.inputs.shape
    assert not torch.equal(one.inputs, two.inputs)
    again = EXPERIMENTS[name].data(ExperimentConfig(experiment=name, seed=1))
    assert torch.equal(one.inputs, again.inputs) and torch.equal(one.targets, again.targets)


@pytest.mark.parametrize("name", PICTURED)
def test_validation_samples_are_held_out_by_the_fraction(name: str) -> None:
    config = ExperimentConfig(experiment=name)
    data = EXPERIMENTS[name].data(config)
    assert data.validation_inputs is not None and data.validation_targets is not None
    held_out = len(data.validation_inputs)
    assert held_out == round(config.validation_fraction * config.n_samples)
    assert len(data.inputs) + held_out == config.n_samples
    assert len(data.validation_targets) == held_out

    # no sample is in both: a row shared by the splits must be a row the set holds twice (the
    # digits have a few identical images, and both spirals start at the origin)
    def distinct(rows: torch.Tensor) -> int:
        return len(torch.unique(rows, dim=0))

    everything = torch.cat([data.inputs, data.validation_inputs])
    shared = distinct(data.inputs) + distinct(data.validation_inputs) - distinct(everything)
    assert shared <= len(everything) - distinct(everything)


def test_no_validation_fraction_holds_out_nothing() -> None:
    data = EXPERIMENTS["circle"].data(ExperimentConfig(experiment="circle", validation_fraction=0))
    assert data.validation_inputs is None and data.validation_targets is None
    assert len(data.inputs) == 500
