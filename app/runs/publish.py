"""Events for the browsers watching a run: each encoded once and handed to the hub."""

from __future__ import annotations

from app.contract.events import Event, Status
from app.runs.run import Run
from app.runs.state import Command
from app.stream.hub import Frame, FrameKind, Hub
from app.stream.protocol import encode_event


def publish(hub: Hub, run: Run, event: Event, resets: bool = False) -> None:
    hub.publish(run.id, Frame(FrameKind.EVENT, encode_event(event), resets=resets))


def publish_status(hub: Hub, run: Run, acknowledged: Command | None = None) -> None:
    publish(hub, run, Status.model_construct(run=run.info(), acknowledged=acknowledged))
