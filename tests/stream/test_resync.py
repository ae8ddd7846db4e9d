"""docs/protocol.md, "Order on connect": a client whose queue overflows is resynchronised from the
history, and still gets every step's loss exactly once, in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

from app.api.stream import _send_frames
from app.contract.events import Scalars
from app.contract.health import Instrumentation
from app.contract.run import AlertSettings, RunInfo
from app.engine.experiments import ExperimentConfig
from app.runs.manager import RunManager
from app.runs.state import RunState
from app.store.history import History
from app.stream.hub import Frame, FrameKind, Hub
from app.stream.protocol import encode_event, encode_snapshot

RUN = "r1"
LIMIT = 8


class Socket:
    """A websocket whose sends block while `open` is clear: a client that stopped reading."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.open = asyncio.Event()
        self.open.set()

    async def send_text(self, text: str) -> None:
        await self.open.wait()
        self.sent.append(json.loads(text))

    async def send_bytes(self, data: bytes) -> None:
        await self.open.wait()
        self.sent.append({"type": "snapshot", "bytes": len(data)})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.sent.append({"type": "close", "code": code})


class Runs:
    def info(self, run_id: str) -> RunInfo:
        return RunInfo(
            id=run_id,
            experiment="seed-linear",
            title="Seed",
            config=ExperimentConfig(),
            state=RunState.RUNNING,
            reason=None,
            step=0,
            loss=None,
            phase=None,
            ready=True,
            alerts=AlertSettings(),
            instrumentation=Instrumentation(),
        )


def publish_step(history: History, hub: Hub, step: int) -> None:
    """What the relay does with a worker's scalars: persist, then publish."""
    loss = 1.0 / step
    history.append_scalars(RUN, step, [loss])
    event = Scalars.model_construct(first_step=step, loss=[loss], t0=0.0, t1=0.0)
    hub.publish(RUN, Frame(FrameKind.SCALARS, encode_event(event), step, step))


async def until(condition: Any, limit: float = 30.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.001)


def test_an_overflowing_client_is_resynced_from_the_history(tmp_path: Path) -> None:
    async def scenario() -> list[dict[str, Any]]:
        history, hub, socket = History(tmp_path / "h.sqlite3"), Hub(LIMIT), Socket()
        history.add_run(RUN, "seed-linear", ExperimentConfig().model_dump(), "running")
        for step in (1, 2, 3):
            publish_step(history, hub, step)
        history.add_event(RUN, 3, "optimizer", {"optimizer": {"name": "sgd"}, "fresh": False})
        history.put_snapshot(RUN, 3, encode_snapshot({"step": 3}, b""))
        subscriber = hub.subscribe(RUN)
        runs = cast(RunManager, Runs())
        sender = asyncio.create_task(_send_frames(socket, RUN, subscriber, runs, history, 10.0))  # type: ignore[arg-type]
        await until(lambda: len(socket.sent) == 4)  # hello, history, mark, snapshot

        socket.open.clear()  # the client stops reading
        publish_step(history, hub, 4)
        await until(lambda: not subscriber.frames)  # the sender holds step 4, blocked
        for step in range(5, 5 + LIMIT + 1):  # one more than the queue holds
            publish_step(history, hub, step)
        assert subscriber.resync and not subscriber.frames
        last = 5 + LIMIT
        socket.open.set()  # reading again
        # the resync is over once its snapshot is sent: a step published before that may be read
        # with the history, and then rightly never comes live
        await until(lambda: sum(m["type"] == "snapshot" for m in socket.sent) == 2)
        publish_step(history, hub, last + 1)
        await until(lambda: socket.sent[-1].get("first_step") == last + 1)
        subscriber.close()
        await sender
        history.close()
        return socket.sent

    sent = asyncio.run(scenario())
    kinds = [m["type"] for m in sent]
    last = 5 + LIMIT
    # first sync, the frame the sender held when the queue overflowed, then the resync: hello,
    # the whole history, the marks and the latest snapshot again, and live frames after it
    sync = ["hello", "scalars", "optimizer", "snapshot"]
    assert kinds == [*sync, "scalars", *sync, "scalars"]
    assert sent[4]["first_step"] == 4
    resent = sent[6]
    assert resent["history"] is True and resent["first_step"] == 1
    assert resent["loss"] == [1.0 / step for step in range(1, last + 1)]
    assert sent[-1]["first_step"] == last + 1 and sent[-1]["history"] is False

    # a client that treats hello as "replace everything" has every step once, in order
    losses: list[float] = []
    for message in sent:
        if message["type"] == "hello":
            losses = []
        if message["type"] == "scalars":
            assert message["first_step"] == len(losses) + 1
            losses += message["loss"]
    assert losses == [1.0 / step for step in range(1, last + 2)]
