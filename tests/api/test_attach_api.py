"""/ws/attach, the server's side of an attached script, spoken by a raw websocket client that
plays the script (the real `stepscope` package against a real server is tests/attach/).

Each test speaks the wire protocol of app/contract/attach.py by hand, so what it checks is the
server's contract: the run it makes, what reaches the browsers and the history, the commands it
sends the script and those it refuses, and how it refuses a hostile script.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import struct
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from starlette.testclient import WebSocketTestSession
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from app.contract.attach import Attach, Attached, Refused, ScriptMessage
from app.contract.events import ServerEvent
from app.contract.run import RunInfo
from app.contract.worker import WorkerCommand
from app.main import create_app
from app.runs.attached import INTAKE_LIMIT
from app.settings import Settings
from app.store.history import History
from app.stream.protocol import encode_snapshot
from tests.conftest import Message, Stream
from tests.support import Server, free_port

pytestmark = pytest.mark.timeout(120)

PROTOCOL = Path(__file__).resolve().parents[2] / "docs/protocol.md"
COMMANDS: TypeAdapter[Any] = TypeAdapter(WorkerCommand)
EVENTS: TypeAdapter[Any] = TypeAdapter(ServerEvent)
ADAM = {"name": "adam", "lr": 0.001}


def attach_message(
    name: str = "my run", config: dict[str, Any] | None = ADAM, **more: Any
) -> dict[str, Any]:
    return {
        "kind": "attach",
        "process": {"name": name, "host": "box", "pid": 4242},
        "optimizer": {
            "torch_class": "torch.optim.adam.Adam",
            "config": config,
            "ledger": True,
            "groups": 1,
        },
        "parameters": ["0.weight", "0.bias"],
        **more,
    }


class Script:
    """A training script as the server sees it: JSON text out, commands in."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self.ws = ws
        self.run: dict[str, Any] = {}
        self.url = ""

    def attach(self, message: dict[str, Any] | None = None) -> Script:
        self.send(message or attach_message())
        answer = self.receive()
        attached = Attached.model_validate(answer)  # the contract, field by field
        self.run, self.url = answer["run"], attached.url
        return self

    @property
    def id(self) -> str:
        run_id: str = self.run["id"]
        return run_id

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send_text(json.dumps(message))

    def scalars(self, first_step: int, loss: list[float]) -> None:
        self.send({"kind": "scalars", "first_step": first_step, "loss": loss, "t0": 1.0, "t1": 2.0})

    def ack(self, command: str, step: int) -> None:
        self.send(
            {"kind": "ack", "command": command, "step": step, "phase": "backward", "mid_step": True}
        )

    def receive(self) -> Message:
        message: Message = json.loads(self.ws.receive_text())
        return message

    def command(self) -> Message:
        """The next message the server sends: a WorkerCommand."""
        message = self.receive()
        COMMANDS.validate_python(message)
        return message

    def closed(self) -> tuple[list[Message], int, str]:
        """What the server sends until it closes: its messages, the close code and reason."""
        seen = []
        while (message := self.ws.receive())["type"] != "websocket.close":
            seen.append(json.loads(message["text"]))
        return seen, message["code"], message["reason"]


@pytest.fixture
def script(client: TestClient) -> Iterator[Script]:
    with client.websocket_connect("/ws/attach") as ws:
        yield Script(ws).attach()


def wait_for_run(client: TestClient, run_id: str, state: str) -> Message:
    """The run as GET /api/runs/{id} shows it once it is in `state` (the server applies a script's
    messages on its event loop, a moment after they arrive)."""
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] in ("hello", "status") and m["run"]["state"] == state)
    run: Message = client.get(f"/api/runs/{run_id}").json()
    return run


def wait_for_loss(client: TestClient, run_id: str, step: int) -> None:
    """Until the history holds `step`'s loss (a page that opens the stream gets it at hello)."""
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        stream.until(lambda _: step in stream.losses)


