"""Shared fixtures: an app on a fresh data directory, and a reader for the run stream."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from app.main import create_app
from app.settings import Settings
from app.stream.protocol import decode_snapshot

Message = dict[str, Any]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # TestClient sends "Host: testserver"; a real browser test uses 127.0.0.1.
    return Settings(data_dir=tmp_path / "data", default_run=False, allowed_hosts=["testserver"])


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def new_run(client: TestClient, **config: Any) -> str:
    """A run that steps only when told to (no pacing), ready for commands."""
    response = client.post("/api/runs", json={"steps_per_second": None, **config})
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


class Stream:
    """Reads a run's websocket: JSON events as dicts, snapshots decoded (header, float32 data)."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.losses: dict[int, float] = {}
        self.snapshots: list[tuple[Message, Any]] = []
        self.events: list[Message] = []

    def next(self) -> Message:
        message = self.ws.receive()
        if message.get("bytes") is not None:
            header, data = decode_snapshot(message["bytes"])
            self.snapshots.append((header, data))
            return header
        event: Message = json.loads(message["text"])
        self.events.append(event)
        if event["type"] == "scalars":
            for i, loss in enumerate(event["loss"]):
                self.losses[event["first_step"] + i] = float(loss)
        return event

    def until(self, done: Callable[[Message], bool], limit: float = 30.0) -> Message:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            message = self.next()
            if done(message):
                return message
        raise AssertionError("the awaited message did not come")

    def acknowledged(self, command: str) -> Message:
        return self.until(lambda m: m["type"] == "status" and m.get("acknowledged") == command)

    def drain(self) -> list[Message]:
        """Everything sent before a ping's pong (the server answers in order)."""
        self.ws.send_text(json.dumps({"type": "ping"}))
        seen = []
        while (message := self.next())["type"] != "pong":
            seen.append(message)
        return seen


def step_n(client: TestClient, stream: Stream, run_id: str, n: int) -> Message:
    """n Step commands from step 0, and the status that acknowledges the last of them."""
    for _ in range(n):
        assert client.post(f"/api/runs/{run_id}/commands/step").status_code == 200
    return stream.until(
        lambda m: (
            m["type"] == "status" and m.get("acknowledged") == "step" and m["run"]["step"] == n
        )
    )
