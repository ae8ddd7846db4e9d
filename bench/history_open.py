"""How long the page takes to open a run of 1,000,000 steps, and what a step costs on disk.

1. Writes a run of `--steps` losses straight into a fresh history file with the app's History API,
   in frames of 1,000 steps as the relay writes them, and reports the file's bytes per step
   (scalars only: snapshots and health points are kept per second, not per step; see
   bench/history_bytes.py for whole runs).
2. Serves that data directory (`python -m app`, no default run) and opens the run in Chromium
   (Playwright) `--rounds` times, each in a fresh page: the time from navigation to the loss
   chart's legend showing the last step (the whole history received, decoded and drawn), and the
   size of the resync's scalars message.

    .venv/bin/python -m bench.history_open [--steps 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.store.history import History
from tests.support import Server, free_port

RUN = "million"
FRAME = 1_000


def write_history(path: Path, steps: int) -> float:
    """The seconds it took to write `steps` losses, a frame at a time."""
    history = History(path)
    config = {"experiment": "seed-linear", "seed": 0}
    history.add_run(RUN, "seed-linear", config, "stopped")
    started = time.perf_counter()
    for first in range(1, steps + 1, FRAME):
        count = min(FRAME, steps - first + 1)
        losses = [
            0.1 + math.exp(-(first + i) / (steps / 5)) * (1 + 0.25 * math.sin(first + i))
            for i in range(count)
        ]
        history.append_scalars(RUN, first, losses)
    took = time.perf_counter() - started
    history.reclaim()  # the log checkpointed into the file: its size is what is kept
    history.close()
    return took


def open_times(server: Server, steps: int, rounds: int) -> tuple[list[float], int]:
    times: list[float] = []
    message_bytes = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for _ in range(rounds):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            sizes: list[int] = []

            def received(frame: object, sizes: list[int] = sizes) -> None:
                payload = frame if isinstance(frame, bytes | str) else frame["payload"]  # type: ignore[index]
                sizes.append(len(payload))

            page.on("websocket", lambda ws: ws.on("framereceived", received))
            started = time.perf_counter()
            page.goto(f"{server.url}#run={RUN}")
            page.locator("#loss-chart .u-legend .u-value").nth(0).filter(
                has_text=str(steps)
            ).wait_for(timeout=120_000)
            times.append(time.perf_counter() - started)
            message_bytes = max(sizes, default=0)
            page.close()
        browser.close()
    return times, message_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stepscope-bench-") as folder:
        data = Path(folder) / "data"
        database = data / "stepscope.sqlite3"
        took = write_history(database, options.steps)
        size = database.stat().st_size
        print(f"wrote {options.steps:,} steps in {took:.1f} s: {size:,} bytes, "
              f"{size / options.steps:.1f} bytes a step")  # fmt: skip
        server = Server(data, free_port(), env={"STEPSCOPE_DEFAULT_RUN": "false"})
        server.start()
        try:
            times, message = open_times(server, options.steps, options.rounds)
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "steps": options.steps,
                "bytes_per_step": round(size / options.steps, 1),
                "open_seconds": [round(t, 2) for t in times],
                "open_median_s": round(statistics.median(times), 2),
                "largest_message_bytes": message,
                "load": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
