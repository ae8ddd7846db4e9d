"""Threat: anyone who can reach the port controls training (ShadowRay). Loopback by default; a
token on every route, HTTP and websocket, as soon as the server listens anywhere else."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.security.guard import COOKIE
from app.settings import Settings

TOKEN = "a-test-token-that-is-long-enough"


@pytest.fixture
def exposed(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(host="0.0.0.0", token=TOKEN, data_dir=tmp_path, default_run=False)
    with TestClient(create_app(settings)) as client:
        yield client


def flatten(routes: list[Any]) -> Iterator[Any]:
    """Routes, with included routers opened up (their routes carry the full path)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flatten(included.routes)
        else:
            yield route


def every_route(client: TestClient) -> list[tuple[str, str]]:
    """(method or "WS", concrete path) for every route the app has, so none can be missed."""
    found = []
    for route in flatten(client.app.routes):  # type: ignore[attr-defined]
        path = re.sub(r"\{command\}", "start", route.path)
        path = re.sub(r"\{[^}]+\}", "x", path)
        if isinstance(route, APIRoute):
            found += [(method, path) for method in sorted(route.methods)]
        elif isinstance(route, WebSocketRoute):
            found.append(("WS", path))
        elif isinstance(route, Mount):
            found.append(("GET", path + "/css/app.css"))
        else:
            found.append(("GET", path))  # the OpenAPI schema and docs pages
    return found


def test_loopback_is_the_default_and_needs_no_token(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, default_run=False)
    assert settings.host == "127.0.0.1" and settings.token is None
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/runs").status_code == 200


def test_exposed_without_a_token_generates_one(tmp_path: Path) -> None:
    app = create_app(Settings(host="0.0.0.0", data_dir=tmp_path, default_run=False))
    with TestClient(app) as client:
        token = (tmp_path / "token").read_text()
        assert len(token) >= 32
        assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
        assert client.get("/api/server").status_code == 401
        assert client.get("/api/server", headers={"Authorization": f"Bearer {token}"}).is_success


def test_healthz_needs_no_token_and_tells_nothing_more(exposed: TestClient) -> None:
    for host in ("testserver", "10.1.2.3:8000", "pod.internal"):
        response = exposed.get("/healthz", headers={"Host": host})
        assert response.status_code == 200, host
        assert response.json() == {"status": "ok"}
    assert exposed.head("/healthz").status_code in (200, 405)
    # only the probe is open: the same server still guards everything else
    assert exposed.get("/api/server").status_code == 401
    assert exposed.post("/healthz").status_code in (401, 405)


def test_every_route_refuses_a_request_without_the_token(exposed: TestClient) -> None:
    routes = every_route(exposed)
    assert ("WS", "/ws/runs/x") in routes and ("GET", "/api/server") in routes
    assert len(routes) >= 12
    for method, path in routes:
        if path == "/healthz":
            continue  # open on purpose: test_healthz_needs_no_token_and_tells_nothing_more
        if method == "WS":
            with pytest.raises(WebSocketDisconnect) as refused, exposed.websocket_connect(path):
                pass
            assert refused.value.code == 4401, path
            continue
        response = exposed.request(method, path)
        assert response.status_code == 401, (method, path)
        assert "token" in response.json()["detail"]
        wrong = exposed.request(method, path, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401, (method, path)


def test_the_token_opens_every_route(exposed: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in every_route(exposed):
        if method == "WS":
            continue
        assert exposed.request(method, path, headers=bearer).status_code != 401, (method, path)
    run_id = exposed.post("/api/runs", json={}, headers=bearer).json()["id"]
    with exposed.websocket_connect(f"/ws/runs/{run_id}", headers=bearer) as ws:
        assert '"hello"' in ws.receive_text()


def test_the_url_token_becomes_a_cookie(exposed: TestClient) -> None:
    response = exposed.get(f"/?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    exposed.cookies.set(COOKIE, TOKEN)
    assert exposed.get("/api/runs").status_code == 200
    exposed.cookies.clear()
    assert exposed.get("/?token=wrong", follow_redirects=False).status_code == 401


def test_the_cli_prints_the_token_url_when_exposed(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = process.stdout.readline() + process.stdout.readline()
    finally:
        process.kill()
        process.wait()
    assert "needs the token" in printed
    assert re.search(r"open http://127\.0\.0\.1:0/\?token=[\w-]{32,}", printed)