def snapshot(step: int, data: list[float] | None = None, view: tuple[int, int] = (0, 2)) -> bytes:
    """A snapshot frame as the script's watch makes one (app.stream.protocol.encode_snapshot)."""
    stats = {"mean": 0.0, "std": 1.0, "min": -1.0, "max": 1.0, "norm": 1.4, "nan": 0, "inf": 0}
    header = {
        "type": "snapshot",
        "v": 1,
        "step": step,
        "phase": "backward",
        "loss": 0.5,
        "batch": None,
        "race": None,
        "optimizer": ADAM,
        "teaching": {},
        "effect": {"phase": "backward", "ran": True, "micro_batch": 1, "micro_batches": 1},
        "micro_batch": {"index": 1, "of": 1},
        "tensors": [
            {
                "name": "0.bias",
                "shape": [2],
                "numel": 2,
                "sampled": False,
                "fields": {"value": {"view": list(view), "stats": stats}, "grad": None},
                "state_scalars": {},
                "ledger": [],
            }
        ],
    }
    values = data if data is not None else [1.0, -1.0]
    return encode_snapshot(header, struct.pack(f"<{len(values)}f", *values))


# the run an Attach makes


def test_attach_makes_a_running_ready_run_listed_with_the_script(
    client: TestClient, script: Script
) -> None:
    run = RunInfo.model_validate(script.run)
    assert (run.state, run.ready, run.experiment, run.title) == (
        "running",
        True,
        "attached",
        "my run",
    )
    assert run.config is None and run.attached is not None
    assert run.attached.process.pid == 4242 and run.attached.parameters == 2
    assert run.attached.optimizer.config is not None and run.attached.optimizer.config.lr == 0.001
    assert script.url == f"http://testserver/#run={run.id}"
    listed = {r["id"]: r for r in client.get("/api/runs").json()}[run.id]
    got = client.get(f"/api/runs/{run.id}").json()
    # disk use is worked out for the runs list only (it reads the whole file's page counts)
    assert listed.pop("disk_bytes") > 0 and got.pop("disk_bytes") is None
    assert listed == got and got["started_at"] > 0
    # the REST routes add what the history keeps beside the run (its name and start)
    described = ("name", "started_at", "disk_bytes")
    assert {k: v for k, v in got.items() if k not in described} == {
        k: v for k, v in script.run.items() if k not in described
    }
    points = client.get(f"/api/runs/{run.id}/points")  # the data are the script's own
    assert points.status_code == 404 and "attached script" in points.json()["detail"]
    assert client.get(f"/api/runs/{run.id}/surface").status_code == 404


def test_scalars_and_logged_values_reach_browsers_and_the_export_once_and_in_order(
    client: TestClient, script: Script
) -> None:
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "scalars" and m["history"])  # empty, at hello
        script.scalars(1, [1.0, 0.5, 0.25])
        script.send({"kind": "logged", "first_step": 1, "values": {"accuracy": [0.1, None, 0.3]}})
        script.scalars(4, [0.125, float("nan")])  # json.dumps writes NaN, pydantic reads it
        script.send({"kind": "logged", "first_step": 4, "values": {"accuracy": [0.4, 0.5]}})
        stream.until(lambda m: m["type"] == "logged" and m["first_step"] == 4)
    live = [e for e in stream.events if e["type"] == "scalars" and not e["history"]]
    steps = [e["first_step"] + i for e in live for i in range(len(e["loss"]))]
    assert steps == [1, 2, 3, 4, 5]  # each once, in order
    named = [e for e in stream.events if e["type"] == "status" and e["run"]["attached"]["logged"]]
    assert named[0]["run"]["attached"]["logged"] == ["accuracy"]  # named before its first values
    assert stream.events.index(named[0]) < next(
        i for i, e in enumerate(stream.events) if e["type"] == "logged"
    )
    export = client.get(f"/api/runs/{script.id}/scalars").json()
    assert export["loss"][:4] == [1.0, 0.5, 0.25, 0.125] and export["loss"][4] == "NaN"
    assert export["logged"] == {"accuracy": [0.1, None, 0.3, 0.4, 0.5]}
    # a page opened now gets the same from the history
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        replay = Stream(ws)
        logged = replay.until(lambda m: m["type"] == "logged")
    assert logged == {
        "v": 1,
        "type": "logged",
        "first_step": 1,
        "values": {"accuracy": [0.1, None, 0.3, 0.4, 0.5]},
        "history": True,
    }
    assert replay.losses[4] == 0.125 and math.isnan(replay.losses[5])
    for event in stream.events + replay.events:
        EVENTS.validate_python(event)


