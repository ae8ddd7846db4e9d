"""The websocket stream of one run: its state and history first, then live frames.

Only the sender task writes to the socket. It subscribes before it reads the history, so nothing
falls between the two, and it tracks the last step whose loss it sent: a frame that repeats steps is
skipped, and one that leaves a gap (its queue overflowed) is preceded by the missing steps from the
history. A client that stays stalled past `send_timeout` is dropped: it stops receiving frames at
once, and its 1008 close frame is queued behind the data it has not read yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from app.api import viewer_links
from app.api.deps import HistoryDep, HubDep, RunsDep, SettingsDep
from app.contract.events import (
    Driver,
    DriverUpdate,
    Error,
    Evaluations,
    Event,
    Health,
    Hello,
    Logged,
    OwnPath,
    Pong,
    RaceSeries,
    Scalars,
)
from app.runs.manager import RunManager, UnknownRun
from app.security.viewers import Access, ViewerLinks, get_access, get_viewer_links
from app.store.history import History
from app.stream.hub import Frame, FrameKind, Hub, Subscriber
from app.stream.protocol import encode_event

router = APIRouter()
# The view-only links' routes travel with the stream they open (app/main.py includes this router).
router.include_router(viewer_links.router)

MAX_CLIENT_MESSAGE = 4096  # bytes; clients only send small control messages
REVOKED_CLOSE = 4403  # a view-only link's sockets, closed when the owner revokes the link
CLOSE_GRACE_FACTOR = 3  # a dropped client has this many send timeouts to take its close frame


@router.websocket("/ws/runs/{run_id}")
async def stream_run(
    websocket: WebSocket,
    run_id: str,
    runs: RunsDep,
    history: HistoryDep,
    hub: HubDep,
    settings: SettingsDep,
) -> None:
    # Accepted first, then closed with a code: closing before the handshake would be an HTTP 403,
    # which a client cannot tell from a refused token.
    try:
        runs.info(run_id)
    except UnknownRun:
        await websocket.accept()
        await websocket.close(code=4404, reason=f"no run with id {run_id!r}")
        return
    if hub.count() >= settings.max_connections:
        await websocket.accept()
        await websocket.close(code=1013, reason="too many connections; try again later")
        return
    await websocket.accept()
    access, links = get_access(websocket), get_viewer_links(websocket)
    subscriber = hub.subscribe(run_id)
    sender = asyncio.create_task(
        _send_frames(websocket, run_id, subscriber, runs, history, settings.send_timeout, links)
    )
    subscriber.on_close = lambda: hub.unsubscribe(run_id, subscriber)
    receiver = asyncio.create_task(_receive(websocket, subscriber, run_id, access, hub, links))
    revoked = asyncio.Event()
    forget = links.watch(access.link.id, revoked.set) if access.link is not None else lambda: None
    revocation = asyncio.create_task(revoked.wait())
    try:
        # Whichever side ends first ends the connection: a client that leaves, one that the
        # sender gave up on (too slow), which may never send another byte, or a revoked link.
        await asyncio.wait({sender, receiver, revocation}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        forget()
        subscriber.close()
        hub.unsubscribe(run_id, subscriber)
        for task in (sender, receiver, revocation):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(sender, receiver, revocation, return_exceptions=True)
    if revoked.is_set():
        # The sender is gone, so this is the only writer; a client that stopped reading cannot
        # hold the revocation up past the send timeout.
        with contextlib.suppress(Exception):
            closing = websocket.close(code=REVOKED_CLOSE, reason="this view-only link was revoked")
            await asyncio.wait_for(closing, settings.send_timeout)


async def _receive(
    websocket: WebSocket,
    subscriber: Subscriber,
    run_id: str,
    access: Access,
    hub: Hub,
    links: ViewerLinks,
) -> None:
    """Answer the client's small messages; errors go back as error events, never as a crash."""
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None or len(text) > MAX_CLIENT_MESSAGE:
            _reply(
                subscriber,
                Error(message=f"messages must be JSON text under {MAX_CLIENT_MESSAGE} bytes"),
            )
            continue
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "ping":
            _reply(subscriber, Pong())
        elif kind == "driver" and access.viewer:
            refusal = "a view-only link cannot drive the run's pages: only its owner can"
            _reply(subscriber, Error(message=refusal, code=403))
        elif kind == "driver":
            _drive(text, subscriber, run_id, hub, links)
        else:
            _reply(
                subscriber,
                Error(
                    message='unknown message; the stream accepts {"type": "ping"} and, from '
                    'the owner, {"type": "driver", …}; control runs through the REST API'
                ),
            )


def _drive(text: str, subscriber: Subscriber, run_id: str, hub: Hub, links: ViewerLinks) -> None:
    """The owner's page says what it points at: every page of the run gets it (viewers follow it),
    and it is kept for the pages that connect later."""
    try:
        update = DriverUpdate.model_validate_json(text)
    except ValidationError as error:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        _reply(subscriber, Error(message=f"driver message refused: {problem}"))
        return
    event = encode_event(Driver(**update.model_dump(exclude={"type"})))
    links.drivers[run_id] = event
    hub.publish(run_id, Frame(FrameKind.EVENT, event))


