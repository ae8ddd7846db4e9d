"""Steps/s of each built-in experiment at full speed, with and without a browser watching, in one run.

    .venv/bin/python bench/experiments.py [--seconds 5] [--only spiral digits ...]

One `python -m app` in a subprocess (no default run), then for each built-in experiment, with its
own defaults but at full speed ("Max"), two runs one after the other:
1. no client: the run started through the REST API, nobody on its websocket;
2. watched: Debian's Chromium showing the page on the run (every view drawn as it arrives), the
   run started with the page's Start button.
Each is measured over `--seconds` after a one-second warm-up, from the run's step count, and then
stopped, so only one worker trains at a time. The ratio is watched / no client.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.experiments import EXPERIMENTS, ExperimentConfig
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support import Server, call, free_port

WARM_UP = 1.0  # the worker's first steps, the first frames, the page's first drawing
MIN_STEPS = 5


def parameters(name: str) -> int:
    config = ExperimentConfig(experiment=name)
    model = EXPERIMENTS[name].model(config)
    return sum(p.numel() for p in model.parameters())


def ready_run(server: Server, name: str) -> str:
    run_id: str = call(server, "api/runs", "POST", {"experiment": name, "steps_per_second": None})[
        "id"
    ]
    deadline = time.monotonic() + 60
    while not call(server, f"api/runs/{run_id}")["ready"]:
        assert time.monotonic() < deadline, f"{name}: the worker did not get ready"
        time.sleep(0.05)
    return run_id


def measure(server: Server, run_id: str, seconds: float) -> float:
    """Steps/s over `seconds`, longer (up to a minute) until a slow model has taken 5 steps."""
    time.sleep(WARM_UP)
    first, started = call(server, f"api/runs/{run_id}")["step"], time.perf_counter()
    time.sleep(seconds)
    while True:
        last, elapsed = call(server, f"api/runs/{run_id}")["step"], time.perf_counter() - started
        if last - first >= MIN_STEPS or elapsed > 60:
            break
        time.sleep(0.5)
    call(server, f"api/runs/{run_id}/commands/stop", "POST")
    return float(last - first) / elapsed


def unwatched(server: Server, name: str, seconds: float) -> float:
    run_id = ready_run(server, name)
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    return measure(server, run_id, seconds)


def watched(server: Server, page: Page, name: str, seconds: float) -> float:
    run_id = ready_run(server, name)
    page.goto(f"{server.url}#run={run_id}")
    page.get_by_test_id("connection").filter(has_text="Live").wait_for()
    page.get_by_role("button", name="Start").click()
    page.get_by_test_id("status").filter(has_text="running").wait_for()
    return measure(server, run_id, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", nargs="*", default=None, help="experiment names (default: all)")
    args = parser.parse_args()
    names = args.only or [n for n, e in EXPERIMENTS.items() if e.source == "built-in"]
    rows: list[dict[str, Any]] = []
    started, load_before = time.monotonic(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        env = {"STEPSCOPE_DEFAULT_RUN": "false"}
        server = Server(Path(folder) / "data", free_port(), env=env)
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                for name in names:
                    alone = unwatched(server, name, args.seconds)
                    seen = watched(server, page, name, args.seconds)
                    rows.append(
                        {"name": name, "parameters": parameters(name), "alone": alone, "seen": seen}
                    )
                    print(f"  {name}: {alone:,.0f} / {seen:,.0f} steps/s", file=sys.stderr)
                browser.close()
        finally:
            server.stop()
    print(
        f"torch {torch.__version__}, workers on one intra-op thread (app/runs/worker.py),"
        f" {args.seconds:.0f} s each,"
        f" {time.monotonic() - started:.0f} s in all; load average {load_before:.1f} before,"
        f" {os.getloadavg()[0]:.1f} after (2 cores: above 2, other work shared them)"
    )
    print("| experiment | parameters | no client, steps/s | browser watching, steps/s | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['name']} | {row['parameters']:,} | {row['alone']:,.0f} | {row['seen']:,.0f}"
            f" | {row['seen'] / row['alone'] if row['alone'] else math.nan:.2f} |"
        )


if __name__ == "__main__":
    main()
