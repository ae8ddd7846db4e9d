"""The teaching switches against a hand-written loop: skipping zero_grad, skipping backward, and
accumulating gradients over micro-batches do exactly what the same code written by hand does."""

from __future__ import annotations

import torch
from torch import nn

from app.engine.experiments import ExperimentConfig, Teaching
from app.engine.loop import TrainingLoop
from app.engine.optimizers import SGDConfig
from tests.engine.oracle import Oracle


class HandWritten(Oracle):
    """The seed by hand (tests/engine/oracle.py), with the loop itself left to each test."""

    def __init__(self, config: ExperimentConfig) -> None:
        super().__init__(config, torch.optim.SGD, lr=0.05, momentum=0.9)

    def loss(self) -> torch.Tensor:
        inputs, targets = self.batch()
        return nn.functional.mse_loss(self.model(inputs), targets)


def config(**teaching: object) -> ExperimentConfig:
    return ExperimentConfig(
        optimizer=SGDConfig(lr=0.05, momentum=0.9), teaching=Teaching.model_validate(teaching)
    )


def assert_same(loop: TrainingLoop, oracle: HandWritten) -> None:
    for (name, ours), theirs in zip(loop.parameters(), oracle.model.parameters(), strict=True):
        torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-6, atol=1e-7, msg=name)


def test_without_zero_grad_gradients_accumulate() -> None:
    setup = config(zero_grad=False)
    loop, oracle = TrainingLoop(setup), HandWritten(setup)
    grads = []
    for _ in range(3):
        loop.run_step()
        oracle.loss().backward()  # no zero_grad: .grad keeps adding up
        grads.append(oracle.model.weight.grad.clone())  # type: ignore[union-attr]
        oracle.optimizer.step()
        assert_same(loop, oracle)
    weight = loop.parameters()[0][1]
    assert weight.grad is not None
    torch.testing.assert_close(weight.grad, grads[-1])
    # the gradient kept growing: it is a sum over steps, not the last batch's alone
    assert grads[-1].norm() > grads[0].norm()


def test_without_backward_nothing_moves() -> None:
    loop = TrainingLoop(config(backward=False))
    before = [p.detach().clone() for _, p in loop.parameters()]
    for _ in range(3):
        loop.run_step()
    for (_, p), b in zip(loop.parameters(), before, strict=True):
        assert p.grad is None
        assert torch.equal(p.detach(), b)
    assert loop.step == 3  # step() ran; it had nothing to use


def test_accumulation_over_micro_batches() -> None:
    setup = config(accumulate=4)
    loop, oracle = TrainingLoop(setup), HandWritten(setup)
    for _ in range(5):
        loop.run_step()
        oracle.optimizer.zero_grad(set_to_none=True)
        for _ in range(4):
            (oracle.loss() / 4).backward()
        oracle.optimizer.step()
        assert_same(loop, oracle)
    # 5 steps x 4 micro-batches = 20 batches of 32: two whole epochs of 8 batches, and a third begun
    assert loop.step == 5 and loop.batches.epoch == 2


def test_phases_repeat_forward_loss_backward_per_micro_batch() -> None:
    loop = TrainingLoop(config(accumulate=2))
    phases = [loop.run_phase() for _ in range(8)]
    assert [p.value for p in phases] == [
        "zero_grad",
        "forward",
        "loss",
        "backward",
        "forward",
        "loss",
        "backward",
        "step",
    ]
