"""What the in-process client tests share: the user's loop (on a thread of the test), and the real
server (tests/support.py) steered and read as the page does it: REST, and the run's websocket."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import stepscope
from app.stream.protocol import decode_snapshot
from stepscope.watch import Watch
from tests.support import Server, call


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
        self.lrs: list[list[float]] = []  # every group's lr as each step() left it
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
            self.lrs.append([group["lr"] for group in self.optimizer.param_groups])
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


def wait(condition: Callable[[], Any], limit: float = 60.0) -> Any:
    """Until `condition()` is truthy (returned), or fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not (found := condition()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)
    return found


def run_of(server: Server, watch: Watch) -> dict[str, Any]:
    """The watch's run as GET /api/runs/{id} has it."""
    assert watch.run_id is not None, "the watch is not attached"
    run: dict[str, Any] = call(server, f"api/runs/{watch.run_id}")
    return run


def refusal(server: Server, path: str, method: str, body: object) -> tuple[int, str]:
    """The status and the sentence of a request the server must refuse."""
    try:
        call(server, path, method, body)
    except urllib.error.HTTPError as error:
        return error.code, str(json.load(error)["detail"])
    raise AssertionError(f"{method} {path} was accepted")


@contextlib.contextmanager
def stalled(server: Server) -> Iterator[None]:
    """The server process stopped (SIGSTOP): it reads nothing, as a hung or unreachable machine;
    it goes on where it was when the block ends. Keep it short: the client's pings give a silent
    server up after ~15 s."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


class RunStream:
    """A run's websocket, /ws/runs/{id}, read as a browser tab reads it: every event (history
    first), and each snapshot's header."""

    def __init__(self, server: Server, run_id: str) -> None:
        self.url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}"
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, Any]] = []
        self._taken = 0  # acknowledgements already returned by acked()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._open.wait(30), "the run's websocket did not open"

    def _read(self) -> None:
        try:
            with connect(self.url, max_size=None, open_timeout=30) as socket:
                self._open.set()
                while not self._stop.is_set():
                    try:
                        message = socket.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    with self._changed:
                        if isinstance(message, bytes):
                            self.headers.append(decode_snapshot(message)[0])
                        else:
                            self.events.append(json.loads(message))
                        self._changed.notify_all()
        except ConnectionClosed:
            pass

    def wait_for(self, condition: Callable[[], Any], limit: float = 60.0) -> Any:
        deadline = time.monotonic() + limit
        with self._changed:
            while not (found := condition()):
                left = deadline - time.monotonic()
                assert left > 0, "the condition never held"
                self._changed.wait(min(left, 0.05))  # (a condition may read the loop's count)
            return found

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            return [event for event in self.events if event["type"] == kind]

    def acked(self, command: str) -> int:
        """The run's step at the next acknowledgement (after those already returned), which must
        be of `command`: the step the loop was left at."""

        def next_ack() -> dict[str, Any] | None:
            acks = [e for e in self.events if e["type"] == "status" and e.get("acknowledged")]
            return acks[self._taken] if len(acks) > self._taken else None

        event = self.wait_for(next_ack)
        self._taken += 1
        assert event["acknowledged"] == command
        return int(event["run"]["step"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@contextlib.contextmanager
def watched(
    server: Server,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    budget: float = 0.05,
) -> Iterator[tuple[Watch, RunStream, Trainer]]:
    """The user's loop training on a thread with a watch attached, and the run's stream read as a
    tab reads it; the loop, the stream and the watch end with the block."""
    watch = stepscope.attach(model, optimizer, server=server.url, budget=budget)
    assert watch.run_id is not None
    stream = RunStream(server, watch.run_id)
    trainer = Trainer(model, optimizer, x, y, watch).start()
    try:
        yield watch, stream, trainer
    finally:
        trainer.finish()
        stream.close()
        watch.close()
