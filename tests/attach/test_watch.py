"""The watch never waits on the network. A real server that stops reading (its process stopped,
tests/attach/live.py `stalled`) costs snapshots, dropped and counted; scalars are kept, in order,
up to a bound, then dropped and counted; and neither the loop nor close() waits for it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import torch
from torch import nn

import stepscope
import stepscope.link
import stepscope.watch
from stepscope.watch import Watch
from tests.attach.live import run_of, stalled, wait
from tests.support import Server, call

pytestmark = pytest.mark.slow


class Wide:
    """A loop whose snapshots are large (four 1000×1000 layers, ~340 kB a frame): a stalled
    socket's buffers (~7 MB on loopback) fill in a few seconds."""

    def __init__(self, server: Server) -> None:
        torch.manual_seed(0)
        self.model = nn.Sequential(*[nn.Linear(1000, 1000) for _ in range(4)])
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.x = torch.randn(8, 1000)
        self.losses: list[float] = []
        self.watch: Watch = stepscope.attach(
            self.model, self.optimizer, server=server.url, budget=0.5
        )
        assert self.watch.run_id is not None

    def step(self) -> None:
        self.optimizer.zero_grad()
        loss = self.model(self.x).square().mean()
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())
        self.watch.log(loss=loss)

    def until(self, condition: Callable[[], bool], limit: float = 8.0) -> None:
        """Steps until `condition()`: within `limit` s, shorter than the ~15 s after which the
        client gives a silent server up."""
        deadline = time.monotonic() + limit
        while not condition():
            assert time.monotonic() < deadline, "the condition never held"
            self.step()

    def delivered(self, server: Server) -> None:
        """Steps on until the server has every step taken while it was stalled (the link has
        caught up), then close: the server then has every step."""
        stalled_until = self.watch.step
        checked = time.monotonic()
        deadline = checked + 60
        while True:
            assert time.monotonic() < deadline, "the server never caught up"
            self.step()
            if time.monotonic() - checked > 0.1:
                if run_of(server, self.watch)["step"] >= stalled_until:
                    break
                checked = time.monotonic()
        self.watch.close()
        run = wait(lambda: (run := run_of(server, self.watch))["state"] == "stopped" and run)
        assert run["step"] == self.watch.step


def test_a_stalled_server_costs_snapshots_and_never_a_loss(live_server: Server) -> None:
    loop = Wide(live_server)
    try:
        with stalled(live_server):
            loop.until(lambda: loop.watch.dropped_snapshots >= 5)
        loop.delivered(live_server)
    finally:
        loop.watch.close()
    assert loop.watch.dropped_scalars == 0
    exported = call(live_server, f"api/runs/{loop.watch.run_id}/scalars")
    assert exported["loss"] == loop.losses  # every step's, in order, float32 → float64 exactly
    attached = exported["run"]["attached"]
    assert attached["dropped_snapshots"] == loop.watch.dropped_snapshots  # the page is told
    assert attached["dropped_scalars"] == 0


def test_scalars_beyond_the_bound_are_dropped_counted_and_the_server_told(
    live_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stepscope.watch, "SCALARS_MAX", 10)  # steps kept in the watch
    monkeypatch.setattr(stepscope.link, "TEXTS_PENDING", 1)  # batches waiting in the outbox
    loop = Wide(live_server)
    try:
        with stalled(live_server):
            loop.until(lambda: loop.watch.dropped_scalars >= 20)
        loop.delivered(live_server)
    finally:
        loop.watch.close()
    dropped = loop.watch.dropped_scalars
    exported = call(live_server, f"api/runs/{loop.watch.run_id}/scalars")
    assert exported["run"]["attached"]["dropped_scalars"] == dropped
    kept = [(step, loss) for step, loss in enumerate(exported["loss"], 1) if loss is not None]
    assert len(kept) + dropped == len(loop.losses)
    assert all(loss == loop.losses[step - 1] for step, loss in kept)  # each at its own step


def test_a_server_that_stops_reading_never_holds_the_loop_nor_close(live_server: Server) -> None:
    loop = Wide(live_server)
    with stalled(live_server):
        loop.until(lambda: loop.watch.dropped_snapshots >= 5)
        started = time.monotonic()
        loop.watch.close()
        assert time.monotonic() - started < 3.0
    # the server, reading again, ends the run: whatever it got, the connection has closed
    run = wait(lambda: (run := run_of(live_server, loop.watch))["state"] == "stopped" and run)
    assert run["step"] <= loop.watch.step
