"""The watch never waits on the network: with nothing leaving, snapshots are dropped and counted,
scalars are kept (in order, up to a bound, then counted), and training goes on."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

import stepscope.link
import stepscope.watch
from stepscope.frames import Instruments
from stepscope.link import Outbox, Scalars, scalars_messages
from stepscope.optimizer import describe
from stepscope.watch import Watch


class StalledLink:
    """A link whose sender never sends: its outbox only fills."""

    def __init__(self) -> None:
        self.outbox = Outbox()
        self.lost: str | None = None
        self.closed_with: str | None = None

    def close(self, final: str | None) -> None:
        self.closed_with = final


def stalled_watch(steps: int) -> tuple[Watch, StalledLink]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    link = StalledLink()
    instruments = Instruments(list(model.named_parameters()), model, budget=0.5)
    watch = Watch(optimizer, instruments, link, describe(optimizer).config)  # type: ignore[arg-type]
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        watch.log(loss=loss)
    return watch, link


def drained(outbox: Outbox) -> list[object]:
    items = []
    while (item := outbox.take(0.0)) is not None:
        items.append(item)
    return items


def test_a_stalled_link_drops_snapshots_and_keeps_every_scalar_in_order() -> None:
    watch, link = stalled_watch(3000)
    assert watch.step == 3000
    assert watch.dropped_snapshots > 0 and watch.dropped_scalars == 0
    watch.close()
    items = drained(link.outbox)
    steps = [
        message.first_step + i
        for item in items
        if isinstance(item, Scalars)
        for message in scalars_messages(item, 0.0)
        for i in range(len(message.loss))
    ]
    assert steps == list(range(1, 3001))
    assert link.closed_with is not None and '"detach"' in link.closed_with
    assert any(isinstance(item, str) and '"dropped"' in item for item in items)


def test_scalars_beyond_the_bound_are_dropped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stepscope.watch, "SCALARS_MAX", 10)
    monkeypatch.setattr(stepscope.link, "TEXTS_PENDING", 1)
    watch, link = stalled_watch(400)
    assert watch.dropped_scalars > 0
    kept = sum(len(item.rows) for item in drained(link.outbox) if isinstance(item, Scalars))
    assert kept + len(watch._rows) + watch.dropped_scalars == 400


def test_a_server_that_stops_reading_never_holds_the_loop_nor_close() -> None:
    import stepscope
    from tests.attach.fake import FakeServer

    fake = FakeServer()
    try:
        torch.manual_seed(0)
        model = nn.Linear(1000, 1000)  # ~100 kB snapshots: the socket's buffers fill quickly
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        watch = stepscope.attach(model, optimizer, server=fake.url, budget=0.5)
        fake.wait_for(lambda: fake.attach)
        fake.reading.clear()
        x = torch.randn(8, 1000)
        deadline = time.monotonic() + 120
        while watch.dropped_snapshots < 5:  # the sender is stuck in a send: frames are dropped
            assert time.monotonic() < deadline, "no snapshot was ever dropped"
            optimizer.zero_grad()
            loss = model(x).square().mean()
            loss.backward()
            optimizer.step()
            watch.log(loss=loss)
        started = time.monotonic()
        watch.close()
        assert time.monotonic() - started < 3.0
    finally:
        fake.reading.set()
        fake.shutdown()
