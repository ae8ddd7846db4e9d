"""Threat: a page framed by another site (clickjacking), scripts injected into the page, a
response sniffed as another type, the URL leaked to other sites, a window opener reaching in; and
request headers big enough to tie up the parser. Every response carries the security headers;
oversized headers are refused."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.main import create_app
from app.security.headers import MAX_HEADER_BYTES, PARSER_LIMIT_BYTES
from app.settings import PROJECT_ROOT, Settings
from tests.security.test_exposure import TOKEN, every_route
from tests.support import Server, free_port

STATIC = PROJECT_ROOT / "static"


def check(response: httpx.Response, what: str) -> None:
    """The headers, read as a browser would: each one present once, with its value."""
    headers = response.headers
    for name, value in (
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("x-frame-options", "DENY"),
    ):
        assert headers.get_list(name) == [value], (what, name, headers.get_list(name))
    policies = headers.get_list("content-security-policy")
    assert len(policies) == 1, (what, policies)
    directives = {
        d.split()[0]: d.split()[1:] for d in (p.strip() for p in policies[0].split(";")) if d
    }
    assert directives["frame-ancestors"] == ["'none'"], what
    assert directives["object-src"] == ["'none'"], what
    assert directives["base-uri"] == ["'none'"], what
    assert directives["default-src"] == ["'self'"], what
    for directive in ("script-src", "style-src"):
        assert "'self'" in directives[directive], (what, directive)
        for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            assert loose not in directives[directive], (what, directive, loose)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, default_run=False, allowed_hosts=["testserver"])
    app = create_app(settings)

    @app.get("/test-only/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in a route")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_route_and_its_answers_carry_the_headers(client: TestClient) -> None:
    routes = every_route(client)
    assert ("GET", "/") in routes and ("GET", "/docs") in routes
    run_id = client.post("/api/runs", json={"steps_per_second": None}).json()["id"]
    statuses = set()
    for method, path in routes:
        if method == "WS":
            continue
        # once with a made-up id (404s and 422s), once with a real run's id
        for concrete in {path, path.replace("/x", f"/{run_id}")}:
            response = client.request(method, concrete)
            check(response, f"{method} {concrete} -> {response.status_code}")
            statuses.add(response.status_code)
    assert {200, 404}.issubset(statuses) and statuses & {409, 422}, statuses


def test_every_static_file_carries_the_headers(client: TestClient) -> None:
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".js", ".css", ".json"}.issubset(kinds), kinds
    for path in files:
        url = "/static/" + path.relative_to(STATIC).as_posix()
        response = client.get(url)
        assert response.status_code == 200, url
        check(response, url)
    check(client.get("/static/no-such-file.js"), "a missing static file")


def test_errors_carry_the_headers(client: TestClient, tmp_path: Path) -> None:
    boom = client.get("/test-only/boom")
    assert boom.status_code == 500
    check(boom, "500 from a route that raised")
    check(client.get("/no/such/page"), "404")
    check(client.delete("/api/runs"), "405")
    check(client.post("/api/runs", json={"lr": "fast"}), "422")
    check(client.get("/", headers={"Host": "evil.example"}), "403 from the guard (Host)")
    big = client.post("/api/runs", content=b"x" * (70 * 1024))
    assert big.status_code == 413
    check(big, "413 from the guard")
    exposed = Settings(
        host="0.0.0.0", token=TOKEN, data_dir=tmp_path / "exposed", default_run=False
    )
    with TestClient(create_app(exposed)) as locked:
        check(locked.get("/api/runs"), "401 from the guard")
        redirect = locked.get(f"/?token={TOKEN}", follow_redirects=False)
        assert redirect.status_code == 303
        check(redirect, "303 that sets the token cookie")


def test_headers_over_the_limit_are_refused_with_431(client: TestClient) -> None:
    under = {"X-Padding": "x" * (MAX_HEADER_BYTES - 1024)}
    assert client.get("/api/runs", headers=under).status_code == 200
    over = {"Cookie": "a=" + "x" * MAX_HEADER_BYTES}
    response = client.get("/api/runs", headers=over)
    assert response.status_code == 431
    assert "limited to 16384 bytes" in response.json()["detail"]
    check(response, "431")
    # many small headers add up the same
    many = {f"X-Padding-{i}": "x" * 100 for i in range(MAX_HEADER_BYTES // 100)}
    assert client.get("/api/runs", headers=many).status_code == 431
    run_id = client.post("/api/runs", json={}).json()["id"]
    ws = f"/ws/runs/{run_id}"
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(ws, headers=over):
        pass
    assert refused.value.code == 1009


def test_the_docs_page_allows_its_own_script_by_hash_only(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    check(response, "/docs")
    policy = response.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    # the app's own page gets the strict policy, with no outside host at all
    assert "https:" not in client.get("/").headers["content-security-policy"]


def raw_request(port: int, headers: bytes) -> bytes:
    """What the real server answers to a GET with these header lines (until it closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        request = b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
        # refused before it was all sent, its answer is still there to read
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(request + b"Connection: close\r\n\r\n")
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                answer += chunk
        return answer


@pytest.mark.slow
def test_the_real_server_refuses_oversized_headers(tmp_path: Path) -> None:
    """Through uvicorn as `stepscope` starts it: 431 from the app up to the parser's limit; past
    it, the parser itself answers 400 and closes, having buffered no more than the limit."""
    server = Server(tmp_path / "data", free_port())
    server.start()
    try:
        assert raw_request(server.port, b"").startswith(b"HTTP/1.1 200")
        cookie = b"Cookie: a=" + b"x" * (2 * MAX_HEADER_BYTES) + b"\r\n"
        answer = raw_request(server.port, cookie)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        assert b"content-security-policy:" in answer.lower()
        # h11 counts what it holds between reads, so a flood far over the limit, arriving in
        # many reads, meets it (one that fits a single read is parsed whole, then gets the 431)
        flood = b"Cookie: a=" + b"x" * (16 * PARSER_LIMIT_BYTES) + b"\r\n"
        assert raw_request(server.port, flood).startswith(b"HTTP/1.1 400"), "parser limit"
        assert raw_request(server.port, b"").startswith(b"HTTP/1.1 200")  # still serving
    finally:
        server.stop()
