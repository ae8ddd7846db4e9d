"""The worker's Session, driven in-process over a real pipe: what each command sends, and when."""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from pydantic import TypeAdapter

from app.contract.worker import (
    Ack,
    Control,
    OptimizerChanged,
    Ready,
    ScalarsBatch,
    SetOptimizer,
    SetPace,
    SetTeaching,
    SnapshotFrame,
    WorkerCommand,
    WorkerMessage,
)
from app.engine.experiments import ExperimentConfig, Teaching
from app.engine.optimizers import AdamConfig, OptimizerConfig, SGDConfig
from app.runs.state import Command
from app.runs.worker import Session
from app.stream.protocol import decode_snapshot
from tests.engine.oracle import Oracle, OracleStep
from tests.instrument.decode import Fields, read_fields

SGD = SGDConfig(lr=0.05, momentum=0.9)
CONFIG = ExperimentConfig(
    seed=4, n_samples=100, batch_size=32, optimizer=SGD, steps_per_second=None
)
Message = WorkerMessage
_optimizer: TypeAdapter[Any] = TypeAdapter(OptimizerConfig)
_messages: TypeAdapter[Any] = TypeAdapter(WorkerMessage)


def as_command(command: str, payload: Any = None) -> WorkerCommand:
    """What the server sends for a command name (and a setting's value)."""
    match command:
        case "optimizer":
            return SetOptimizer(optimizer=_optimizer.validate_python(payload))
        case "steps_per_second":
            return SetPace(steps_per_second=payload)
        case "teaching":
            return SetTeaching(teaching=Teaching.model_validate(payload))
    return Control(command=Command(command))


def sgd_oracle() -> Oracle:
    return Oracle(CONFIG, torch.optim.SGD, lr=0.05, momentum=0.9)


class Harness:
    """A Session whose messages land on the other end of a pipe, read after each command."""

    def __init__(self, config: ExperimentConfig = CONFIG) -> None:
        self.inbox, out = multiprocessing.Pipe()
        self.ends = (self.inbox, out)
        self.session = Session(config, out)

    def do(self, command: str, payload: Any = None) -> list[Message]:
        assert self.session.handle(as_command(command, payload)) is True
        return self.drain()

    def drain(self) -> list[Message]:
        messages = []
        while self.inbox.poll():
            message = self.inbox.recv()
            # built with model_construct on the worker's side: check it is what the contract says
            _messages.validate_python(message.model_dump())
            messages.append(message)
        return messages

    def train(self, steps: int, snapshots: bool) -> list[Message]:
        """Steps as the running loop takes them, with snapshots due each time or never.

        Without snapshots the losses wait for the next command (no flush on the clock), so what
        each command sends does not depend on how fast this machine is.
        """
        for _ in range(steps):
            self.session.governor.next_at = -math.inf if snapshots else math.inf
            if not snapshots:
                self.session.flushed_at = math.inf
            self.session.train_step()
        return self.drain()

    def close(self) -> None:
        for end in self.ends:
            end.close()


@pytest.fixture
def harness() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


@dataclass
class Snap:
    header: dict[str, Any]
    fields: Fields


def snap(message: Message) -> Snap:
    assert isinstance(message, SnapshotFrame)
    header, data = decode_snapshot(message.frame)
    assert header["step"] == message.step
    return Snap(header, read_fields(header, data))


def kinds(messages: list[Message]) -> list[str]:
    return [message.kind for message in messages]


def losses_of(messages: list[Message]) -> dict[int, float]:
    losses = {}
    for message in messages:
        if isinstance(message, ScalarsBatch):
            assert message.t0 <= message.t1
            losses.update({message.first_step + i: loss for i, loss in enumerate(message.loss)})
    return losses


def ack(command: str, step: int, phase: str | None, mid_step: bool) -> Ack:
    return Ack.model_validate(
        {"command": command, "step": step, "phase": phase, "mid_step": mid_step}
    )


def assert_matches(snapshot: Snap, expected: OracleStep) -> None:
    for name, fields in snapshot.fields.items():
        for field, want in (
            ("value", expected.after[name]),
            ("grad", expected.grad[name]),
            ("update", expected.after[name] - expected.before[name]),
        ):
            got = fields[field]
            assert got is not None, f"{name}.{field}"
            torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6, msg=f"{name}.{field}")


def test_step_sends_its_loss_a_snapshot_and_an_ack(harness: Harness) -> None:
    oracle = sgd_oracle()
    for step in (1, 2):
        messages = harness.do("step")
        expected = oracle.step()
        assert kinds(messages) == ["scalars", "health", "snapshot", "ack"]
        scalars = messages[0]
        assert isinstance(scalars, ScalarsBatch) and scalars.first_step == step
        assert scalars.loss == [pytest.approx(expected.loss, rel=1e-6)]
        snapshot = snap(messages[2])
        assert snapshot.header["step"] == step and snapshot.header["phase"] == "step"
        assert snapshot.header["loss"] == pytest.approx(expected.loss, rel=1e-6)
        assert snapshot.header["optimizer"] == SGD.model_dump()
        assert_matches(snapshot, expected)
        momentum = snapshot.fields["weight"]["state.momentum_buffer"]
        assert momentum is not None
        torch.testing.assert_close(momentum, expected.state["weight"]["momentum_buffer"])
        assert messages[3] == ack("step", step, "step", False)


