"""docs/protocol.md, the sentences only a real server can show: close codes as a client sees them,
on the wire."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterator

import pytest
import websockets

from tests.support import Server, call, free_port, stalled_websocket, wait_for_connections

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("protocol") / "data",
        free_port(),
        env={"STEPSCOPE_SEND_TIMEOUT": "2", "STEPSCOPE_QUEUE_LIMIT": "8"},
    )
    running.start()
    yield running
    running.stop()


def test_an_unknown_run_id_is_accepted_then_closed_with_4404(server: Server) -> None:
    async def connect() -> tuple[int | None, str | None]:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws/runs/nope") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            frame = closed.value.rcvd
            return (None, None) if frame is None else (frame.code, frame.reason)

    assert asyncio.run(connect()) == (4404, "no run with id 'nope'")


def read_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Server frames (unmasked) as (opcode, payload); a trailing partial frame is left out."""
    frames, at = [], 0
    while at + 2 <= len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if length == 126:
            (length,) = struct.unpack_from(">H", data, at)
            at += 2
        elif length == 127:
            (length,) = struct.unpack_from(">Q", data, at)
            at += 8
        if at + length > len(data):
            break
        frames.append((opcode, data[at : at + length]))
        at += length
    return frames


def test_a_client_dropped_for_being_slow_receives_1008_before_the_tcp_close(
    server: Server,
) -> None:
    # A race of four: each step streams thirteen numbers, so the server's socket buffers (which
    # the kernel grows to megabytes) fill within seconds, and the client is dropped well before
    # the server's keepalive (a ping every 20 s, answered within 20 s) would close it with 1011.
    racers = [{"name": name, "lr": 0.01} for name in ("adam", "rmsprop", "adagrad", "nadam")]
    config = {"experiment": "surface-2d", "race": racers, "steps_per_second": None}
    run_id = call(server, "/api/runs", "POST", config)["id"]
    call(server, f"/api/runs/{run_id}/commands/start", "POST")
    deadline = time.monotonic() + 120
    while call(server, f"/api/runs/{run_id}")["step"] < 5000:
        assert time.monotonic() < deadline, "the run did not train"
        time.sleep(0.2)
    connected_at = time.monotonic()
    stalled = stalled_websocket(server, run_id)
    try:
        # Read nothing until the server has taken the client in, and then let it go.
        wait_for_connections(server, 1, 30)
        wait_for_connections(server, 0, 30)
        dropped_at = time.monotonic()
        received = bytearray()
        stalled.settimeout(30)
        while chunk := stalled.recv(1 << 16):
            received += chunk
    finally:
        stalled.close()
        call(server, f"/api/runs/{run_id}/commands/stop", "POST")
    assert dropped_at - connected_at < 30  # before the keepalive could have closed it
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    opcode, payload = read_frames(body)[-1]
    assert opcode == 0x8, "the last frame before the TCP close is a close frame"
    assert struct.unpack_from(">H", payload)[0] == 1008
    assert payload[2:] == b"client too slow"
