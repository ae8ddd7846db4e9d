"""Fan-out: the seed at full speed with 50 websocket clients reading and one that never reads.

    .venv/bin/python bench/fanout.py [--seconds 10] [--clients 50]

One `python -m app` in a subprocess (its default settings: send_timeout 10 s, 64 connections at
most), its seed run at full speed ("Max"), and in one run, `--seconds` a phase:
1. no client: steps/s from the run's step count, the server's RSS (/proc/<pid>/status VmRSS,
   every 0.1 s);
2. `--clients` websocket clients (the `websockets` package, one asyncio loop in a separate
   process) reading every message, measured once every one has its history (the connect burst
   over): steps/s, the server's RSS, and for every live `scalars` message the delay from its `t1`
   (the worker's wall clock when it sent the batch) to the client receiving it;
3. the same clients plus one that opens a websocket with a 4 KiB receive buffer and never reads
   (tests/support.py's stalled_websocket): the same figures over its first `--seconds`, then the
   server's RSS until the server stops counting it, then what it finds when it finally reads (a
   1008 close frame, or a new `hello`: a resync);
4. the same clients again, the stalled one gone; 5. no client again.
The ratios are against the mean of 1 and 5. Server, worker and clients share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Server, call, free_port, stalled_websocket, wait_for_connections

WARM_UP = 2.0  # the worker's first steps; the clients' history replay


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# The clients, in their own process -------------------------------------------------------------


async def reader(
    url: str, received: list[tuple[float, float]], ends: list[str], replayed: asyncio.Queue[None]
) -> None:
    """One healthy client: reads every message; keeps (arrival, arrival − t1) of live scalars,
    and says when the history replay on connect has arrived."""
    import websockets

    hellos = 0
    try:
        async with websockets.connect(url, max_size=None, compression=None) as ws:
            async for message in ws:
                if isinstance(message, bytes):
                    continue  # a snapshot
                now = time.time()
                event = json.loads(message)
                if event["type"] == "hello":
                    hellos += 1
                elif event["type"] == "scalars" and event["history"] and hellos == 1:
                    replayed.put_nowait(None)
                elif event["type"] == "scalars" and not event["history"] and event["t1"]:
                    received.append((now, now - event["t1"]))
        ends.append(f"closed {ws.close_code}")
    except asyncio.CancelledError:
        ends.append("resynced" if hellos > 1 else "open")
        raise
    except Exception as error:  # reported in the table, not hidden
        ends.append(f"{type(error).__name__}: {error}")


async def clients(url: str, count: int, control: Connection) -> None:
    received: list[tuple[float, float]] = []
    ends: list[str] = []
    replayed: asyncio.Queue[None] = asyncio.Queue()
    tasks = [asyncio.create_task(reader(url, received, ends, replayed)) for _ in range(count)]
    for _ in range(count):
        await replayed.get()
    control.send("replayed")  # every client has its history: the connect burst is over
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, control.recv)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    control.send({"received": received, "ends": ends})


def client_process(url: str, count: int, control: Connection) -> None:
    asyncio.run(clients(url, count, control))


# The stalled client ------------------------------------------------------------------------------


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """The complete websocket frames (opcode, payload) at the start of `body` (server frames are
    not masked)."""
    found, position = [], 0
    while position + 2 <= len(body):
        opcode, length, header = body[position] & 0x0F, body[position + 1] & 0x7F, 2
        if length == 126:
            length, header = int.from_bytes(body[position + 2 : position + 4], "big"), 4
        elif length == 127:
            length, header = int.from_bytes(body[position + 2 : position + 10], "big"), 10
        if position + header + length > len(body):
            break
        found.append((opcode, body[position + header : position + header + length]))
        position += header + length
    return found


def read_stalled(stalled: socket.socket, limit: float) -> str:
    """Read what the server queued for the stalled client, until its close frame, the end of the
    connection, or `limit` seconds: how it ended (a 1008 close frame, or a fresh `hello`: a
    resync)."""
    stalled.settimeout(limit)
    data = bytearray()
    deadline = time.monotonic() + limit
    received: list[tuple[int, bytes]] = []
    try:
        while time.monotonic() < deadline:
            chunk = stalled.recv(1 << 20)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                received = frames(bytes(data[data.index(b"\r\n\r\n") + 4 :]))
                if received and received[-1][0] == 0x8:
                    break
    except TimeoutError:
        pass
    hellos = sum(1 for op, payload in received if op == 0x1 and b'"type":"hello"' in payload[:40])
    close = "no close frame"
    for opcode, payload in received:
        if opcode == 0x8:
            close = f"close {int.from_bytes(payload[:2], 'big')} {payload[2:].decode()!r}"
    return f"{close}; {hellos} hello(s); {len(data):,} bytes read after the stall"


# The measurement ---------------------------------------------------------------------------------


def window(server: Server, run_id: str, seconds: float) -> dict[str, Any]:
    """Steps/s over `seconds`, sampling the server's RSS every 0.1 s."""
    assert server.process is not None
    rss, cpu = [rss_mb(server.process.pid)], cpu_seconds(server.process.pid)
    first, started = call(server, f"api/runs/{run_id}")["step"], time.perf_counter()
    while time.perf_counter() - started < seconds:
        time.sleep(0.1)
        rss.append(rss_mb(server.process.pid))
    last, elapsed = call(server, f"api/runs/{run_id}")["step"], time.perf_counter() - started
    return {
        "rate": (last - first) / elapsed,
        "rss": rss,
        "from": time.time() - elapsed,
        "cpu": (cpu_seconds(server.process.pid) - cpu) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--send-timeout", type=float, default=10.0, help="the server's; default 10")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        send_timeout = args.send_timeout
        env = {"STEPSCOPE_SEND_TIMEOUT": str(send_timeout)}
        server = Server(Path(folder) / "data", free_port(), env=env)
        server.start()
        assert server.process is not None
        try:
            run_id = call(server, "api/runs")[0]["id"]
            call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
            call(server, f"api/runs/{run_id}/commands/start", "POST")
            time.sleep(WARM_UP)
            alone = window(server, run_id, args.seconds)

            url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}"
            control, theirs = multiprocessing.Pipe()
            process = multiprocessing.get_context("spawn").Process(
                target=client_process, args=(url, args.clients, theirs)
            )
            process.start()
            wait_for_connections(server, args.clients, 60)
            assert control.poll(120) and control.recv() == "replayed"
            time.sleep(WARM_UP)
            healthy = window(server, run_id, args.seconds)

            stalled = stalled_websocket(server, run_id)
            wait_for_connections(server, args.clients + 1, 10)
            connected = time.monotonic()
            with_stalled = window(server, run_id, args.seconds)
            # until the server stops counting it (dropped), sampling the server's RSS
            peak, limit = max(with_stalled["rss"]), 12 * send_timeout + 30
            while call(server, "api/server")["connections"] > args.clients:
                if time.monotonic() - connected > limit:
                    break
                time.sleep(0.1)
                peak = max(peak, rss_mb(server.process.pid))
            dropped_after = time.monotonic() - connected
            still_counted = call(server, "api/server")["connections"] > args.clients
            after_drop = rss_mb(server.process.pid)
            fate = read_stalled(stalled, 3 * send_timeout + 5)
            stalled.close()
            time.sleep(WARM_UP)
            healthy_again = window(server, run_id, args.seconds)

            control.send("stop")
            results = control.recv()
            process.join(timeout=30)
            wait_for_connections(server, 0, 30)
            time.sleep(WARM_UP)
            alone_again = window(server, run_id, args.seconds)
            step = call(server, f"api/runs/{run_id}")["step"]
        finally:
            server.stop()

    def latencies(phase: dict[str, Any]) -> list[float]:
        until = phase["from"] + args.seconds
        return [1000 * d for at, d in results["received"] if phase["from"] <= at <= until]

    n = args.clients
    bare = (alone["rate"] + alone_again["rate"]) / 2
    ends: dict[str, int] = {}
    for end in results["ends"]:
        ends[end] = ends.get(end, 0) + 1
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"send_timeout {send_timeout} s; {step:,} steps in all; {args.seconds:.0f} s a phase")
    print(
        "| phase, in order | steps/s | / no client | latency t1 → client, ms: median, p95, max "
        "(messages) | server RSS, MB: median, max | server CPU, % of a core |"
    )
    print("| --- | ---: | ---: | --- | --- | ---: |")
    phases = (
        ("no client", alone),
        (f"{n} clients reading", healthy),
        (f"{n} clients + 1 stalled (its first {args.seconds:.0f} s)", with_stalled),
        (f"{n} clients, the stalled one dropped", healthy_again),
        ("no client again", alone_again),
    )
    for name, phase in phases:
        values = latencies(phase)
        delay = (
            f"{statistics.median(values):.1f}, {percentile(values, 0.95):.1f}, "
            f"{max(values):.1f} ({len(values):,})"
            if values
            else "—"
        )
        print(
            f"| {name} | {phase['rate']:,.0f} | {phase['rate'] / bare:.3f} | {delay} | "
            f"{statistics.median(phase['rss']):.1f}, {max(phase['rss']):.1f} | "
            f"{100 * phase['cpu']:.0f} |"
        )
    base = statistics.median(healthy["rss"])
    print(
        f"server RSS with the stalled client, max until dropped: {peak:.1f} MB, "
        f"{peak - base:+.1f} MB against the {n} clients' median; after the drop {after_drop:.1f}"
    )
    state = "no longer counted" if not still_counted else "STILL counted"
    print(f"stalled client: {state} {dropped_after:.1f} s after it connected")
    print(f"stalled client, reading at last: {fate}")
    print(f"healthy clients at the end: {ends}")


if __name__ == "__main__":
    main()