def test_a_loss_logged_at_some_steps_only_keeps_its_steps(
    client: TestClient, script: Script
) -> None:
    script.scalars(1, [1.0, 0.9])
    script.scalars(5, [0.5])  # the script logged no loss at steps 3 and 4
    script.scalars(6, [0.4])
    wait_for_loss(client, script.id, 6)
    assert client.get(f"/api/runs/{script.id}/scalars").json()["loss"] == [
        1.0, 0.9, None, None, 0.5, 0.4
    ]  # fmt: skip
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        stream = Stream(ws)
        stream.until(lambda _: 6 in stream.losses)
        script.scalars(9, [0.2])
        stream.until(lambda _: 9 in stream.losses)
    scalars = [(e["first_step"], e["loss"]) for e in stream.events if e["type"] == "scalars"]
    assert scalars[:2] == [(1, [1.0, 0.9]), (5, [0.5, 0.4])]  # the history, step by step
    assert scalars[-1] == (9, [0.2])
    assert stream.losses == {1: 1.0, 2: 0.9, 5: 0.5, 6: 0.4, 9: 0.2}


def test_a_snapshot_frame_is_stored_and_published_as_sent(
    client: TestClient, script: Script
) -> None:
    frame = snapshot(3)
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        Stream(ws).until(lambda m: m["type"] == "scalars" and m["history"])
        script.ws.send_bytes(frame)
        while (message := ws.receive()).get("bytes") is None:
            pass
    assert message["bytes"] == frame
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        while (message := ws.receive()).get("bytes") is None:
            pass
    assert message["bytes"] == frame  # the latest snapshot, at hello


# commands


def test_commands_and_settings_reach_the_script_as_json(client: TestClient, script: Script) -> None:
    run_url = f"/api/runs/{script.id}"
    script.scalars(1, [1.0, 0.5, 0.25])
    assert client.post(f"{run_url}/commands/pause").json()["state"] == "paused"
    assert script.command() == {"kind": "control", "command": "pause"}
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "hello")
        script.ack("pause", 3)
        acknowledged = stream.acknowledged("pause")
        assert (acknowledged["run"]["step"], acknowledged["run"]["phase"]) == (3, "backward")
        assert client.post(f"{run_url}/commands/step").json()["state"] == "paused"
        assert script.command() == {"kind": "control", "command": "step"}
        script.scalars(4, [0.2])
        script.ack("step", 4)
        assert stream.acknowledged("step")["run"]["step"] == 4
    assert client.post(f"{run_url}/commands/start").json()["state"] == "running"
    assert script.command() == {"kind": "control", "command": "start"}

    edited = client.put(f"{run_url}/optimizer", json={"name": "adam", "lr": 0.0003, "beta1": 0.8})
    assert edited.status_code == 200
    assert edited.json()["attached"]["optimizer"]["config"]["lr"] == 0.0003
    sent = script.command()
    assert sent["kind"] == "optimizer"
    assert (sent["optimizer"]["lr"], sent["optimizer"]["beta1"]) == (0.0003, 0.8)
    assert client.put(f"{run_url}/alerts", json={"nonfinite": False}).status_code == 200
    assert script.command() == {"kind": "alerts", "alerts": {"nonfinite": False}}
    assert client.put(f"{run_url}/instrumentation", json={"budget": 0.1}).status_code == 200
    assert script.command() == {"kind": "instrumentation", "instrumentation": {"budget": 0.1}}


@pytest.mark.parametrize(
    ("method", "path", "body", "sentence"),
    [
        ("POST", "commands/phase", None, "one phase at a time"),
        ("POST", "commands/reset", None, "cannot take it back to step 0"),
        ("PUT", "teaching", {"zero_grad": False}, "are the script's code"),
        ("PUT", "pace", {"steps_per_second": 5}, "trains as fast as it runs"),
        ("PUT", "optimizer", {"name": "sgd", "lr": 0.1}, "its class cannot change from the page"),
        ("PUT", "optimizer", {**ADAM, "amsgrad": True}, "turning on amsgrad mid-run"),
    ],
)
def test_what_a_script_cannot_be_asked_is_refused_and_never_sent(
    client: TestClient,
    script: Script,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    sentence: str,
) -> None:
    response = client.request(method, f"/api/runs/{script.id}/{path}", json=body)
    assert response.status_code == 409, response.text
    assert sentence in response.json()["detail"]
    assert client.get(f"/api/runs/{script.id}").json()["state"] == "running"
    client.post(f"/api/runs/{script.id}/commands/pause")
    assert script.command() == {"kind": "control", "command": "pause"}  # nothing before it


