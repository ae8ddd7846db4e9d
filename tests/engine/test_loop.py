"""The training loop against the hand-written oracle, its phases, resets and optimizer changes."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from pydantic import TypeAdapter, ValidationError

from app.engine.experiments import Batches, ExperimentConfig, make_linear_regression
from app.engine.loop import PHASES, Phase, TrainingLoop
from app.engine.optimizers import AdamConfig, OptimizerConfig, RMSpropConfig, SGDConfig
from tests.engine.oracle import CASES, OptimizerCase, Oracle, oracle_for, shuffled

STEPS = 50
# 100 samples in batches of 32 leave 4 over, so 50 steps cross 16 epoch boundaries.
DATA = {"seed": 3, "n_samples": 100, "batch_size": 32}


def assert_same_parameters(loop: TrainingLoop, oracle: Oracle) -> None:
    ours = dict(loop.parameters())
    theirs = dict(oracle.model.named_parameters())
    assert ours.keys() == theirs.keys()
    for name, param in ours.items():
        torch.testing.assert_close(param, theirs[name], atol=1e-6, rtol=1e-6, msg=name)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_loop_equals_hand_written_loop(case: OptimizerCase) -> None:
    config = ExperimentConfig(optimizer=case.config, **DATA)
    loop = TrainingLoop(config)
    oracle = oracle_for(config, case)
    assert type(loop.optimizer) is case.torch_class
    assert_same_parameters(loop, oracle)  # the same initialisation from the seed

    losses = [loop.run_step().item() for _ in range(STEPS)]
    expected = oracle.losses(STEPS)

    assert loop.step == STEPS
    assert loop.batches.epoch == oracle.epoch > 0
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(expected), atol=1e-6, rtol=1e-6)
    assert_same_parameters(loop, oracle)
    assert losses[-1] < losses[0]  # every case is set up to learn


def test_batches_follow_the_seeded_epoch_order() -> None:
    config = ExperimentConfig(**DATA)
    data = make_linear_regression(config)
    batches = Batches(data, config.batch_size, config.seed)
    per_epoch = config.n_samples // config.batch_size
    for epoch in range(3):
        order = shuffled(config.n_samples, config.seed, epoch)
        for i in range(per_epoch):
            inputs, targets = batches.next()
            index = order[i * config.batch_size : (i + 1) * config.batch_size]
            assert batches.epoch == epoch
            assert torch.equal(inputs, data.inputs[index])
            assert torch.equal(targets, data.targets[index])


def test_batch_larger_than_the_data_set_is_the_whole_set() -> None:
    config = ExperimentConfig(n_samples=8, batch_size=32)
    loop = TrainingLoop(config)
    oracle = Oracle(config, torch.optim.SGD, lr=0.01)  # the seed as written: SGD(lr=0.01)
    losses = [loop.run_step().item() for _ in range(5)]
    assert losses == oracle.losses(5)
    assert loop.inputs is not None and len(loop.inputs) == 8


def test_phases_run_in_order_and_the_step_counts_after_step() -> None:
    loop = TrainingLoop(ExperimentConfig())
    assert [phase.value for phase in PHASES] == ["zero_grad", "forward", "loss", "backward", "step"]
    for step in range(3):
        for phase in PHASES:
            assert loop.step == step
            assert loop.run_phase() is phase
            assert loop.phase is phase
            assert loop.mid_step is (phase is not Phase.STEP)
        assert loop.step == step + 1


def test_what_each_phase_changes() -> None:
    loop = TrainingLoop(ExperimentConfig())
    loop.run_step()  # so that zero_grad has gradients to clear
    params = [p for _, p in loop.parameters()]

    def values() -> list[torch.Tensor]:
        return [p.detach().clone() for p in params]

    for phase in PHASES:
        before = values()
        assert loop.run_phase() is phase
        after = values()
        changed = any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
        assert changed is (phase is Phase.STEP), phase
        if phase is Phase.ZERO_GRAD:
            assert all(p.grad is None for p in params)  # set_to_none
        if phase is Phase.FORWARD:
            assert loop.predictions is not None and loop.predictions.shape == (32, 1)
            assert all(p.grad is None for p in params)
        if phase is Phase.LOSS:
            assert loop.loss is not None and loop.loss.ndim == 0
            assert all(p.grad is None for p in params)
        if phase is Phase.BACKWARD:
            assert all(p.grad is not None and p.grad.shape == p.shape for p in params)
            assert loop.inputs is not None and loop.targets is not None
            # the gradient is that of this batch's mean squared error
            expected = torch.autograd.grad(
                torch.nn.functional.mse_loss(loop.model(loop.inputs), loop.targets), params
            )
            for p, g in zip(params, expected, strict=True):
                torch.testing.assert_close(p.grad, g, atol=1e-6, rtol=1e-6)


def test_run_step_finishes_a_step_under_way() -> None:
    loop = TrainingLoop(ExperimentConfig())
    oracle = Oracle(
        ExperimentConfig(), torch.optim.SGD, lr=0.01
    )  # the seed as written: SGD(lr=0.01)
    loop.run_phase()
    loop.run_phase()
    assert loop.mid_step
    assert loop.run_step().item() == oracle.step().loss
    assert loop.step == 1 and not loop.mid_step
    assert loop.run_step().item() == oracle.step().loss


def test_rebuilding_from_the_same_seed_gives_the_same_run() -> None:
    config = ExperimentConfig(seed=11, optimizer=AdamConfig(lr=0.02))
    first = TrainingLoop(config)
    losses = [first.run_step().item() for _ in range(20)]
    again = TrainingLoop(config)
    assert again.step == 0
    assert [again.run_step().item() for _ in range(20)] == losses
    other = TrainingLoop(config.model_copy(update={"seed": 12}))
    assert [other.run_step().item() for _ in range(20)] != losses


def test_same_optimizer_kind_keeps_its_state() -> None:
    config = ExperimentConfig(optimizer=SGDConfig(lr=0.05, momentum=0.9))
    loop = TrainingLoop(config)
    oracle = Oracle(config, torch.optim.SGD, lr=0.05, momentum=0.9)
    for _ in range(3):
        loop.run_step()
        oracle.step()
    optimizer = loop.optimizer
    weight = dict(loop.parameters())["weight"]
    buffer = optimizer.state[weight]["momentum_buffer"].clone()

    fresh = loop.change_optimizer(SGDConfig(lr=0.01, momentum=0.9))

    assert fresh is False
    assert loop.optimizer is optimizer
    assert loop.optimizer_config == SGDConfig(lr=0.01, momentum=0.9)
    assert all(group["lr"] == 0.01 for group in optimizer.param_groups)
    assert torch.equal(optimizer.state[weight]["momentum_buffer"], buffer)
    # ...and trains on as a script that edits param_groups does
    for group in oracle.optimizer.param_groups:
        group["lr"] = 0.01
    for _ in range(3):
        assert loop.run_step().item() == pytest.approx(oracle.step().loss, rel=1e-6, abs=1e-6)
    assert_same_parameters(loop, oracle)


def test_another_optimizer_kind_starts_fresh() -> None:
    config = ExperimentConfig(optimizer=SGDConfig(lr=0.05, momentum=0.9))
    loop = TrainingLoop(config)
    oracle = Oracle(config, torch.optim.SGD, lr=0.05, momentum=0.9)
    for _ in range(3):
        loop.run_step()
        oracle.step()
    old = loop.optimizer

    fresh = loop.change_optimizer(RMSpropConfig(lr=0.01, momentum=0.5))

    assert fresh is True
    assert loop.optimizer is not old
    assert isinstance(loop.optimizer, torch.optim.RMSprop)
    assert len(loop.optimizer.state) == 0
    oracle.optimizer = torch.optim.RMSprop(oracle.model.parameters(), lr=0.01, momentum=0.5)
    for _ in range(3):
        assert loop.run_step().item() == pytest.approx(oracle.step().loss, rel=1e-6, abs=1e-6)
    assert_same_parameters(loop, oracle)


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "sgd", "lr": 0.0},
        {"name": "sgd", "lr": -0.1},
        {"name": "sgd", "lr": math.nan},
        {"name": "adam", "lr": math.inf},
        {"name": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": True},
        {"name": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
        {"name": "adam", "beta1": 1.0},
        {"name": "lbfgs", "lr": 0.1},
        {"lr": 0.1},
        {"name": "adam", "lr": 0.1, "momentum": 0.9},  # an extra field
    ],
)
def test_invalid_optimizer_configs_are_refused(optimizer: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExperimentConfig.model_validate({"optimizer": optimizer})
    with pytest.raises(ValidationError):
        TypeAdapter(OptimizerConfig).validate_python(optimizer)


@pytest.mark.parametrize(
    "fields",
    [
        {"learning_rate": 0.1},  # an extra field
        {"experiment": "mnist"},
        {"seed": -1},
        {"batch_size": 0},
        {"noise": math.nan},
        {"steps_per_second": 0.0},
    ],
)
def test_invalid_experiment_configs_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ExperimentConfig.model_validate(fields)


def test_configs_are_frozen() -> None:
    config = ExperimentConfig()
    with pytest.raises(ValidationError):
        config.seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (AdamConfig(), AdamConfig(amsgrad=True)),
        (RMSpropConfig(), RMSpropConfig(centered=True)),
        (RMSpropConfig(), RMSpropConfig(momentum=0.5)),
    ],
)
def test_turning_on_state_mid_run_starts_a_fresh_optimizer(before: Any, after: Any) -> None:
    loop = TrainingLoop(ExperimentConfig(optimizer=before))
    for _ in range(3):
        loop.run_step()
    assert loop.change_optimizer(after) is True  # fresh: torch would raise KeyError otherwise
    loop.run_step()
    assert loop.optimizer.param_groups[0]["lr"] == after.lr
