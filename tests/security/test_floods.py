"""Threat: floods and misbehaving clients against the real server. 500 connects in a burst, clients
that vanish mid-frame and a client that never reads leave memory bounded and the connection
registry back at zero, while training goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.support import Server, call, free_port, stalled_websocket, wait_for_connections

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
    wait_for_connections(server, 0, 30)
    assert rss_mb(server.process.pid) < before + 150
    assert call(server, "/healthz")["status"] == "ok"
    assert call(server, f"/api/runs/{run_id}")["state"] == "running"


def test_a_client_that_never_reads_is_disconnected(server: Server) -> None:
    assert server.process is not None
    run_id = running_run(server)
    stalled = stalled_websocket(server, run_id)
    try:
        wait_for_connections(server, 1, 30)
        before = rss_mb(server.process.pid)
        # The queue overflows, a resync sends the whole history, the send stalls, and after the
        # send timeout (2 s here) the server lets the client go.
        wait_for_connections(server, 0, 90)
        assert rss_mb(server.process.pid) < before + 150
        assert call(server, f"/api/runs/{run_id}")["state"] == "running"
    finally:
        stalled.close()
