"""The websocket of an attached training script, `/ws/attach` (docs/protocol.md, "/ws/attach").

The script's first message is an Attach; the server makes its run and answers Attached (or
Refused, then closes). From then on the receiver hands each message to the run's intake, and the
sender writes what the page asks of the run (and, at the end, the close frame with its reason).
Whichever ends first ends the connection; the intake then stops the run if nothing else did.
The Guard has already checked the Host, the Origin and the token, as for every websocket.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.api.deps import RunsDep
from app.contract.attach import Attached, Refused
from app.runs.attached import Closing, Intake, ScriptLink, clip
from app.runs.run import TooManyRuns
from app.runs.script_input import Malformed, read_attach
from app.stream.protocol import to_json

router = APIRouter()

ATTACH_TIMEOUT = 10.0  # seconds a new connection has to send its Attach
TRY_AGAIN_LATER = 1013
POLICY_VIOLATION = 1008


@router.websocket("/ws/attach")
async def attach_script(websocket: WebSocket, runs: RunsDep) -> None:
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive(), ATTACH_TIMEOUT)
    except TimeoutError:
        await _refuse(websocket, f"no attach message within {ATTACH_TIMEOUT:g} s", POLICY_VIOLATION)
        return
    except (WebSocketDisconnect, RuntimeError):
        return
    if first["type"] == "websocket.disconnect":
        return
    link = ScriptLink()
    try:
        intake = runs.attach(read_attach(first.get("text", first.get("bytes"))), link)
    except Malformed as problem:
        await _refuse(websocket, str(problem), POLICY_VIOLATION)
        return
    except TooManyRuns as problem:
        await _refuse(websocket, str(problem), TRY_AGAIN_LATER)
        return
    run = intake.run
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    url = f"{scheme}://{websocket.headers.get('host', 'localhost')}/#run={run.id}"
    intake.start()
    code = None
    try:
        # Attached first: only then may the sender write a command the page has already sent.
        await websocket.send_text(to_json(Attached.model_construct(run=run.info(), url=url)))
        code = await _converse(websocket, link, intake)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        # after every message received: the intake stops the run, if nothing else has
        await intake.end(code)


async def _converse(websocket: WebSocket, link: ScriptLink, intake: Intake) -> int | None:
    """Receive and send until either side ends; the code the script closed with, if it did."""
    sender = asyncio.create_task(_send(websocket, link))
    receiver = asyncio.create_task(_receive(websocket, intake))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(sender, receiver, return_exceptions=True)
    ended = receiver.done() and not receiver.cancelled() and receiver.exception() is None
    return receiver.result() if ended else None


async def _receive(websocket: WebSocket, intake: Intake) -> int | None:
    """Hand each message to the intake; return the code the connection closed with."""
    while True:
        try:
            message = await websocket.receive()
        except WebSocketDisconnect as disconnect:
            return disconnect.code
        except RuntimeError:
            return None
        if message["type"] == "websocket.disconnect":
            code: int | None = message.get("code")
            return code
        payload = message.get("text")
        if payload is None:
            payload = message.get("bytes")
        if payload is not None:
            await intake.put(payload)


async def _send(websocket: WebSocket, link: ScriptLink) -> None:
    try:
        while True:
            item = await link.next()
            if isinstance(item, Closing):
                await websocket.close(item.code, item.reason)
                return
            await websocket.send_text(item)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return


async def _refuse(websocket: WebSocket, reason: str, code: int) -> None:
    """Refused, with the whole reason, then the close frame with as much of it as fits."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(to_json(Refused(reason=reason)))
        await websocket.close(code, clip(reason))
