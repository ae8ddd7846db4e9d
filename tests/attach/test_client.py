"""The script side of an attached run against a stand-in server (tests/attach/fake.py): what it
sends, in what order, and what the commands do to the user's loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn

import stepscope
from stepscope.watch import Watch
from tests.attach.fake import FakeServer
from tests.support import free_port


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.shutdown()


def make(
    seed: int = 0, optimizer: type[torch.optim.Optimizer] = torch.optim.Adam
) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    return model, optimizer(model.parameters(), lr=0.01), x, y


class Trainer:
    """The user's plain loop, on a thread: step() then log(), counting its own steps."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        watch: Watch | None,
        steps: int | None = None,
    ) -> None:
        self.model, self.optimizer, self.x, self.y, self.watch = model, optimizer, x, y, watch
        self.steps = steps
        self.count = 0
        self.losses: list[float] = []
        self.lrs: list[float] = []  # param_groups[0]["lr"] as each step() left it
        self.halt = threading.Event()
        self.poison = threading.Event()  # set: the data turn bad (a NaN) from the next step on
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.halt.is_set() and (self.steps is None or self.count < self.steps):
            if self.poison.is_set() and not bool(self.x.isnan().any()):
                self.x = self.x.clone()  # (not in place: a backward may need the old one)
                self.x[0, 0] = float("nan")
            self.optimizer.zero_grad()
            loss = nn.functional.mse_loss(self.model(self.x), self.y)
            loss.backward()
            self.optimizer.step()
            self.count += 1
            self.losses.append(loss.item())
            self.lrs.append(self.optimizer.param_groups[0]["lr"])
            if self.watch is not None:
                self.watch.log(loss=loss, double=2 * self.count)

    def start(self) -> Trainer:
        self.thread.start()
        return self

    def finish(self) -> None:
        self.halt.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    watch: Watch | None = None,
) -> Trainer:
    trainer = Trainer(model, optimizer, x, y, watch, steps)
    trainer.run()
    return trainer


def losses_received(fake: FakeServer) -> tuple[int, list[float]]:
    batches = fake.of_kind("scalars")
    first = batches[0].first_step
    values: list[float] = []
    for batch in batches:
        assert batch.first_step == first + len(values), "a gap or a repeat between batches"
        values += batch.loss
    return first, values


def nonfinite(fake: FakeServer) -> list[Any]:
    return [m for m in fake.of_kind("alerted") if m.alert.kind == "nonfinite"]


def test_attach_describes_the_script_and_every_loss_arrives_once_in_order(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, name="unit", server=fake.url)
    trainer = train(model, optimizer, x, y, 500, watch)
    watch.close()
    attach = fake.attach
    assert attach is not None
    assert attach.process.name == "unit"
    assert attach.parameters == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert attach.optimizer.torch_class == "torch.optim.adam.Adam"
    assert attach.optimizer.ledger
    assert attach.optimizer.config is not None and attach.optimizer.config.lr == 0.01
    fake.wait_for(lambda: fake.of_kind("detach"))
    first, losses = losses_received(fake)
    assert first == 1
    assert losses == pytest.approx(trainer.losses, rel=0, abs=0)  # float32 → float64, exact
    logged = fake.of_kind("logged")
    doubled: list[float | None] = []
    for message in logged:
        assert message.first_step == 1 + len(doubled)
        doubled += message.values["double"]
    assert doubled == [2.0 * step for step in range(1, 501)]
    assert fake.received[-1].kind == "detach"  # the last message: nothing after the detach
    snapshots = fake.snapshots()
    assert snapshots, "a running loop sends snapshots"
    header = snapshots[0][0]
    assert header["phase"] == "step" and header["effect"]["phase"] == "step"
    assert [t["name"] for t in header["tensors"]] == attach.parameters
    # health points go with some snapshots, and the ReLU between the layers is watched for them
    points = [m.point for m in fake.of_kind("health")]
    assert points and all(0 < p.step <= 500 for p in points)
    assert any(unit.layer == "1" and unit.units == 8 for p in points for unit in p.units)


