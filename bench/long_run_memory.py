"""The server's memory over a long run: the seed at full speed, one websocket client reading.

    .venv/bin/python bench/long_run_memory.py [--steps 200000] [--baseline 10000]

One `python -m app` in a subprocess, its seed run at full speed ("Max"), one client (the
`websockets` package, in a separate process) reading every message from the start. The RSS
(/proc/<pid>/status VmRSS) of the server and of the run's worker process when the run has taken
`--baseline` steps and at a few points up to `--steps`; the growth is the last against the
baseline. At the end the run is paused and the client's count of steps received is checked
against the run's own step count (every loss delivered exactly once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Server, call, free_port, wait_for_connections


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pid(server_pid: int) -> int:
    """The run's worker: the server's multiprocessing (spawn) child."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and "spawn_main" in cmdline:
            return int(entry.name)
    raise RuntimeError("no worker process")


async def read_all(url: str, steps: Synchronized[int]) -> None:
    """Count every step's loss delivered, as a page would, starting again at each `hello`."""
    import websockets

    async with websockets.connect(url, max_size=None, compression=None) as ws:
        async for message in ws:
            if isinstance(message, bytes):
                continue
            event = json.loads(message)
            if event["type"] == "hello":
                steps.value = 0
            elif event["type"] == "scalars":
                steps.value += len(event["loss"])


def client_process(url: str, steps: Synchronized[int]) -> None:
    asyncio.run(read_all(url, steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    args = parser.parse_args()
    marks = sorted({args.baseline, *range(50_000, args.steps, 50_000), args.steps})
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows: list[tuple[int, float, float, float]] = []
    context = multiprocessing.get_context("spawn")
    received = context.Value("q", 0)
    client: multiprocessing.process.BaseProcess | None = None
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data", free_port())
        server.start()
        assert server.process is not None
        try:
            run_id = call(server, "api/runs")[0]["id"]
            worker = worker_pid(server.process.pid)
            url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}"
            client = context.Process(target=client_process, args=(url, received), daemon=True)
            client.start()
            wait_for_connections(server, 1, 60)
            print(
                f"at step 0: server {rss_mb(server.process.pid):.1f} MB, worker {rss_mb(worker):.1f} MB"
            )
            call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
            started = time.monotonic()
            call(server, f"api/runs/{run_id}/commands/start", "POST")
            for mark in marks:
                while (step := call(server, f"api/runs/{run_id}")["step"]) < mark:
                    time.sleep(0.05)
                server_mb, worker_mb = rss_mb(server.process.pid), rss_mb(worker)
                rows.append((step, time.monotonic() - started, server_mb, worker_mb))
            call(server, f"api/runs/{run_id}/commands/pause", "POST")
            while call(server, f"api/runs/{run_id}")["state"] != "paused":
                time.sleep(0.05)
            time.sleep(1.0)  # the pause's acknowledgement: its last steps are sent by now
            final = call(server, f"api/runs/{run_id}")["step"]
            deadline = time.monotonic() + 30
            while received.value != final and time.monotonic() < deadline:
                time.sleep(0.1)
            connections = call(server, "api/server")["connections"]
        finally:
            if client is not None:  # first: the server's going away is no news to report
                client.terminate()
                client.join(timeout=10)
            server.stop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| step | seconds | server RSS, MB | worker RSS, MB |")
    print("| ---: | ---: | ---: | ---: |")
    for step, seconds, server_mb, worker_mb in rows:
        print(f"| {step:,} | {seconds:.1f} | {server_mb:.1f} | {worker_mb:.1f} |")
    base, last = rows[0], rows[-1]
    print(
        f"growth from step {base[0]:,} to {last[0]:,}: server {last[2] - base[2]:+.1f} MB, "
        f"worker {last[3] - base[3]:+.1f} MB (goal ≤ 50 MB)"
    )
    print(
        f"the client received {received.value:,} steps' losses of {final:,} "
        f"({'every one' if received.value == final else 'NOT every one'}); "
        f"connections at the end: {connections}"
    )


if __name__ == "__main__":
    main()
