"""A room watching one run: training speed with 500 viewers against none, their latency, memory.

    .venv/bin/python bench/viewers.py [--viewers 500] [--rounds 3] [--seconds 8] [--room-nice 0]

One `python -m app` in a subprocess, as `stepscope` starts it (STEPSCOPE_MAX_CONNECTIONS raised
to let the room in), its seed run at full speed ("Max"). The viewers are `--viewers` websocket
clients (the `websockets` package, offering permessage-deflate as browsers do) on one asyncio
loop in a separate process; each reads every message.

Rounds, interleaved so that the machine's other load falls on both sides alike: in each, the run
is paused and reset (so that a round's connect replays a short history, not the whole benchmark's),
then
1. unwatched: started, and after a warm-up, steps/s over `--seconds` from the run's step count;
2. watched: paused and reset again, the viewers connect and receive their history, the run is
   started, and after the same warm-up the same measurement; then the viewers leave and the
   server's connection count is waited back to zero.
Beside each window: the server's RSS (VmRSS every 0.1 s) and CPU, the viewers' process CPU, and
the worker's time on a CPU and waiting runnable for one (/proc/<pid>/task/*/schedstat): a worker
that waits for a CPU is crowded out by other processes (this machine has two cores, shared with
other work), one that neither runs nor waits is blocked (on its pipe to the server).
Latency: for every live `scalars` message, arrival at the viewer − its `t1` (the worker's wall
clock when it sent the batch), so it covers worker → relay → hub → every socket → client. (A
message that joins several batches carries the newest one's `t1`.)
The ratio is watched / unwatched per round, and the median over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fanout import cpu_seconds, percentile, rss_mb
from tests.support import Server, call, free_port, wait_for_connections

WARM_UP = 2.0  # seconds after a start before a window: the worker's first steps, the page replay
CONNECTING = 64  # handshakes in flight at once, as a room's browsers arrive over a few seconds


# The viewers, in their own process --------------------------------------------------------------


class Room:
    def __init__(self) -> None:
        self.received: list[tuple[float, float]] = []  # (arrival, arrival − t1) of live scalars
        self.messages = 0
        self.bytes = 0
        self.ends: dict[str, int] = {}
        self.ready: asyncio.Queue[None] = asyncio.Queue()

    def end(self, how: str) -> None:
        self.ends[how] = self.ends.get(how, 0) + 1


async def viewer(url: str, room: Room, gate: asyncio.Semaphore) -> None:
    import websockets

    hellos = 0
    try:
        async with gate:
            ws = await websockets.connect(url, max_size=None, open_timeout=60)
        async with ws:
            async for message in ws:
                room.messages += 1
                room.bytes += len(message)
                if isinstance(message, bytes):
                    continue  # a snapshot
                head = message[:48]
                if '"hello"' in head:
                    hellos += 1
                    if hellos == 1:
                        room.ready.put_nowait(None)
                elif '"scalars"' in head:
                    # t1 read without parsing the whole message (its losses): these viewers
                    # share the training's two cores, so they read as little as they can
                    now = time.time()
                    at = message.rfind('"t1":')
                    if at > 0 and message.startswith('"history":false', message.index(",", at) + 1):
                        t1 = message[at + 5 : message.index(",", at)]
                        if t1 != "null":
                            room.received.append((now, now - float(t1)))
        room.end(f"closed {ws.close_code}")
    except asyncio.CancelledError:
        room.end("resynced" if hellos > 1 else "open")
        raise
    except Exception as error:  # reported, not hidden
        room.end(f"{type(error).__name__}: {error}")


async def room_loop(url: str, control: Connection) -> None:
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, control.recv)
        if command == "quit":
            return
        count = int(command)
        room, gate = Room(), asyncio.Semaphore(CONNECTING)
        tasks = [asyncio.create_task(viewer(url, room, gate)) for _ in range(count)]
        for _ in range(count):
            await room.ready.get()
        control.send("ready")
        await loop.run_in_executor(None, control.recv)  # "leave"
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        control.send(
            {
                "received": room.received,
                "messages": room.messages,
                "bytes": room.bytes,
                "ends": room.ends,
            }
        )


def room_process(url: str, control: Connection, nice: int) -> None:
    os.nice(nice)
    asyncio.run(room_loop(url, control))


# The measurement ---------------------------------------------------------------------------------


def restart(server: Server, run_id: str) -> None:
    """Pause and reset the run, so the next connect replays a short history."""
    for command in ("pause", "reset"):
        try:
            call(server, f"api/runs/{run_id}/commands/{command}", "POST")
        except OSError as refused:  # 409: already paused, or nothing to reset
            if "409" not in str(refused):
                raise
    deadline = time.monotonic() + 30
    while call(server, f"api/runs/{run_id}")["step"] != 0:
        assert time.monotonic() < deadline, "the run did not reset"
        time.sleep(0.05)


def worker_pid(server: Server) -> int:
    """The run's worker: the server's child process that is not the multiprocessing tracker."""
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in map(int, children):
        if "resource_tracker" not in Path(f"/proc/{child}/cmdline").read_text():
            return child
    raise RuntimeError("the run has no worker process")


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds a process's threads have run, and have waited runnable for a CPU."""
    ran = waited = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            on_cpu, on_queue, _ = Path(task, "schedstat").read_text().split()
            ran, waited = ran + int(on_cpu) / 1e9, waited + int(on_queue) / 1e9
    return ran, waited


