"""Threats from web pages: any site a user visits can open ws://localhost, post forms to it, or
rebind its own DNS name to 127.0.0.1. Origin, Host and cross-site checks stop them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.settings import Settings

OWN = "http://127.0.0.1:8000"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path, default_run=False, allowed_origins=["http://lab.example:9000"]
    )
    with TestClient(create_app(settings), base_url=OWN) as test_client:
        yield test_client


def run_id(client: TestClient) -> str:
    created: str = client.post("/api/runs", json={}).json()["id"]
    return created


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:9999"])
def test_websocket_from_a_foreign_origin_is_refused(client: TestClient, origin: str) -> None:
    path = f"ws://127.0.0.1:8000/ws/runs/{run_id(client)}"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(path, headers={"Origin": origin}),
    ):
        pass
    assert refused.value.code == 4403


@pytest.mark.parametrize("origin", [OWN, "http://lab.example:9000"])
def test_websocket_from_the_own_or_an_allowed_origin_is_accepted(
    client: TestClient, origin: str
) -> None:
    path = f"ws://127.0.0.1:8000/ws/runs/{run_id(client)}"
    with client.websocket_connect(path, headers={"Origin": origin}) as ws:
        assert '"hello"' in ws.receive_text()


def test_dns_rebinding_is_refused(client: TestClient) -> None:
    rebound = {"Host": "evil.example:8000"}
    assert client.get("/api/runs", headers=rebound).status_code == 403
    # the page itself too, so a rebound page cannot even load
    assert client.get("/", headers=rebound).status_code == 403
    for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_cross_site_state_changes_are_refused(client: TestClient, headers: dict[str, str]) -> None:
    target = run_id(client)
    response = client.post(f"/api/runs/{target}/commands/start", headers=headers)
    assert response.status_code == 403
    assert client.get(f"/api/runs/{target}").json()["state"] == "idle"  # nothing happened
    assert client.post("/api/runs", json={}, headers=headers).status_code == 403


def test_same_origin_state_changes_work(client: TestClient) -> None:
    target = run_id(client)
    response = client.post(
        f"/api/runs/{target}/commands/start",
        headers={"Origin": OWN, "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200 and response.json()["state"] == "running"
