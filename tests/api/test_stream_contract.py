"""docs/protocol.md against a real stream: every message validates against the typed contract,
every JSON example in the document does too, and the messages around each command come in the
order the document states."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from app.contract.events import ServerEvent
from app.contract.snapshot import SnapshotHeader
from tests.conftest import Message, Stream, new_run

PROTOCOL = Path(__file__).resolve().parents[2] / "docs/protocol.md"
EVENTS: TypeAdapter[Any] = TypeAdapter(ServerEvent)


def validate(message: Message) -> None:
    if message["type"] == "snapshot":
        SnapshotHeader.model_validate(message)
    else:
        EVENTS.validate_python(message)


def kinds(messages: list[Message]) -> list[str]:
    return [
        f"{m['type']}:{m['acknowledged']}" if m["type"] == "status" else m["type"] for m in messages
    ]


def around(client: TestClient, stream: Stream, run_id: str, command: str) -> list[str]:
    """The messages from a command's POST up to its acknowledgement, and until a pong after."""
    assert client.post(f"/api/runs/{run_id}/commands/{command}").status_code == 200
    seen = [stream.next()]
    while not (seen[-1]["type"] == "status" and seen[-1]["acknowledged"] == command):
        seen.append(stream.next())
    seen += stream.drain()
    return kinds(seen)


def test_every_message_of_a_real_stream_is_in_the_contract(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        # no steps, marks or snapshot yet: hello and an empty history, then live messages
        assert kinds([stream.next(), stream.next()]) == ["hello", "scalars"]
        if not stream.events[0]["run"]["ready"]:
            stream.until(lambda m: m["type"] == "status" and m["run"]["ready"])

        # step: accepted, then the worker's loss, health point, snapshot and acknowledgement
        assert around(client, stream, run_id, "step") == [
            "status:None", "scalars", "health", "snapshot", "status:step",
        ]  # fmt: skip
        # phase: a health point and snapshot after each; the step phase brings its loss first
        for _ in range(4):
            assert around(client, stream, run_id, "phase") == [
                "status:None", "health", "snapshot", "status:phase",
            ]  # fmt: skip
        assert around(client, stream, run_id, "phase") == [
            "status:None", "scalars", "health", "snapshot", "status:phase",
        ]  # fmt: skip
        # start: acknowledged, then the running loop's scalars and snapshots
        started = around(client, stream, run_id, "start")
        assert started[:2] == ["status:None", "status:start"]
        stream.until(lambda m: m["type"] == "snapshot")
        # pause: what the loop sent before it saw the pause, then its last loss, the snapshot
        # of the step it stopped at and the acknowledgement; nothing after it
        paused = around(client, stream, run_id, "pause")
        assert paused[0] == "status:None"
        assert paused[-3:] == ["health", "snapshot", "status:pause"]
        # a setting: the optimizer mark and the run's new status, nothing to acknowledge
        client.put(f"/api/runs/{run_id}/optimizer", json={"name": "adam", "lr": 0.01})
        changed = [stream.until(lambda m: m["type"] == "optimizer"), stream.next()]
        assert kinds(changed) == ["optimizer", "status:None"]
        assert stream.drain() == []
        client.put(f"/api/runs/{run_id}/teaching", json={"accumulate": 2})
        assert kinds(stream.drain()) == ["status:None"]
        # reset: a reset event, then the acknowledgement at step 0
        assert around(client, stream, run_id, "reset") == ["status:None", "reset", "status:reset"]
        ws.send_text("hello?")
        stream.until(lambda m: m["type"] == "error")
        # stop: accepted (state stopped at once), then the worker's acknowledgement
        assert around(client, stream, run_id, "stop") == ["status:None", "status:stop"]

    for message in stream.events:
        validate(message)
    for header, _ in stream.snapshots:
        validate(header)
    seen = {m["type"] for m in stream.events} | {h["type"] for h, _ in stream.snapshots}
    assert seen >= {
        "hello", "status", "scalars", "health", "reset", "optimizer", "error", "pong", "snapshot",
    }  # fmt: skip


def test_a_reconnect_replays_history_marks_and_snapshot_in_order(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "status" and m["run"]["ready"])
        around(client, stream, run_id, "step")
        client.put(f"/api/runs/{run_id}/optimizer", json={"name": "sgd", "lr": 0.1})
        stream.until(lambda m: m["type"] == "optimizer")
        around(client, stream, run_id, "step")
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        again = Stream(ws)
        replay = again.drain()
    assert kinds(replay) == ["hello", "scalars", "optimizer", "health", "snapshot"]
    assert [point["step"] for point in replay[3]["points"]] == [1, 2]
    assert replay[1]["history"] is True and replay[1]["t0"] is None and len(replay[1]["loss"]) == 2
    for message in replay:
        validate(message)


def examples() -> list[Any]:
    blocks = re.findall(r"```json\n(.*?)```", PROTOCOL.read_text(), flags=re.DOTALL)
    found = []
    for block in blocks:
        text = block.strip()
        # a block is one JSON value, or one per line
        try:
            found.append(json.loads(text))
        except json.JSONDecodeError:
            found += [json.loads(line) for line in text.splitlines() if line.strip()]
    return found


def test_every_json_example_in_the_protocol_document_is_in_the_contract() -> None:
    found = examples()
    types = {example["type"] for example in found}
    assert types >= {
        "hello",
        "status",
        "scalars",
        "reset",
        "optimizer",
        "error",
        "pong",
        "snapshot",
    }
    for example in found:
        validate(example)