def window(server: Server, run_id: str, seconds: float, others: int | None) -> dict[str, Any]:
    """Steps/s over `seconds`; the server's RSS every 0.1 s; CPU of the server and the room; the
    worker's time on a CPU and waiting for one (the rest it slept: blocked on its pipe, or idle)."""
    assert server.process is not None
    pid, worker = server.process.pid, worker_pid(server)
    rss, cpu = [rss_mb(pid)], cpu_seconds(pid)
    room_cpu = cpu_seconds(others) if others else 0.0
    ran, waited = schedstat(worker)
    first, started = call(server, f"api/runs/{run_id}")["step"], time.perf_counter()
    begun = time.time()
    while time.perf_counter() - started < seconds:
        time.sleep(0.1)
        rss.append(rss_mb(pid))
    last, elapsed = call(server, f"api/runs/{run_id}")["step"], time.perf_counter() - started
    ran_after, waited_after = schedstat(worker)
    return {
        "rate": (last - first) / elapsed,
        "rss": rss,
        "from": begun,
        "until": begun + elapsed,
        "cpu": (cpu_seconds(pid) - cpu) / elapsed,
        "room_cpu": ((cpu_seconds(others) - room_cpu) / elapsed) if others else 0.0,
        "worker_ran": (ran_after - ran) / elapsed,
        "worker_waited": (waited_after - waited) / elapsed,
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--room-nice",
        type=int,
        default=0,
        help="niceness of the viewers' process: they stand in for browsers on other machines, and "
        "with 10 they take what the server and the worker leave of this machine's cores",
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    commit = (
        subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        or (root / ".commit").read_text().strip()
    )  # a copy made by `git archive`
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {commit}; load before: {load()}")
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        env = {"STEPSCOPE_MAX_CONNECTIONS": str(args.viewers + 16)}
        server = Server(Path(folder) / "data", free_port(), env=env)
        server.start()
        control, theirs = multiprocessing.Pipe()
        url_holder: list[str] = []
        try:
            run_id = call(server, "api/runs")[0]["id"]
            call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
            url_holder.append(f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}")
            process = multiprocessing.get_context("spawn").Process(
                target=room_process, args=(url_holder[0], theirs, args.room_nice)
            )
            process.start()
            for number in range(args.rounds):
                restart(server, run_id)
                call(server, f"api/runs/{run_id}/commands/start", "POST")
                time.sleep(WARM_UP)
                alone = window(server, run_id, args.seconds, None)

                restart(server, run_id)
                connecting = time.perf_counter()
                control.send(str(args.viewers))
                assert control.poll(300) and control.recv() == "ready", "the room never got in"
                wait_for_connections(server, args.viewers, 60)
                connected = time.perf_counter() - connecting
                call(server, f"api/runs/{run_id}/commands/start", "POST")
                time.sleep(WARM_UP)
                watched = window(server, run_id, args.seconds, process.pid)
                control.send("leave")
                assert control.poll(120), "the room did not leave"
                results = control.recv()
                wait_for_connections(server, 0, 60)
                rounds.append(
                    {"alone": alone, "watched": watched, "room": results, "connect": connected}
                )
                print(
                    f"round {number + 1}: {alone['rate']:,.0f} alone, {watched['rate']:,.0f} "
                    f"watched, load {load()}",
                    flush=True,
                )
            control.send("quit")
            process.join(timeout=30)
        finally:
            server.stop()

    print(f"load after: {load()}")
    print(
        f"{args.viewers} viewers (niceness {args.room_nice}); {args.seconds:.0f} s windows after "
        f"{WARM_UP:.0f} s warm-up; {args.rounds} interleaved rounds"
    )
    print(
        "| round | steps/s unwatched | steps/s watched | ratio | latency t1 → viewer, ms: "
        "median, p95, max (messages) | server RSS MB unwatched → watched (max) | server CPU % "
        "unwatched → watched | viewers' process CPU % | worker on a CPU / waiting for one, % "
        "unwatched → watched | connect, s |"
    )
    print("| ---: | ---: | ---: | ---: | --- | --- | --- | ---: | --- | ---: |")
    ratios, p95s = [], []
    for number, one in enumerate(rounds, 1):
        alone, watched, room = one["alone"], one["watched"], one["room"]
        delays = [
            1000 * d for at, d in room["received"] if watched["from"] <= at <= watched["until"]
        ]
        ratio = watched["rate"] / alone["rate"]
        ratios.append(ratio)
        delay = "—"
        if delays:
            p95s.append(percentile(delays, 0.95))
            delay = (
                f"{statistics.median(delays):.0f}, {p95s[-1]:.0f}, {max(delays):.0f} "
                f"({len(delays):,})"
            )
        print(
            f"| {number} | {alone['rate']:,.0f} | {watched['rate']:,.0f} | {ratio:.3f} | {delay} | "
            f"{statistics.median(alone['rss']):.0f} → {statistics.median(watched['rss']):.0f} "
            f"({max(watched['rss']):.0f}) | {100 * alone['cpu']:.0f} → "
            f"{100 * watched['cpu']:.0f} | {100 * watched['room_cpu']:.0f} | "
            f"{100 * alone['worker_ran']:.0f} / {100 * alone['worker_waited']:.0f} → "
            f"{100 * watched['worker_ran']:.0f} / {100 * watched['worker_waited']:.0f} | "
            f"{one['connect']:.1f} |"
        )
    print(f"ratio watched/unwatched: median {statistics.median(ratios):.3f}, min {min(ratios):.3f}")
    # Steps per second the worker spent on a CPU: what watching costs the worker itself (its pipe,
    # its caches), apart from the CPU time other processes take from it on a crowded machine.
    per_cpu = [
        (one["watched"]["rate"] / one["watched"]["worker_ran"])
        / (one["alone"]["rate"] / one["alone"]["worker_ran"])
        for one in rounds
    ]
    print(
        "steps per worker CPU-second, watched/unwatched: "
        + ", ".join(f"{r:.3f}" for r in per_cpu)
        + f" (median {statistics.median(per_cpu):.3f})"
    )
    if p95s:
        print(f"viewers' p95 latency: median of rounds {statistics.median(p95s):.0f} ms")
    last = rounds[-1]["room"]
    print(f"last round, the room: {last['messages']:,} messages, {last['bytes'] / 1e6:.1f} MB")
    print(f"how the viewers ended (cancelled by the bench = open): {last['ends']}")


if __name__ == "__main__":
    main()