def test_an_optimizer_with_no_known_fields_cannot_be_edited(client: TestClient) -> None:
    with client.websocket_connect("/ws/attach") as ws:
        script = Script(ws).attach(attach_message(config=None))
        response = client.put(f"/api/runs/{script.id}/optimizer", json=ADAM)
        assert response.status_code == 409
        assert "has no fields Stepscope knows" in response.json()["detail"]


def test_stop_from_the_page_stops_the_run_at_once_and_tells_the_script(
    client: TestClient, script: Script
) -> None:
    stopped = client.post(f"/api/runs/{script.id}/commands/stop").json()
    reason = "stopped from the page: the script trains on, unobserved"
    assert (stopped["state"], stopped["reason"]) == ("stopped", reason)
    assert script.command() == {"kind": "control", "command": "stop"}
    script.scalars(1, [0.5])  # flushed before its ack: still kept
    script.ack("stop", 1)
    script.ws.close()
    wait_for_loss(client, script.id, 1)
    run = client.get(f"/api/runs/{script.id}").json()
    assert (run["reason"], run["step"]) == (reason, 1)
    assert client.get(f"/api/runs/{script.id}/scalars").json()["loss"] == [0.5]


def test_detach_stops_the_run_with_its_reason_and_the_server_closes(
    client: TestClient, script: Script
) -> None:
    script.scalars(1, [0.5, 0.4])
    script.send({"kind": "detach", "reason": "the script closed its watch at step 2"})
    assert script.closed()[1] == 1000
    run = wait_for_run(client, script.id, "stopped")
    assert (run["state"], run["reason"]) == ("stopped", "the script closed its watch at step 2")


