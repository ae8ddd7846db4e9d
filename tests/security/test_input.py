"""Threat: bad or hostile input. Every config and command is validated with limits and answered
with 422 and a message; sizes and counts are capped; nothing from a client is run or used as a path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path,
        default_run=False,
        allowed_hosts=["testserver"],
        max_runs=2,
        max_connections=2,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"n_samples": 10**9}, "n_samples"),
        ({"batch_size": -5}, "batch_size"),
        ({"noise": "Infinity"}, "noise"),
        ({"seed": 2**40}, "seed"),
        ({"steps_per_second": 0}, "steps_per_second"),
        ({"optimizer": {"name": "adam", "lr": 1e9}}, "lr"),
        ({"optimizer": {"name": "adam", "beta1": 1.0}}, "beta1"),
        ({"optimizer": {"name": "rmsprop", "eps": 0}}, "eps"),
        ({"experiment": "../../etc/passwd"}, "experiment"),
        ({"experiment": "os.system"}, "experiment"),
    ],
)
def test_configs_out_of_range_get_422_naming_the_field(
    client: TestClient, config: dict[str, Any], field: str
) -> None:
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(field in problem["loc"] for problem in problems), problems
    assert all(problem["msg"] for problem in problems)


def test_not_json_and_wrong_types_get_422(client: TestClient) -> None:
    response = client.post(
        "/api/runs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert client.put("/api/runs/x/pace", json={"steps_per_second": "fast"}).status_code == 422


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    big = b'{"seed": 1, "pad": "' + b"x" * 100_000 + b'"}'
    response = client.post("/api/runs", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "limited" in response.json()["detail"]


def test_live_runs_are_capped(client: TestClient) -> None:
    first = client.post("/api/runs", json={}).json()["id"]
    client.post("/api/runs", json={})
    refused = client.post("/api/runs", json={})
    assert refused.status_code == 429 and "at most 2 runs" in refused.json()["detail"]
    client.post(f"/api/runs/{first}/commands/stop")
    assert client.post("/api/runs", json={}).status_code == 201  # a stopped run frees its place


def test_connections_are_capped(client: TestClient) -> None:
    run_id = client.post("/api/runs", json={}).json()["id"]
    with (
        client.websocket_connect(f"/ws/runs/{run_id}"),
        client.websocket_connect(f"/ws/runs/{run_id}"),
    ):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(f"/ws/runs/{run_id}") as ws,
        ):
            ws.receive_text()
        assert refused.value.code == 1013
    assert client.get("/api/server").json()["connections"] == 0
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:  # places free again
        assert '"hello"' in ws.receive_text()


def test_websocket_messages_are_capped_and_never_executed(client: TestClient) -> None:
    run_id = client.post("/api/runs", json={}).json()["id"]
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        ws.receive_text()
        ws.send_text("x" * 100_000)
        ws.send_text('{"type": "command", "command": "__import__(\'os\').system(\'id\')"}')
        ws.send_bytes(b"\x00\x01")
        errors = []
        while len(errors) < 3:
            message = ws.receive_text()
            if '"error"' in message:
                errors.append(message)
    assert "under 4096 bytes" in errors[0] and "unknown message" in errors[1]
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "idle"


def test_run_ids_are_only_looked_up_never_used_as_paths(client: TestClient) -> None:
    for run_id in ("..", "../../etc/passwd", "%2e%2e%2fdata", "x" * 500):
        response = client.get(f"/api/runs/{run_id}/scalars")
        assert response.status_code == 404, run_id
