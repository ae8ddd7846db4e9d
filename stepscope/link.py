"""The websocket to the server, run by two background threads so that training never waits on it.

The training thread only ever calls `Outbox.put_*`, which never blocks: a snapshot that finds
FRAMES_PENDING frames still unsent is dropped (the caller counts it), and scalars that find the
outbox full stay with the caller, to go with its next flush. The sender thread turns scalars into
JSON there (so the training thread never reads a tensor's value: no device sync, no `.item()`),
and the receiver thread only queues the server's commands for the training thread to carry out.

websockets' sync client keeps its own I/O thread, so this works in a thread that runs an asyncio
loop (a Jupyter kernel, `asyncio.run`) as in any other.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import TypeAdapter, ValidationError
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from app.contract.attach import Attach, Attached, Logged, Refused
from app.contract.worker import Control, ScalarsBatch, WorkerCommand
from app.runs.state import Command
from app.stream.protocol import to_json

FRAMES_PENDING = 2  # snapshots waiting to leave: more only means older pictures on the page
TEXTS_PENDING = 64  # scalar batches waiting to leave before the caller keeps them
OPEN_TIMEOUT = 10.0  # seconds to connect and be answered
PING_INTERVAL, PING_TIMEOUT = 5.0, 10.0  # a silent server is given up after at most ~15 s
# close() takes at most ~2 s: what is queued has DRAIN_WAIT to leave, the closing handshake the rest
DRAIN_WAIT, CLOSE_TIMEOUT = 1.5, 0.5  # seconds
MAX_MESSAGE = 64 * 1024 * 1024  # what the server may send: commands are small

_COMMAND: TypeAdapter[WorkerCommand] = TypeAdapter(WorkerCommand)
_ANSWER: TypeAdapter[Attached | Refused] = TypeAdapter(Attached | Refused)


@dataclass
class Row:
    """One step's logged values (tensors as given, detached; floats)."""

    step: int
    values: dict[str, torch.Tensor | float]


@dataclass
class Scalars:
    """Rows of consecutive log() calls (steps in order, maybe with gaps), turned into
    ScalarsBatch and Logged on the sender thread."""

    rows: list[Row]
    t0: float  # wall clock when the first row's step ended