def test_a_connection_closed_without_detach_stops_the_run_with_the_step(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/attach") as ws:
        script = Script(ws).attach()
        script.scalars(1, [0.5, 0.4, 0.3])
    run = wait_for_run(client, script.id, "stopped")
    assert run["reason"] == (
        "the script's connection closed at step 3 (it ended or lost the network)"
    )


def test_dropped_counts_reach_the_page(client: TestClient, script: Script) -> None:
    with client.websocket_connect(f"/ws/runs/{script.id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "hello")
        script.send({"kind": "dropped", "snapshots": 7, "scalars": 2})
        status = stream.until(lambda m: m["type"] == "status")
    attached = status["run"]["attached"]
    assert (attached["dropped_snapshots"], attached["dropped_scalars"]) == (7, 2)
    assert client.get(f"/api/runs/{script.id}").json()["attached"] == attached


def test_each_connection_speaks_and_is_steered_for_its_own_run(client: TestClient) -> None:
    with (
        client.websocket_connect("/ws/attach") as first_ws,
        client.websocket_connect("/ws/attach") as second_ws,
    ):
        first = Script(first_ws).attach(attach_message("first"))
        second = Script(second_ws).attach(attach_message("second"))
        first.scalars(1, [1.0])
        second.scalars(1, [2.0, 2.5])
        wait_for_loss(client, first.id, 1)
        wait_for_loss(client, second.id, 2)
        client.post(f"/api/runs/{second.id}/commands/pause")
        assert second.command() == {"kind": "control", "command": "pause"}
        client.post(f"/api/runs/{first.id}/commands/stop")
        assert first.command() == {"kind": "control", "command": "stop"}  # not second's pause
        first_ws.close()
        assert client.get(f"/api/runs/{first.id}/scalars").json()["loss"] == [1.0]
        assert client.get(f"/api/runs/{second.id}/scalars").json()["loss"] == [2.0, 2.5]
        assert client.get(f"/api/runs/{second.id}").json()["state"] == "paused"


# refusals


def hostile() -> list[Any]:
    big = {f"name{i}": [0.5] for i in range(33)}
    return [
        pytest.param({"kind": "train", "code": "import os"}, "unknown kind 'train'", id="unknown"),
        pytest.param({"loss": [1.0]}, "names its kind", id="no-kind"),
        pytest.param(attach_message(), "attached its run already", id="second-attach"),
        pytest.param(
            {"kind": "logged", "first_step": 1, "values": big}, "at most 32 items", id="names"
        ),
        pytest.param(
            {"kind": "scalars", "first_step": 1, "loss": [], "t0": 1.0, "t1": 1.0},
            "one step at least",
            id="no-loss",
        ),
        pytest.param(
            {"kind": "scalars", "first_step": 2**60, "loss": [1.0], "t0": 1.0, "t1": 1.0},
            "not counts of optimizer steps",
            id="huge-step",
        ),
        pytest.param(
            {"kind": "ack", "command": "reset", "step": 1, "phase": None, "mid_step": False},
            "never sent 'reset'",
            id="ack-reset",
        ),
        pytest.param(
            {"kind": "scalars", "first_step": 1, "loss": ["a"] * 10_000, "t0": 0, "t1": 0},
            "(and 9997 more)",
            id="huge-list",
        ),
        pytest.param(b"\x01\x00", "a 4-byte header length", id="frame-short"),
        pytest.param(b"\xff\x00\x00\x00{}", "does not fit its bytes", id="frame-length"),
        pytest.param(
            b"\x04\x00\x00\x00\xff\xfe\x00\x01",
            "snapshot frame header; Invalid JSON",
            id="frame-not-json",
        ),
        pytest.param(b"\x04\x00\x00\x00{}  ", "Field required", id="frame-header"),
        pytest.param(snapshot(3, view=(1, 5)), "lies outside its 2 floats", id="frame-span"),
        pytest.param(snapshot(-1), "not a count of optimizer steps", id="frame-step"),
    ]


@pytest.mark.parametrize(("message", "complaint"), hostile())
def test_a_hostile_message_is_refused_with_a_reason_and_the_server_goes_on(
    client: TestClient, script: Script, message: dict[str, Any] | bytes, complaint: str
) -> None:
    script.scalars(1, [0.5])
    if isinstance(message, bytes):
        script.ws.send_bytes(message)
    else:
        script.send(message)
    seen, code, reason = script.closed()
    refused = Refused.model_validate(seen[-1])
    assert complaint in refused.reason and code == 1008
    assert reason and len(reason.encode()) <= 123 and refused.reason.startswith(reason[:40])
    run = wait_for_run(client, script.id, "stopped")
    assert run["reason"] == f"the server refused a message from the script: {refused.reason}"
    assert client.get(f"/api/runs/{script.id}/scalars").json()["loss"] == [0.5]
    with client.websocket_connect("/ws/attach") as ws:  # the server goes on
        assert Script(ws).attach().run["state"] == "running"


def test_a_slow_history_holds_back_the_script_not_the_server(
    client: TestClient, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages are kept on the intake's thread: while SQLite is stuck the event loop answers and
    nothing is shown before it is kept; then every step (three intakes' worth) is kept, in
    order."""
    stuck = threading.Event()
    append = History.append_scalars

    def slow(history: History, *args: Any, **kwargs: Any) -> None:
        stuck.wait(timeout=60)
        append(history, *args, **kwargs)

    monkeypatch.setattr(History, "append_scalars", slow)
    count = 3 * INTAKE_LIMIT

    def send_all() -> None:
        for step in range(1, count + 1):
            script.scalars(step, [1.0 / step])

    sender = threading.Thread(target=send_all)
    sender.start()
    for _ in range(5):  # the server answers meanwhile
        assert client.get(f"/api/runs/{script.id}").json()["step"] == 0
    stuck.set()
    sender.join(timeout=60)
    wait_for_loss(client, script.id, count)
    loss = client.get(f"/api/runs/{script.id}/scalars").json()["loss"]
    assert loss == [1.0 / step for step in range(1, count + 1)]


def test_a_message_the_history_cannot_keep_ends_that_run_only(
    client: TestClient, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(*_: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(History, "append_scalars", full_disk)
    script.scalars(1, [0.5])
    seen, code, _ = script.closed()
    assert "could not keep it" in Refused.model_validate(seen[-1]).reason and code == 1008
    assert "disk is full" in wait_for_run(client, script.id, "stopped")["reason"]
    monkeypatch.undo()
    with client.websocket_connect("/ws/attach") as ws:  # the server goes on
        other = Script(ws).attach()
        other.scalars(1, [0.25])
        wait_for_loss(client, other.id, 1)


@pytest.mark.parametrize(
    ("first", "complaint"),
    [
        (b"\x00\x00\x00\x00", "the first message is an attach"),
        ({"kind": "scalars", "first_step": 1, "loss": [1.0], "t0": 0, "t1": 0}, "attach"),
        (attach_message(name=""), "process.name"),
        ({**attach_message(), "parameters": ["p"] * 100_001}, "parameters"),
        ({**attach_message(), "exec": "rm -rf /"}, "exec: Extra inputs are not permitted"),
    ],
)
def test_a_bad_attach_is_refused_and_makes_no_run(
    client: TestClient, first: dict[str, Any] | bytes, complaint: str
) -> None:
    with client.websocket_connect("/ws/attach") as ws:
        script = Script(ws)
        if isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            script.send(first)
        seen, code, _ = script.closed()
    assert complaint in Refused.model_validate(seen[0]).reason and code == 1008
    assert client.get("/api/runs").json() == []


def test_runs_are_capped_for_scripts_as_for_the_servers_own(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", default_run=False, allowed_hosts=["testserver"], max_runs=1
    )
    with TestClient(create_app(settings)) as client, client.websocket_connect("/ws/attach") as ws:
        Script(ws).attach()
        with client.websocket_connect("/ws/attach") as second:
            Script(second).send(attach_message())
            seen, code, _ = Script(second).closed()
        assert "at most 1 runs can be live at once" in seen[0]["reason"] and code == 1013
        assert client.post("/api/runs", json={}).status_code == 429


# the document


def test_every_attach_example_in_the_protocol_document_is_in_the_contract() -> None:
    """docs/protocol.md's /ws/attach examples are fenced ```json attach (the browser stream's
    examples, ```json, are tests/api/test_stream_contract.py's)."""
    blocks = re.findall(r"```json attach\n(.*?)```", PROTOCOL.read_text(), flags=re.DOTALL)
    examples = [json.loads(line) for block in blocks for line in block.splitlines() if line]
    kinds = {example["kind"] for example in examples}
    assert kinds >= {"attach", "attached", "refused", "scalars", "logged", "control", "detach"}
    script: TypeAdapter[Any] = TypeAdapter(ScriptMessage)
    for example in examples:
        match example["kind"]:
            case "attach":
                Attach.model_validate(example)
            case "attached":
                Attached.model_validate(example)
            case "refused":
                Refused.model_validate(example)
            case "control" | "optimizer" | "alerts" | "instrumentation":
                COMMANDS.validate_python(example)
            case _:
                script.validate_python(example)


# a real server


def authorized(server: Server, path: str, token: str) -> Any:
    request = urllib.request.Request(
        server.url + path.lstrip("/"), headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_a_real_server_wants_its_token_and_marks_the_run_when_it_shuts_down(
    tmp_path: Path,
) -> None:
    token = "attach-test-token-0123456789"
    server = Server(tmp_path / "data", free_port(), env={"STEPSCOPE_TOKEN": token})
    server.start()
    address = f"ws://127.0.0.1:{server.port}/ws/attach"
    try:
        with pytest.raises(InvalidStatus) as refused:  # no token: refused at the handshake
            connect(address, proxy=None).close()
        assert refused.value.response.status_code == 403
        bearer = {"Authorization": f"Bearer {token}"}
        with connect(address, additional_headers=bearer, proxy=None, open_timeout=30) as ws:
            ws.send(json.dumps(attach_message()))
            attached = Attached.model_validate_json(ws.recv(timeout=30))
            assert attached.url == f"http://127.0.0.1:{server.port}/#run={attached.run.id}"
            ws.send(
                json.dumps({"kind": "scalars", "first_step": 1, "loss": [0.5], "t0": 0, "t1": 0})
            )
            deadline = time.monotonic() + 30
            while authorized(server, f"api/runs/{attached.run.id}", token)["step"] < 1:
                assert time.monotonic() < deadline, "the scalars were never applied"
                time.sleep(0.05)
            server.stop()  # with the script still attached
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        server.start()
        run = authorized(server, f"api/runs/{attached.run.id}", token)
        assert (run["state"], run["reason"], run["step"]) == ("stopped", "the server shut down", 1)
        assert authorized(server, f"api/runs/{attached.run.id}/scalars", token)["loss"] == [0.5]
    finally:
        server.stop()