def test_no_command_leaves_the_parameters_bit_for_bit_those_of_an_unattached_run(
    fake: FakeServer,
) -> None:
    model, optimizer, x, y = make(seed=3)
    watch = stepscope.attach(model, optimizer, server=fake.url, budget=0.5)
    train(model, optimizer, x, y, 300, watch)
    watch.close()
    bare, bare_optimizer, bx, by = make(seed=3)
    train(bare, bare_optimizer, bx, by, 300)
    assert len(fake.snapshots()) > 1
    for (name, a), (_, b) in zip(
        model.state_dict().items(), bare.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_pause_holds_at_the_next_step_and_step_lets_exactly_one_through(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, server=fake.url)
    trainer = Trainer(model, optimizer, x, y, watch).start()
    fake.wait_for(lambda: fake.of_kind("scalars"))
    fake.send({"kind": "control", "command": "pause"})
    paused = fake.wait_for(lambda: fake.of_kind("ack"))[0]
    assert (paused.command, paused.phase, paused.mid_step) == ("pause", "backward", True)
    # held inside the next step(): the user's loop has counted exactly the acked steps
    assert trainer.count == paused.step
    held = fake.snapshots()[-1][0]
    assert (held["step"], held["phase"], held["effect"]["phase"]) == (
        paused.step,
        "backward",
        "backward",
    )
    assert held["tensors"][0]["fields"]["grad"] is not None
    fake.send({"kind": "control", "command": "step"})
    stepped = fake.wait_for(lambda: len(fake.of_kind("ack")) == 2 and fake.of_kind("ack"))[1]
    assert (stepped.command, stepped.step) == ("step", paused.step + 1)
    assert trainer.count == paused.step + 1
    header = fake.snapshots()[-1][0]
    assert header["step"] == paused.step + 1
    bias = header["tensors"][3]  # one element: its rule is written out, and the update is fresh
    assert bias["ledger"] and bias["fields"]["update"] is not None
    assert bias["fields"]["predicted"] is not None
    fake.send({"kind": "control", "command": "start"})
    fake.wait_for(lambda: len(fake.of_kind("ack")) == 3)
    fake.wait_for(lambda: trainer.count > paused.step + 3 or None)
    fake.send({"kind": "control", "command": "stop"})
    stopped = fake.wait_for(lambda: len(fake.of_kind("ack")) == 4 and fake.of_kind("ack"))[3]
    assert stopped.command == "stop"
    # the loop runs on, unobserved: its hooks are gone after the next log()
    fake.wait_for(lambda: trainer.count > stopped.step + 2 or None)
    assert not optimizer._optimizer_step_pre_hooks and not optimizer._optimizer_step_post_hooks
    trainer.finish()
    losses = losses_received(fake)[1]
    assert losses == trainer.losses[: len(losses)]
    assert len(losses) >= stopped.step


def test_an_lr_change_is_in_param_groups_before_the_next_step(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    optimizer.add_param_group({"params": [nn.Parameter(torch.zeros(2))], "lr": 0.5})
    watch = stepscope.attach(model, optimizer, server=fake.url)
    assert fake.wait_for(lambda: fake.attach).optimizer.groups == 2
    trainer = Trainer(model, optimizer, x, y, watch).start()
    fake.wait_for(lambda: fake.of_kind("scalars"))
    config = {
        "name": "adam",
        "lr": 0.001,
        "beta1": 0.8,
        "beta2": 0.99,
        "eps": 1e-6,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    fake.send({"kind": "optimizer", "optimizer": config})
    changed = fake.wait_for(lambda: fake.of_kind("optimizer_changed"))[0]
    assert changed.previous.lr == 0.01 and changed.optimizer.lr == 0.001 and not changed.fresh
    fake.wait_for(lambda: trainer.count > changed.step + 1 or None)
    trainer.finish()
    watch.close()
    # step changed.step + 1 was the first to run with the new lr, and every group has it
    assert trainer.lrs[changed.step - 1] == 0.01
    assert trainer.lrs[changed.step] == 0.001
    for group in optimizer.param_groups:
        assert (group["lr"], group["betas"], group["eps"]) == (0.001, (0.8, 0.99), 1e-6)


def test_a_paused_loop_whose_server_goes_resumes_and_says_so(
    fake: FakeServer, capfd: pytest.CaptureFixture[str]
) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, server=fake.url)
    trainer = Trainer(model, optimizer, x, y, watch).start()
    fake.send({"kind": "control", "command": "pause"})
    paused = fake.wait_for(lambda: fake.of_kind("ack"))[0]
    fake.close_connection()
    fake.wait_for(lambda: trainer.count > paused.step + 5 or None)
    trainer.finish()
    watch.close()
    err = capfd.readouterr().err
    assert "stepscope: lost the server" in err and "training goes on unobserved" in err
    assert f"the paused loop resumes at step {paused.step}" in err


def test_no_server_trains_unobserved(capfd: pytest.CaptureFixture[str]) -> None:
    model, optimizer, x, y = make(seed=5)
    watch = stepscope.attach(
        model, optimizer, server=f"http://127.0.0.1:{free_port()}", start_server=False
    )
    train(model, optimizer, x, y, 50, watch)
    watch.close()
    assert not optimizer._optimizer_step_pre_hooks
    assert "training goes on unobserved" in capfd.readouterr().err
    bare, bare_optimizer, bx, by = make(seed=5)
    train(bare, bare_optimizer, bx, by, 50)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), bare.parameters(), strict=True)
    )


def test_attach_inside_a_running_asyncio_loop(fake: FakeServer) -> None:
    model, optimizer, x, y = make()

    async def main() -> Trainer:
        with stepscope.attach(model, optimizer, server=fake.url) as watch:
            return train(model, optimizer, x, y, 100, watch)

    trainer = asyncio.run(main())
    fake.wait_for(lambda: fake.of_kind("detach"))
    assert losses_received(fake)[1] == trainer.losses


