"""The unarmed steps' shadow copy: kept while it is cheap, so that a snapshot after any step shows
that step's update; dropped where copying every parameter costs a real share of each step."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import nn

from app.instrument.recorder import SHADOW_CHECK, SHADOW_STRIKES, Recorder
from tests.instrument.decode import entry_of


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread, as in the worker: on two busy cores a second one makes every op wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Trained:
    """A model, SGD and a recorder, stepped by hand: before and after of the latest step kept."""

    def __init__(self, model: nn.Module, inputs: int) -> None:
        torch.manual_seed(0)
        self.model = model
        self.inputs = torch.randn(1, inputs)
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        self.recorder = Recorder(list(model.named_parameters()))
        self.recorder.attach(self.optimizer)
        self.before: dict[str, torch.Tensor] = {}

    def step(self, keep: bool = False) -> None:
        """One step; with `keep`, the parameters before it are kept to check its update."""
        self.optimizer.zero_grad()
        self.model(self.inputs).square().mean().backward()
        if keep:
            self.before = {name: p.detach().clone() for name, p in self.model.named_parameters()}
        self.optimizer.step()

    def shown_update(self, name: str) -> object:
        snapshot = self.recorder.snapshot(self.optimizer)
        return entry_of(snapshot.header, name)["fields"]["update"]


# enough unarmed steps for the copy to be timed SHADOW_STRIKES times after the first timing
STEPS = SHADOW_CHECK * (SHADOW_STRIKES + 2)


def test_a_small_model_keeps_the_copy_and_shows_every_steps_update() -> None:
    run = Trained(nn.Linear(10, 1), 10)
    for i in range(STEPS):
        run.step(keep=i == STEPS - 1)
    assert run.recorder.shadowing
    shown = run.shown_update("weight")
    assert shown is not None  # the unarmed step before this snapshot is recorded
    update = run.recorder.shown_updates[run.model.weight]
    torch.testing.assert_close(update, run.model.weight.detach() - run.before["weight"])


def test_a_large_model_drops_the_copy_and_shows_no_update_rather_than_an_old_one() -> None:
    # 4.2M parameters and a batch of one: the copy is a large share of the step (~a third of
    # it: the SGD step itself reads and writes each parameter once), far over 1%
    run = Trained(nn.Linear(2048, 2048), 2048)
    run.recorder.arm()
    run.step()
    assert run.shown_update("weight") is not None  # an armed step's update is always captured
    for _ in range(STEPS):
        run.step()
    assert not run.recorder.shadowing
    assert run.shown_update("weight") is None  # the latest step was not recorded: not shown
    run.recorder.arm()
    run.step(keep=True)
    assert run.shown_update("weight") is not None
    update = run.recorder.shown_updates[run.model.weight]
    torch.testing.assert_close(update, run.model.weight.detach() - run.before["weight"])