def _floats(values: list[torch.Tensor | float | None]) -> list[float | None]:
    """One read of every tensor (a stack, then one copy to the host) rather than one per value."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    read: list[float] = []
    if tensors:
        try:
            # The usual case, a loss of the same shape, dtype and device every step, stacks as
            # it is: three ops for the whole batch, where a conversion per tensor first cost two
            # ops a step, on this thread but under the training thread's GIL.
            stacked = torch.stack(tensors) if _alike(tensors) else None
            if stacked is None:
                stacked = torch.stack([t.reshape(()).to(torch.float64) for t in tensors])
            read = stacked.to(torch.float64).reshape(-1).tolist()
        except RuntimeError:  # tensors on different devices
            read = [float(t) for t in tensors]
    found = iter(read)
    return [
        None if v is None else next(found) if isinstance(v, torch.Tensor) else float(v)
        for v in values
    ]


def _alike(tensors: list[torch.Tensor]) -> bool:
    first = tensors[0]
    return all(
        t.shape == first.shape and t.dtype == first.dtype and t.device == first.device
        for t in tensors
    )


def scalars_messages(batch: Scalars, sent_at: float) -> list[Any]:
    """ScalarsBatch for each contiguous run of steps with a loss, then one Logged per contiguous
    run of steps for the other names (null where a step has none)."""
    messages: list[Any] = []
    rows = batch.rows
    losses = _floats([row.values.get("loss") for row in rows])
    run_start: int | None = None
    run: list[float] = []
    previous = None
    for row, loss in zip(rows, losses, strict=True):
        if loss is None or (previous is not None and row.step != previous + 1):
            if run:
                messages.append(_batch(run_start, run, batch.t0, sent_at))
            run, run_start = [], None
        if loss is not None:
            if run_start is None:
                run_start = row.step
            run.append(loss)
        previous = row.step
    if run:
        messages.append(_batch(run_start, run, batch.t0, sent_at))
    names = list(dict.fromkeys(name for row in rows for name in row.values if name != "loss"))
    if names:
        start = 0
        for index in range(1, len(rows) + 1):
            if index == len(rows) or rows[index].step != rows[index - 1].step + 1:
                part = rows[start:index]
                values = {name: _floats([row.values.get(name) for row in part]) for name in names}
                messages.append(Logged.model_construct(first_step=part[0].step, values=values))
                start = index
    return messages


def _batch(first: int | None, losses: list[float], t0: float, t1: float) -> ScalarsBatch:
    assert first is not None
    return ScalarsBatch.model_construct(first_step=first, loss=losses, t0=t0, t1=t1)


class Outbox:
    """What waits to leave, in order: JSON texts, scalars, and snapshot frames."""

    def __init__(self) -> None:
        self._items: deque[str | bytes | Scalars] = deque()
        self._frames = self._texts = 0
        self._sending = False  # the sender holds an item it took and has not sent yet
        self._ready = threading.Condition()
        self.closed = False  # nothing more is taken (lost, or closing)

    def put_frame(self, frame: bytes, essential: bool = False) -> bool:
        """Queue a snapshot unless FRAMES_PENDING wait already; an `essential` one (a paused
        loop's, which the page waits for) always goes."""
        with self._ready:
            if self.closed or (self._frames >= FRAMES_PENDING and not essential):
                return False
            self._frames += 1
            self._items.append(frame)
            self._ready.notify()
            return True

    def put_scalars(self, scalars: Scalars, essential: bool = False) -> bool:
        """Queue scalars unless the outbox is full; `essential` ones (before an Ack, at close)
        always go, which the commands' own rate bounds."""
        with self._ready:
            if self.closed or (self._texts >= TEXTS_PENDING and not essential):
                return False
            self._texts += 1
            self._items.append(scalars)
            self._ready.notify()
            return True

    def put_text(self, text: str) -> bool:
        """A message that must not be dropped (Ack, OptimizerChanged, Alerted, Dropped, …)."""
        with self._ready:
            if self.closed:
                return False
            self._items.append(text)
            self._ready.notify()
            return True

    def take(self, timeout: float) -> str | bytes | Scalars | None:
        with self._ready:
            if not self._items:
                self._ready.wait(timeout)
            if not self._items:
                return None
            item = self._items.popleft()
            self._sending = True
            if isinstance(item, bytes):
                self._frames -= 1
            elif isinstance(item, Scalars):
                self._texts -= 1
            return item

    def sent(self) -> None:
        """The sender is done with the item it took."""
        with self._ready:
            self._sending = False
            self._ready.notify_all()

    def empty(self) -> bool:
        with self._ready:
            return not self._items

    def wait_drained(self, timeout: float) -> bool:
        """Until everything queued has been sent (or the outbox closed): whether it was."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while (self._items or self._sending) and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0.0:
                    return False
                self._ready.wait(left)
            return not self._items and not self._sending

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()


class AttachRefused(RuntimeError):
    """The server answered Attach with Refused."""


def open_link(url: str, token: str | None, attach: Attach) -> tuple[ClientConnection, Attached]:
    """Connect to `ws(s)://…/ws/attach`, send Attach, and wait for the server's answer."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    connection = connect(
        url,
        additional_headers=headers,
        open_timeout=OPEN_TIMEOUT,
        ping_interval=PING_INTERVAL,
        ping_timeout=PING_TIMEOUT,
        close_timeout=CLOSE_TIMEOUT,
        max_size=MAX_MESSAGE,
    )
    # The connection outlives this function (two threads use it; Link.close ends it), so it is
    # not used in a `with`: entering it by hand is what websockets (17.1+) asks of that case.
    connection = connection.__enter__()
    try:
        connection.send(to_json(attach))
        answer = _ANSWER.validate_json(connection.recv(timeout=OPEN_TIMEOUT))
    except BaseException:
        connection.close()
        raise
    if isinstance(answer, Refused):
        connection.close()
        raise AttachRefused(answer.reason)
    return connection, answer


