"""The stream as `stepscope` serves it: no per-message deflate, so a frame encoded once for all
its viewers is not compressed again for each one (bench/viewers.py, BENCHMARKS.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.support import Server, call, free_port

pytestmark = pytest.mark.slow


def test_the_stream_declines_per_message_deflate(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", free_port())
    server.start()
    try:
        run_id = call(server, "api/runs")[0]["id"]
        url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}"
        # offered, as every browser offers it
        with connect(url, compression="deflate") as ws:
            assert ws.request is not None and ws.response is not None
            assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    finally:
        server.stop()