def _reply(subscriber: Subscriber, event: Event) -> None:
    subscriber.offer(Frame(FrameKind.EVENT, encode_event(event)))


async def _send_state(
    websocket: WebSocket,
    run_id: str,
    runs: RunManager,
    history: History,
    links: ViewerLinks | None = None,
) -> int:
    """hello, the whole loss history (and an attached script's other scalars), marks, alerts,
    evaluation and health points, and the latest snapshot; return the last step sent."""
    info = runs.info(run_id)
    await websocket.send_text(encode_event(Hello.model_construct(run=info)))
    runs_of_steps, race, path = await asyncio.to_thread(_scalars, history, run_id)
    marks = await asyncio.to_thread(history.optimizer_marks, run_id)
    # One scalars from step 1 (empty when step 1 has no loss); more only for an attached script
    # that logged its loss at some steps, one per run of consecutive steps.
    first = runs_of_steps[0][1] if runs_of_steps and runs_of_steps[0][0] == 1 else []
    scalars = Scalars.model_construct(first_step=1, loss=first, history=True, race=race, path=path)
    await websocket.send_text(encode_event(scalars))
    for first_step, losses in runs_of_steps[1 if first else 0 :]:
        more = Scalars.model_construct(first_step=first_step, loss=losses, history=True)
        await websocket.send_text(encode_event(more))
    logged = await asyncio.to_thread(history.logged, run_id)
    if logged is not None:  # an attached script's other scalars, from step 1
        replay = Logged.model_construct(first_step=1, values=logged, history=True)
        await websocket.send_text(encode_event(replay))
    for mark in marks:
        await websocket.send_text(encode_event(mark))
    for alert in await asyncio.to_thread(history.alerts, run_id):
        await websocket.send_text(encode_event(alert))
    points = await asyncio.to_thread(history.evaluations, run_id)
    if points:
        evaluations = Evaluations.model_construct(points=points, history=True)
        await websocket.send_text(encode_event(evaluations))
    health = await asyncio.to_thread(history.health_points, run_id)
    if health:
        await websocket.send_text(encode_event(Health.model_construct(points=health, history=True)))
    snapshot = await asyncio.to_thread(history.latest_snapshot, run_id)
    if snapshot is not None:
        await websocket.send_bytes(snapshot)
    driver = links.drivers.get(run_id) if links is not None else None
    if driver is not None:  # where the owner's page points now, for a viewer joining late
        await websocket.send_text(driver)
    if not runs_of_steps:
        return 0
    last_first, last_losses = runs_of_steps[-1]
    return last_first + len(last_losses) - 1


async def _send_frames(
    websocket: WebSocket,
    run_id: str,
    subscriber: Subscriber,
    runs: RunManager,
    history: History,
    send_timeout: float,
    links: ViewerLinks | None = None,
) -> None:
    try:
        resync = _send_state(websocket, run_id, runs, history, links)
        sent = await asyncio.wait_for(resync, 3 * send_timeout)
        while True:
            frame = await subscriber.next()
            if frame is None:
                if subscriber.closed:
                    return
                subscriber.resync = False
                resync = _send_state(websocket, run_id, runs, history, links)
                sent = await asyncio.wait_for(resync, 3 * send_timeout)
                continue
            if frame.resets:
                sent = 0
            if frame.kind is FrameKind.SCALARS:
                if frame.last_step <= sent:
                    continue
                if frame.first_step > sent + 1:
                    gap, race, path = await asyncio.to_thread(
                        _scalars, history, run_id, sent, frame.first_step - 1
                    )
                    for i, (first_step, losses) in enumerate(gap or [(sent + 1, [])]):
                        missing = Scalars.model_construct(
                            first_step=first_step,
                            loss=losses,
                            race=race if i == 0 else None,
                            path=path if i == 0 else None,
                        )
                        await websocket.send_text(encode_event(missing))
                sent = frame.last_step
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for makes a task for each send,
            # for each viewer of each frame (HARDEN, bench/viewers.py)
            async with asyncio.timeout(send_timeout):
                await _send(websocket, frame)
    except TimeoutError:
        # Dropped: no more frames (and no longer counted as a connection), but the close frame
        # still goes out after the data already written, so that a client that reads again learns
        # why it was closed. It waits for the socket to take data again, for a bounded time.
        subscriber.close()
        with contextlib.suppress(Exception):
            closing = websocket.close(code=1008, reason="client too slow")
            await asyncio.wait_for(closing, CLOSE_GRACE_FACTOR * send_timeout)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


async def _send(websocket: WebSocket, frame: Frame) -> None:
    if isinstance(frame.payload, bytes):
        await websocket.send_bytes(frame.payload)
    else:
        await websocket.send_text(frame.payload)


def _scalars(
    history: History, run_id: str, after: int = 0, upto: int | None = None
) -> tuple[list[tuple[int, list[float]]], list[RaceSeries] | None, OwnPath | None]:
    """The losses of steps after..upto from the history, as runs of consecutive steps (the
    server's own runs have one), with the run's own path and the racers' series beside them."""
    return (
        history.loss_runs(run_id, after, upto),
        history.race(run_id, after, upto),
        history.own_path(run_id, after, upto),
    )
