"""Threat: floods and misbehaving clients against the real server. 500 connects in a burst, clients
that vanish mid-frame and a client that never reads leave memory bounded and the connection
registry back at zero, while training goes on."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.support import Server, call, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data", free_port(), env={"STEPSCOPE_SEND_TIMEOUT": "2"})
    running.start()
    yield running
    running.stop()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def connections_drop_to_zero(server: Server, limit: float) -> None:
    deadline = time.monotonic() + limit
    while call(server, "/api/server")["connections"] != 0:
        assert time.monotonic() < deadline, call(server, "/api/server")
        time.sleep(0.2)


def running_run(server: Server) -> str:
    run_id: str = call(server, "/api/runs")[0]["id"]
    call(server, f"/api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
    call(server, f"/api/runs/{run_id}/commands/start", "POST")
    return run_id


def test_a_burst_of_500_connects_that_vanish_mid_frame(server: Server) -> None:
    assert server.process is not None
    run_id = running_run(server)
    url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}"
    before = rss_mb(server.process.pid)

    async def one() -> str:
        try:
            ws = await websockets.connect(url, open_timeout=30)
        except Exception as error:  # the backlog was full
            return type(error).__name__
        try:
            await ws.recv()  # take a frame or two, then vanish without a closing handshake
        except websockets.ConnectionClosed as closed:  # past the cap: accepted, closed with 1013
            assert closed.rcvd is not None and closed.rcvd.code == 1013
            return "refused"
        ws.transport.abort()
        return "connected"

    async def burst() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(500)))

    outcomes = asyncio.run(burst())
    assert outcomes.count("connected") >= 64  # up to the cap, at least
    connections_drop_to_zero(server, 30)
    assert rss_mb(server.process.pid) < before + 150
    assert call(server, "/healthz")["status"] == "ok"
    assert call(server, f"/api/runs/{run_id}")["state"] == "running"


def test_a_client_that_never_reads_is_disconnected(server: Server) -> None:
    assert server.process is not None
    run_id = running_run(server)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    stalled.sendall(
        (
            f"GET /ws/runs/{run_id} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    try:
        time.sleep(1.0)
        assert call(server, "/api/server")["connections"] == 1
        before = rss_mb(server.process.pid)
        # The queue overflows, a resync sends the whole history, the send stalls, and after the
        # send timeout (2 s here) the server lets the client go.
        connections_drop_to_zero(server, 90)
        assert rss_mb(server.process.pid) < before + 150
        assert call(server, f"/api/runs/{run_id}")["state"] == "running"
    finally:
        stalled.close()