def test_phases_one_at_a_time(harness: Harness) -> None:
    expected = sgd_oracle().step()
    phases, steps = [], []
    for i in range(5):
        messages = harness.do("phase")
        assert kinds(messages) == (["scalars"] if i == 4 else []) + ["health", "snapshot", "ack"]
        snapshot = snap(messages[-2])
        phases.append(snapshot.header["phase"])
        steps.append(snapshot.header["step"])
        status = messages[-1]
        assert isinstance(status, Ack)
        assert status.command == "phase" and status.phase == phases[-1]
        assert status.mid_step is (i < 4)
        weight = snapshot.fields["weight"]
        if phases[-1] == "backward":
            assert weight["grad"] is not None
            torch.testing.assert_close(weight["grad"], expected.grad["weight"])
        if phases[-1] in ("zero_grad", "forward", "loss"):
            assert weight["grad"] is None
        if phases[-1] != "step":
            assert weight["update"] is None  # no step has been taken yet
            torch.testing.assert_close(weight["value"], expected.before["weight"])
    assert phases == ["zero_grad", "forward", "loss", "backward", "step"]
    assert steps == [0, 0, 0, 0, 1]
    assert losses_of(messages) == {1: pytest.approx(expected.loss, rel=1e-6)}
    assert_matches(snap(messages[-2]), expected)


def test_a_step_finishes_the_phases_under_way(harness: Harness) -> None:
    expected = sgd_oracle().step()
    harness.do("phase")
    harness.do("phase")
    messages = harness.do("step")
    assert kinds(messages) == ["scalars", "health", "snapshot", "ack"]
    assert losses_of(messages) == {1: pytest.approx(expected.loss, rel=1e-6)}
    assert_matches(snap(messages[2]), expected)


def test_reset_gives_the_same_run_again(harness: Harness) -> None:
    first = losses_of(harness.train(5, snapshots=False) + harness.do("pause"))
    assert sorted(first) == [1, 2, 3, 4, 5]
    harness.do("phase")  # reset in the middle of a step, too

    messages = harness.do("reset")

    assert messages == [ack("reset", 0, None, False)]
    assert harness.session.loop.step == 0
    again = losses_of(harness.train(5, snapshots=False) + harness.do("pause"))
    assert again == first
    assert list(again.values()) == pytest.approx(sgd_oracle().losses(5), rel=1e-6)


def test_running_steps_batch_their_losses(harness: Harness) -> None:
    messages = harness.train(6, snapshots=False)
    messages += harness.do("pause")
    assert kinds(messages)[-2:] == ["snapshot", "ack"]
    assert "snapshot" not in kinds(messages)[:-2]
    assert list(losses_of(messages)) == [1, 2, 3, 4, 5, 6]
    assert list(losses_of(messages).values()) == pytest.approx(sgd_oracle().losses(6), rel=1e-6)


def test_running_snapshots_match_the_oracle(harness: Harness) -> None:
    oracle = sgd_oracle()
    messages = harness.train(4, snapshots=True)
    snapshots = [snap(m) for m in messages if isinstance(m, SnapshotFrame)]
    assert [s.header["step"] for s in snapshots] == [1, 2, 3, 4]
    for snapshot in snapshots:
        assert_matches(snapshot, oracle.step())
    # every snapshot comes after the scalars of its own step
    seen: set[int] = set()
    for message in messages:
        seen |= set(losses_of([message]))
        if isinstance(message, SnapshotFrame):
            assert message.step in seen


def test_optimizer_change_switches_and_marks_the_step(harness: Harness) -> None:
    oracle = sgd_oracle()
    harness.do("step")
    oracle.step()
    harness.train(2, snapshots=False)  # losses still pending
    oracle.step(), oracle.step()
    old = harness.session.loop.optimizer
    adam = AdamConfig(lr=0.01)

    messages = harness.do("optimizer", adam.model_dump())

    assert kinds(messages) == ["scalars", "optimizer_changed"]  # pending losses first: mark at 3
    assert max(losses_of(messages)) == 3
    assert messages[1] == OptimizerChanged(step=3, optimizer=adam, fresh=True, previous=SGD)
    new = harness.session.loop.optimizer
    assert isinstance(new, torch.optim.Adam) and new is not old
    assert not old._optimizer_step_pre_hooks and len(new._optimizer_step_pre_hooks) == 1
    assert harness.session.config.optimizer == adam

    oracle.optimizer = torch.optim.Adam(oracle.model.parameters(), lr=0.01)
    messages = harness.do("step")
    expected = oracle.step()
    assert losses_of(messages) == {4: pytest.approx(expected.loss, rel=1e-6)}
    snapshot = snap(messages[2])
    assert_matches(snapshot, expected)
    assert snapshot.header["optimizer"] == adam.model_dump()
    assert set(snapshot.fields["weight"]) >= {"state.exp_avg", "state.exp_avg_sq"}

    slower = AdamConfig(lr=0.001)
    messages = harness.do("optimizer", slower.model_dump())
    assert messages == [OptimizerChanged(step=4, optimizer=slower, fresh=False, previous=adam)]
    assert harness.session.loop.optimizer is new
    assert all(group["lr"] == 0.001 for group in new.param_groups)
    assert harness.session.config.optimizer == slower


