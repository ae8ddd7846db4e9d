"""Snapshots a second on the wide MLP (6.3M parameters) at two instrumentation budgets.

    .venv/bin/python bench/snapshot_rate.py [--budgets 0.05 0.10] [--rounds 2] [--seconds 20]

One `python -m app` in a subprocess, a `wide-mlp` run at full speed (Adam, batch 64), one
websocket client reading every message. For each budget in turn (set with
`PUT /api/runs/{id}/instrumentation`, as the page's field does), rounds alternating: 6 s to settle,
then `--seconds` counting the binary snapshot messages the client receives and the steps the run
takes, and the overhead the last health point reports. Prints snapshots a second, steps a second
and the steps-a-second ratio of each budget against the first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Server, call, free_port, ready_run

SETTLE = 6.0  # seconds after a budget change before counting: the governor's spacing catches up


def measure(
    server: Server, socket: ClientConnection, run_id: str, seconds: float
) -> tuple[float, float, dict[str, object]]:
    """Snapshots a second received, steps a second taken, and the latest point's overhead."""
    recv = socket.recv
    end = time.monotonic() + SETTLE
    while time.monotonic() < end:
        recv(timeout=10)
    snapshots, overhead = 0, dict[str, object]()
    first, started = call(server, f"api/runs/{run_id}")["step"], time.monotonic()
    while time.monotonic() - started < seconds:
        message = recv(timeout=10)
        if isinstance(message, bytes):
            snapshots += 1
        elif (event := json.loads(message))["type"] == "health":
            overhead = event["points"][-1]["overhead"]
    elapsed = time.monotonic() - started
    steps = call(server, f"api/runs/{run_id}")["step"] - first
    return snapshots / elapsed, steps / elapsed, overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.05, 0.10])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data", free_port(), env={"STEPSCOPE_DEFAULT_RUN": "false"})
        server.start()
        try:
            run_id = ready_run(server, {"experiment": "wide-mlp", "steps_per_second": None})
            call(server, f"api/runs/{run_id}/commands/start", "POST")
            results: dict[float, list[tuple[float, float]]] = {b: [] for b in args.budgets}
            url = f"ws://127.0.0.1:{server.port}/ws/runs/{run_id}"
            with connect(url, max_size=None, open_timeout=30) as socket:
                for round_ in range(args.rounds):
                    for budget in args.budgets:
                        call(
                            server,
                            f"api/runs/{run_id}/instrumentation",
                            "PUT",
                            {"budget": budget},
                        )
                        rate, steps, overhead = measure(server, socket, run_id, args.seconds)
                        results[budget].append((rate, steps))
                        print(
                            f"round {round_ + 1}, budget {budget:.1%}: {rate:.2f} snapshots/s,"
                            f" {steps:.1f} steps/s; the page's readout: {overhead}"
                        )
            call(server, f"api/runs/{run_id}/commands/pause", "POST")
        finally:
            server.stop()
    base = statistics.median(steps for _, steps in results[args.budgets[0]])
    for budget, rows in results.items():
        rate = statistics.median(r for r, _ in rows)
        steps = statistics.median(s for _, s in rows)
        print(
            f"budget {budget:.1%}: {rate:.2f} snapshots/s, {steps:.1f} steps/s"
            f" ({steps / base:.3f}× the {args.budgets[0]:.1%} budget's), medians of {len(rows)}"
        )


if __name__ == "__main__":
    main()
