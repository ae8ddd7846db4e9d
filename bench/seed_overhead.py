"""Steps/s of the seed experiment with a browser watching, against a bare loop, in one run.

    .venv/bin/python bench/seed_overhead.py [--seconds 10]

1. A bare, hand-written loop of the same model, data, batches and optimizer: steps/s.
2. `python -m app` in a subprocess, Debian's Chromium on the page, the run at full speed
   ("Max"): steps/s from the run's step count, and, recorded inside the page, the size of every
   websocket message and the delay from a step's end (the worker's clock) to the page receiving it.
3. The bare loop again; the ratio uses the mean of both bare measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import torch
from playwright.sync_api import sync_playwright
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.experiments import ExperimentConfig, epoch_order, make_linear_regression
from app.runs.worker import Session
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Server, free_port

# Recorded in the page: every message's size and kind, and for scalars the delay since the batch's
# first step (t0) and last step (t1) ended, by the worker's wall clock (same machine).
RECORDER = """
(() => {
  const Native = window.WebSocket;
  window.__frames = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const now = Date.now() / 1000;
        if (typeof event.data === 'string') {
          const m = JSON.parse(event.data);
          window.__frames.push({kind: m.type, bytes: event.data.length,
                                oldest: m.t0 ? now - m.t0 : null, newest: m.t1 ? now - m.t1 : null,
                                steps: m.loss ? m.loss.length : 0});
        } else {
          window.__frames.push({kind: 'snapshot', bytes: event.data.byteLength});
        }
      });
    }
  };
})();
"""


def bare_loop(seconds: float) -> float:
    config = ExperimentConfig()
    torch.manual_seed(config.seed)
    model = nn.Linear(10, 1)
    data = make_linear_regression(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)  # the seed's default: the article's
    loss_fn = nn.MSELoss()
    steps, epoch, position = 0, 0, 0
    order = epoch_order(config.n_samples, config.seed, epoch)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if position + config.batch_size > config.n_samples:
            epoch, position = epoch + 1, 0
            order = epoch_order(config.n_samples, config.seed, epoch)
        index = order[position : position + config.batch_size]
        position += config.batch_size
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(data.inputs[index]), data.targets[index])
        loss.backward()
        optimizer.step()
        steps += 1
    return steps / (time.perf_counter() - started)


def instrumented_loop(seconds: float) -> float:
    """The worker's Session in this process: hooks, governor, snapshots, batched losses, the pipe,
    and the command check, without the server or the browser competing for the two cores."""
    config = ExperimentConfig(steps_per_second=None)
    receiver, sender = multiprocessing.Pipe(duplex=False)

    def drain() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                receiver.recv_bytes()

    threading.Thread(target=drain, daemon=True).start()
    session = Session(config, sender)
    posted = multiprocessing.RawValue("q", 0)
    received = 0
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        if posted.value > received:  # the worker's per-step command check
            received += 1
        session.train_step()
        steps += 1
    rate = steps / (time.perf_counter() - started)
    sender.close()
    return rate


def call(url: str, method: str = "GET", body: Any = None) -> Any:
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def watched_run(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data", free_port())
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.add_init_script(RECORDER)
                page.goto(server.url)
                page.get_by_test_id("connection").filter(has_text="Live").wait_for()
                run_id = call(server.url + "api/runs")[0]["id"]
                api = f"{server.url}api/runs/{run_id}"
                call(api + "/pace", "PUT", {"steps_per_second": None})
                page.get_by_role("button", name="Start").click()
                time.sleep(2.0)  # warm-up: the worker's first steps and the first frames
                page.evaluate("window.__frames = []")
                first, started = call(api)["step"], time.perf_counter()
                time.sleep(seconds)
                last, elapsed = call(api)["step"], time.perf_counter() - started
                frames = page.evaluate("window.__frames")
                shown = int(page.get_by_test_id("step").inner_text())
                page.get_by_role("button", name="Pause").click()
                browser.close()
        finally:
            server.stop()
    return {
        "steps_per_s": (last - first) / elapsed,
        "seconds": elapsed,
        "frames": frames,
        "shown_step": shown,
        "last_step": last,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    bare_before = bare_loop(args.seconds)
    instrumented = instrumented_loop(args.seconds)
    watched = watched_run(args.seconds)
    bare_after = bare_loop(args.seconds)
    bare = (bare_before + bare_after) / 2
    frames = watched["frames"]
    snapshots = [f["bytes"] for f in frames if f["kind"] == "snapshot"]
    scalars = [f for f in frames if f["kind"] == "scalars"]
    oldest = [f["oldest"] * 1000 for f in scalars if f["oldest"] is not None]
    newest = [f["newest"] * 1000 for f in scalars if f["newest"] is not None]
    seconds = watched["seconds"]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.seconds:.0f} s each"
    )
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| bare loop, steps/s (before, after) | {bare_before:,.0f}, {bare_after:,.0f} |")
    print(f"| instrumented loop in this process, steps/s | {instrumented:,.0f} |")
    print(f"| ratio instrumented / bare (instrumentation alone) | {instrumented / bare:.3f} |")
    print(f"| Stepscope with a browser watching, steps/s | {watched['steps_per_s']:,.0f} |")
    print(f"| ratio Stepscope with a browser / bare | {watched['steps_per_s'] / bare:.3f} |")
    print(
        f"| snapshot frames/s, bytes per snapshot (median) | {len(snapshots) / seconds:.1f}, "
        f"{statistics.median(snapshots):,.0f} |"
    )
    print(
        f"| scalars messages/s, bytes per message (median), steps per message (median) | "
        f"{len(scalars) / seconds:.1f}, {statistics.median(f['bytes'] for f in scalars):,.0f}, "
        f"{statistics.median(f['steps'] for f in scalars):.0f} |"
    )
    print(
        f"| bytes/s to the browser, all messages | {sum(f['bytes'] for f in frames) / seconds:,.0f} |"
    )
    print(
        f"| step-to-browser latency, newest step of a batch, ms (median, p95) | "
        f"{statistics.median(newest):.1f}, {percentile(newest, 0.95):.1f} |"
    )
    print(
        f"| step-to-browser latency, oldest step of a batch, ms (median, p95) | "
        f"{statistics.median(oldest):.1f}, {percentile(oldest, 0.95):.1f} |"
    )


if __name__ == "__main__":
    main()