def test_an_invalid_optimizer_is_refused(harness: Harness) -> None:
    with pytest.raises(ValueError):  # refused when the server builds the command
        as_command("optimizer", {"name": "sgd", "lr": -1.0})


def test_pace_changes_the_config(harness: Harness) -> None:
    assert harness.do("steps_per_second", 50.0) == []
    assert harness.session.config.steps_per_second == 50.0


def test_stop_flushes_and_unhooks(harness: Harness) -> None:
    harness.train(3, snapshots=False)
    optimizer = harness.session.loop.optimizer
    assert harness.session.handle(Control(command=Command.STOP)) is False
    messages = harness.drain()
    assert kinds(messages) == ["scalars", "ack"]
    assert list(losses_of(messages)) == [1, 2, 3]
    last = messages[-1]
    assert isinstance(last, Ack) and last.command == "stop"
    assert not optimizer._optimizer_step_pre_hooks and not optimizer._optimizer_step_post_hooks


def test_a_pause_at_full_speed_shows_the_last_steps_update(harness: Harness) -> None:
    oracle = sgd_oracle()
    harness.do("step")  # armed: its update is captured
    oracle.step()
    harness.train(3, snapshots=False)  # full speed, no snapshot due: not armed
    oracle.step(), oracle.step()
    last = oracle.step()

    snapshot = snap(harness.do("pause")[-2])

    assert snapshot.header["step"] == 4
    for name, fields in snapshot.fields.items():
        update = fields["update"]
        assert update is not None, f"{name}: the step before a pause is always recorded"
        torch.testing.assert_close(update, last.after[name] - last.before[name])
    assert snapshot.header["effect"] == {"phase": "step", "moved": True}


class Posted:
    """Stands in for the shared counter of commands the server has sent."""

    def __init__(self) -> None:
        self.value = 0


def serve(config: ExperimentConfig, script: Any) -> list[Message]:
    """Run Session.serve on this thread; `script(send)` sends commands from another."""
    commands, command_end = multiprocessing.Pipe(duplex=False)
    inbox, out = multiprocessing.Pipe(duplex=False)
    posted = Posted()
    received: list[Message] = []

    def send(command: str, payload: Any = None) -> None:
        command_end.send(as_command(command, payload))
        posted.value += 1

    def read() -> None:
        while True:
            try:
                received.append(inbox.recv())
            except EOFError:
                return

    reader = threading.Thread(target=read)
    reader.start()
    sender = threading.Thread(target=script, args=(send,))
    sender.start()
    try:
        Session(config, out).serve(commands, posted)
    finally:
        sender.join()
        out.close()
        reader.join(timeout=5)
        for end in (commands, command_end, inbox):
            end.close()
    return received


def test_serve_answers_commands_in_order() -> None:
    def script(send: Any) -> None:
        send("step")
        send("phase")
        send("stop")

    messages = serve(CONFIG, script)
    assert messages[0] == Ready(parameters=["weight", "bias"])
    assert kinds(messages[1:]) == [
        "scalars", "health", "snapshot", "ack", "health", "snapshot", "ack", "ack",
    ]  # fmt: skip
    assert [m.command for m in messages if isinstance(m, Ack)] == ["step", "phase", "stop"]
    assert messages[-1] == ack("stop", 1, "zero_grad", True)


def test_serve_trains_while_running_until_stopped() -> None:
    pace = 400.0

    def script(send: Any) -> None:
        send("start")
        time.sleep(0.25)
        send("stop")

    started = time.perf_counter()
    messages = serve(CONFIG.model_copy(update={"steps_per_second": pace}), script)
    elapsed = time.perf_counter() - started

    losses = losses_of(messages)
    steps = len(losses)
    assert list(losses) == list(range(1, steps + 1))  # every step, once, in order
    assert 5 <= steps <= elapsed * pace + 2  # paced
    assert list(losses.values()) == pytest.approx(sgd_oracle().losses(steps), rel=1e-6)
    assert messages[-1] == ack("stop", steps, "step", False)
    snapshots = [snap(m) for m in messages if isinstance(m, SnapshotFrame)]
    assert snapshots  # at least the first step's
    assert snapshots[0].header["step"] == 1