def test_a_subclass_of_adam_is_watched_without_a_ledger(fake: FakeServer) -> None:
    class Mine(torch.optim.Adam):
        pass

    model, optimizer, x, y = make(seed=7, optimizer=Mine)
    watch = stepscope.attach(model, optimizer, server=fake.url)
    train(model, optimizer, x, y, 100, watch)
    watch.close()
    attach = fake.attach
    assert attach is not None
    assert attach.optimizer.torch_class.endswith("Mine") and not attach.optimizer.ledger
    assert attach.optimizer.config is not None and attach.optimizer.config.name == "adam"
    bare, bare_optimizer, bx, by = make(seed=7)
    train(bare, bare_optimizer, bx, by, 100)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), bare.parameters(), strict=True)
    )


def test_the_token_goes_in_the_authorization_header(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, optimizer, _, _ = make()
    token = "a-token-of-the-server-0123456789"
    stepscope.attach(model, optimizer, server=f"{fake.url}?token={token}").close()  # as printed
    assert fake.headers is not None and fake.headers["Authorization"] == f"Bearer {token}"
    monkeypatch.setenv("STEPSCOPE_TOKEN", "another-token-0123456789")
    stepscope.attach(model, optimizer, server=fake.url).close()
    assert fake.headers["Authorization"] == "Bearer another-token-0123456789"


def test_a_nan_pauses_the_loop_at_the_first_snapshot_that_shows_it(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, server=fake.url, budget=0.5)
    trainer = Trainer(model, optimizer, x, y, watch).start()
    fake.wait_for(lambda: trainer.count > 20 or None)
    trainer.poison.set()  # the user's data turn bad: NaN gradients, then parameters
    alerted = fake.wait_for(lambda: nonfinite(fake))[0]  # (health alerts may come too)
    alert = alerted.alert
    assert (alert.kind, alert.paused, alert.phase) == ("nonfinite", True, "backward")
    assert alert.tensor == "0.weight.grad"  # the first layer's gradient, where it began
    # held in the step() after the snapshot that showed it; its hold snapshot follows
    fake.wait_for(lambda: fake.snapshots()[-1][0]["phase"] == "backward")
    assert trainer.count == alerted.at_step
    fake.send({"kind": "control", "command": "start"})
    assert fake.wait_for(lambda: fake.of_kind("ack"))[0].command == "start"
    fake.wait_for(lambda: trainer.count > alerted.at_step + 50 or None)
    trainer.finish()
    watch.close()
    assert len(nonfinite(fake)) == 1  # still NaN: no new alert until finite again


def test_with_the_nan_alert_off_the_loop_runs_on(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, server=fake.url, budget=0.5)
    trainer = Trainer(model, optimizer, x, y, watch).start()
    fake.send({"kind": "alerts", "alerts": {"nonfinite": False}})
    fake.send({"kind": "control", "command": "pause"})  # acked after the setting, which is in force
    fake.wait_for(lambda: fake.of_kind("ack"))
    trainer.poison.set()
    fake.send({"kind": "control", "command": "start"})
    fake.wait_for(lambda: len(fake.of_kind("ack")) == 2)
    seen = len(fake.snapshots())
    fake.wait_for(lambda: len(fake.snapshots()) > seen + 5 or None)
    trainer.finish()
    watch.close()
    assert not nonfinite(fake)
    assert fake.snapshots()[-1][0]["tensors"][0]["fields"]["value"]["stats"]["nan"] > 0


def test_an_edit_that_needs_state_torch_never_made_is_not_written(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    watch = stepscope.attach(model, optimizer, server=fake.url)
    trainer = Trainer(model, optimizer, x, y, watch).start()
    fake.wait_for(lambda: trainer.count > 5 or None)
    amsgrad = {"name": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    fake.send({"kind": "optimizer", "optimizer": {**amsgrad, "weight_decay": 0.0, "amsgrad": True}})
    fake.send({"kind": "control", "command": "pause"})  # acked after the edit was looked at
    paused = fake.wait_for(lambda: fake.of_kind("ack"))[0]
    fake.send({"kind": "control", "command": "start"})
    fake.wait_for(lambda: trainer.count > paused.step + 5 or None)  # step() did not raise
    trainer.finish()
    watch.close()
    assert not fake.of_kind("optimizer_changed")
    assert optimizer.param_groups[0]["amsgrad"] is False


def test_attaching_the_same_optimizer_again_closes_the_earlier_watch(fake: FakeServer) -> None:
    model, optimizer, x, y = make()
    first = stepscope.attach(model, optimizer, server=fake.url)
    hooks = len(optimizer._optimizer_step_pre_hooks), len(optimizer._optimizer_step_post_hooks)
    second = stepscope.attach(model, optimizer, server=fake.url)  # a notebook cell run again
    assert first._closed and not second._closed
    assert (
        len(optimizer._optimizer_step_pre_hooks),
        len(optimizer._optimizer_step_post_hooks),
    ) == hooks
    trainer = train(model, optimizer, x, y, 20, second)
    second.close()
    assert losses_received(fake) == (1, trainer.losses)  # each step once: one watch counts them