class Link:
    """The sender and receiver threads of one attached run's connection."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.outbox = Outbox()
        self._on_command: Callable[[WorkerCommand], None] = lambda command: None
        self._on_lost: Callable[[], None] = lambda: None
        self._closing = False
        self._stopped = False  # the server sent STOP
        # CPU the sender thread has spent (read by the watch, which charges it to the budget:
        # on a busy machine it is taken from the training, through a core or the GIL)
        self.sender_seconds = 0.0
        self.lost: str | None = None  # why the server was lost, once it was
        self._lost_lock = threading.Lock()
        self._sender = threading.Thread(target=self._send_loop, name="stepscope-send", daemon=True)
        self._receiver = threading.Thread(
            target=self._receive_loop, name="stepscope-receive", daemon=True
        )

    def start(
        self, on_command: Callable[[WorkerCommand], None], on_lost: Callable[[], None]
    ) -> None:
        """Start the threads: commands go to `on_command`, a lost server to `on_lost` (both called
        on the receiver's or sender's thread)."""
        self._on_command, self._on_lost = on_command, on_lost
        self._sender.start()
        self._receiver.start()

    def _send_loop(self) -> None:
        outbox = self.outbox
        while True:
            item = outbox.take(timeout=0.5)
            if item is None:
                if outbox.closed and outbox.empty():
                    return
                continue
            began = time.thread_time()
            try:
                if isinstance(item, Scalars):
                    for text in self._scalars_texts(item):
                        self.connection.send(text)
                else:
                    self.connection.send(item)
            except (ConnectionClosed, WebSocketException, OSError) as error:
                self._lose(f"the connection failed ({error})")
                return
            finally:
                outbox.sent()
                self.sender_seconds += time.thread_time() - began

    def _scalars_texts(self, item: Scalars) -> list[str]:
        try:
            return [to_json(message) for message in scalars_messages(item, time.time())]
        except (RuntimeError, TypeError, ValueError) as error:
            # a value no float can hold (log() lets only one-element tensors and numbers in):
            # these steps are lost, never the link nor the training
            print(
                f"stepscope: scalars of steps {item.rows[0].step}..{item.rows[-1].step} "
                f"could not be read ({error}); they are not recorded",
                file=sys.stderr,
                flush=True,
            )
            return []

    def _receive_loop(self) -> None:
        while True:
            try:
                text = self.connection.recv()
            except ConnectionClosed as error:
                reason = error.rcvd.reason if error.rcvd is not None else ""
                self._lose(f"the connection closed{': ' + reason if reason else ''}")
                return
            except (WebSocketException, OSError) as error:
                self._lose(f"the connection failed ({error})")
                return
            if isinstance(text, bytes):
                continue  # the server sends no binary messages; nothing in one is acted on
            try:
                command = _COMMAND.validate_json(text)
            except ValidationError:
                continue  # a command of a newer server; acting on a guess could harm the run
            if isinstance(command, Control) and command.command is Command.STOP:
                # the server ends the watching, and may close the connection before the Ack
                # leaves: that close is the end asked for, not a lost server
                self._stopped = True
            self._on_command(command)

    def _lose(self, why: str) -> None:
        with self._lost_lock:
            if self.lost is not None:
                return
            self.lost = why
            # The server closes the connection as soon as it has the Detach, often before
            # close() is done: that close is the end asked for, as is a close after Stop.
            expected = self._closing or self._stopped
        self.outbox.close()
        if expected:
            return
        print(
            f"stepscope: lost the server: {why}; training goes on unobserved",
            file=sys.stderr,
            flush=True,
        )
        self._on_lost()

    def close(self, final: str | None) -> None:
        """Send what is queued and `final` (the Detach), then close: about 2 s at most."""
        with self._lost_lock:
            self._closing = True
        if final is not None:
            self.outbox.put_text(final)
        self.outbox.wait_drained(DRAIN_WAIT)
        self.outbox.close()
        # On its own daemon thread: a send blocked on a server that stopped reading holds the
        # connection's lock, and the close would wait on it for good.
        closer = threading.Thread(
            target=self._close_connection, name="stepscope-close", daemon=True
        )
        closer.start()
        closer.join(timeout=CLOSE_TIMEOUT)
        self._receiver.join(timeout=CLOSE_TIMEOUT)

    def _close_connection(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()
