"""An attached script's run, seen from the server: the script is the run's worker, its websocket
the pipe (docs/protocol.md, "/ws/attach").

What the script sends goes through the run's `Intake`: a thread checks each message
(app/runs/script_input.py) and persists it, then the event loop applies it, exactly as a worker's
(Relay.deliver), so SQLite and pydantic never run on the event loop and a run's messages keep
their order. What the page asks of the run goes out through its `ScriptLink`, a queue the
websocket's sender task drains. Both belong to one run: a connection speaks and is steered for
the run its Attach made, and no other.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from app.contract.attach import Refused
from app.contract.worker import WorkerCommand
from app.runs.relay import Relay
from app.runs.run import Run
from app.runs.script_input import Malformed, ScriptInput
from app.stream.protocol import to_json

# Messages received and not yet kept. Past it the websocket is not read, so TCP slows the script's
# sender thread (which then drops snapshots, counted), never its training loop.
INTAKE_LIMIT = 64
CLOSE_REASON_BYTES = 123  # a websocket close frame's reason is at most 123 bytes of UTF-8
POLICY_VIOLATION = 1008
# The code uvicorn closes every websocket with as the server stops ("service restart"), before
# the lifespan's shutdown (RunManager.stop_all) runs.
SERVER_STOPPING = 1012


@dataclass(frozen=True)
class Ended:
    """The end of a connection's messages, and the code it closed with."""

    code: int | None


@dataclass(frozen=True)
class Closing:
    """The end of the connection, after everything queued before it was sent."""

    code: int
    reason: str


class ScriptLink:
    """The way to an attached script (the Script of app/runs/run.py): everything is queued, in
    order, for the websocket's sender task; nothing is queued after the close."""

    def __init__(self) -> None:
        self._outbox: asyncio.Queue[str | Closing] = asyncio.Queue()
        self.closing: Closing | None = None

    def send(self, message: WorkerCommand) -> None:
        if self.closing is None:
            self._outbox.put_nowait(to_json(message))

    def refuse(self, reason: str) -> None:
        """Tell the script why in a Refused message, then close the connection."""
        if self.closing is None:
            self._outbox.put_nowait(to_json(Refused(reason=reason)))
            self.close(POLICY_VIOLATION, reason)

    def close(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = Closing(code, clip(reason))
            self._outbox.put_nowait(self.closing)

    async def next(self) -> str | Closing:
        return await self._outbox.get()


class Intake:
    """One script's messages, kept and applied in the order they arrived."""

    def __init__(
        self, run: Run, link: ScriptLink, relay: Relay, stop: Callable[[Run, str], None]
    ) -> None:
        self.run, self.link = run, link
        self._relay, self._stop = relay, stop
        self._input = ScriptInput()
        # a message, or the code the connection closed with (None: none was given)
        self._queue: queue.Queue[str | bytes | Ended] = queue.Queue(INTAKE_LIMIT)
        self._thread = threading.Thread(target=self._read, name=f"script-{run.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def put(self, payload: str | bytes) -> None:
        """Hand over one message; waits while the intake is full."""
        await self._put(payload)

    async def end(self, code: int | None) -> None:
        """The connection ended (with this close code), after every message it carried."""
        await self._put(Ended(code))

    async def _put(self, item: str | bytes | Ended) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, item)

    def _read(self) -> None:
        """The intake's thread. After a refusal it reads on to the end without keeping anything,
        so that the websocket's receiver is never left waiting on a full intake."""
        refused = False
        while not isinstance(payload := self._queue.get(), Ended):
            if refused:
                continue
            try:
                self._relay.deliver(self.run, self._input.read(payload))
            except Malformed as problem:
                refused = True
                self._relay.to_loop(self._refuse, str(problem))
            except Exception as error:
                # The server outlives any one script: e.g. a full disk under SQLite ends this
                # script's run with the error, and the thread reads on so that its connection
                # closes rather than hangs.
                refused = True
                self._relay.to_loop(self._refuse, f"the server could not keep it: {error!r}")
        self._relay.to_loop(self._closed, payload.code)

    def _refuse(self, problem: str) -> None:
        self._stop(self.run, f"the server refused a message from the script: {problem}")
        self.link.refuse(problem)

    def _closed(self, code: int | None) -> None:
        """After every message the connection carried has been applied."""
        if code == SERVER_STOPPING:
            reason = "the server shut down"
        else:
            reason = (
                f"the script's connection closed at step {self.run.step} "
                "(it ended or lost the network)"
            )
        self._stop(self.run, reason)
        self.run.exited.set()


def clip(reason: str) -> str:
    """`reason` cut to what a close frame can carry, on a character boundary."""
    data = reason.encode()
    if len(data) <= CLOSE_REASON_BYTES:
        return reason
    return data[: CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "…"
