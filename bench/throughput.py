"""Training throughput with a browser watching, against the bare loop, in one run (issue 10, 4a).

    .venv/bin/python bench/throughput.py [--seconds 4] [--rounds 3] [--only wide-mlp ...]

For the four models of issue 10, all with Adam at full speed, one torch thread:

| model | experiment |
| --- | --- |
| Linear(10, 1), batch 1 | built-in `seed-linear`, batch_size 1, Adam lr 0.01 |
| MLP 2-8-8-1, batch 10 | built-in `moons` (x₁, x₂ → 8 → 8 tanh → 1), batch_size 10 |
| MLP 784-256-256-10, batch 64 | `mlp-784` from bench/throughput_experiments.py |
| MLP 1024-2048-2048-10, batch 64 | built-in `wide-mlp` |

One `python -m app --experiments bench/throughput_experiments.py` and one Chromium (Playwright,
the browser tests' arguments) showing the run's page at 1280×800 — every view drawn, every message
read. For each model, after a warm-up, `--rounds` rounds each made of:
- bare: this process runs the hand-written loop (the experiment's own model, data, batches, loss
  and optimizer; zero_grad, forward, loss, backward, step; nothing read) for `--seconds`, while the
  run is paused;
- watched: the run at full speed for `--seconds`, steps/s from the server's step count, and the
  snapshots the page received in that window;
- worker alone: the worker's own loop (`Session.train_step`, everything it does for Stepscope)
  in this process for `--seconds`, its messages drained, no server or browser: what the
  instrumentation costs, apart from the CPU the server and Chromium take on a small machine;
their order reversed from round to round, so that other work on the machine slows all alike.
Then it checks that the page received every step's loss, once, in order, and that the REST export
of the losses holds every step.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
from pathlib import Path
from typing import Any

import torch
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.experiments import EXPERIMENTS, Batches, ExperimentConfig
from app.engine.loader import load_experiments
from app.engine.optimizers import build_optimizer
from app.runs.worker import Session
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support import Server, call, free_port

EXPERIMENT_FILE = Path(__file__).resolve().parent / "throughput_experiments.py"

# name, run config (POST /api/runs), seconds a window (at least --seconds)
MODELS: list[tuple[str, dict[str, Any], float]] = [
    (
        "Linear(10, 1), batch 1",
        {"experiment": "seed-linear", "batch_size": 1, "optimizer": {"name": "adam", "lr": 0.01}},
        0.0,
    ),
    ("MLP 2-8-8-1, batch 10", {"experiment": "moons", "batch_size": 10}, 0.0),
    ("MLP 784-256-256-10, batch 64", {"experiment": "mlp-784"}, 0.0),
    # ~15 steps/s: long enough windows for a snapshot rate near 1/s to be counted
    ("MLP 1024-2048-2048-10, batch 64", {"experiment": "wide-mlp"}, 8.0),
]

# Recorded in the page: each scalars message's first step, count and kind (history or live), and
# the arrival time of every binary snapshot (Date.now(), the same clock as time.time() here).
RECORDER = """
(() => {
  const Native = window.WebSocket;
  window.__scalars = [];
  window.__snapshots = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (typeof event.data === 'string') {
          const m = JSON.parse(event.data);
          if (m.type === 'scalars') {
            window.__scalars.push([m.first_step, m.loss.length, m.history]);
          } else if (m.type === 'reset' || m.type === 'hello') {
            window.__scalars.push(['reset', 0, false]);
          }
        } else {
          window.__snapshots.push(Date.now() / 1000);
        }
      });
    }
  };
})();
"""


def bare_loop(config: ExperimentConfig, seconds: float) -> float:
    """Steps/s of the hand-written loop: the experiment's model, data, batches, loss, optimizer."""
    experiment = EXPERIMENTS[config.experiment]
    torch.manual_seed(config.seed)
    model = experiment.model(config)
    loss_fn = experiment.make_loss(config)
    batches = Batches(experiment.data(config), config.batch_size, config.seed)
    optimizer = build_optimizer(config.optimizer, model.parameters())
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        inputs, targets = batches.next()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        steps += 1
    return steps / (time.perf_counter() - started)


class WorkerAlone:
    """The worker's own loop (`Session.train_step`: hooks, governors, snapshots, evaluation,
    health points, batched losses, the pipe) in this process, its messages drained by a thread,
    without the server or the browser. One session per model, kept across rounds like the
    server's run, so that its first snapshot and evaluation (first calls, allocations) fall in
    the warm-up, not in a round."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.receiver, self.sender = multiprocessing.Pipe(duplex=False)
        threading.Thread(target=self.drain, daemon=True).start()
        self.session = Session(config, self.sender)
        self.session.running = True

    def drain(self) -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                self.receiver.recv_bytes()

    def rate(self, seconds: float) -> float:
        steps, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            self.session.train_step()
            steps += 1
        return steps / (time.perf_counter() - started)

    def close(self) -> None:
        self.session.flush()
        self.sender.close()


def command(server: Server, run_id: str, name: str, status: str) -> None:
    try:
        call(server, f"api/runs/{run_id}/commands/{name}", "POST")
    except urllib.error.HTTPError as refused:
        run = call(server, f"api/runs/{run_id}")
        if run["state"] != status:  # (a run an alert paused is paused already: that is fine)
            detail = refused.read().decode()
            raise SystemExit(
                f"{name} refused: {detail}; the run: {run['state']}, {run['reason']}"
            ) from refused
    deadline = time.monotonic() + 30
    while call(server, f"api/runs/{run_id}")["state"] != status:
        assert time.monotonic() < deadline, f"{name}: the run did not become {status}"
        time.sleep(0.02)


def watched_window(server: Server, page: Page, run_id: str, seconds: float) -> tuple[float, float]:
    """Steps/s and snapshots/s of the running loop over `seconds`, then paused."""
    command(server, run_id, "start", "running")
    time.sleep(0.2)  # the first steps after a start: the worker's first due snapshot
    first, begun, wall = (
        call(server, f"api/runs/{run_id}")["step"],
        time.perf_counter(),
        time.time(),
    )
    time.sleep(seconds)
    last, elapsed, ended = (
        call(server, f"api/runs/{run_id}")["step"],
        time.perf_counter() - begun,
        time.time(),
    )
    command(server, run_id, "pause", "paused")
    arrivals: list[float] = page.evaluate("window.__snapshots")
    snapshots = sum(1 for t in arrivals if wall <= t <= ended)
    return (last - first) / elapsed, snapshots / (ended - wall)


def delivered(server: Server, page: Page, run_id: str) -> tuple[bool, bool, int]:
    """Whether the page received steps 1..last exactly once in order (after its last reset or
    hello), whether the REST export holds them all, and the last step."""
    last = call(server, f"api/runs/{run_id}")["step"]
    deadline = time.monotonic() + 10
    while True:
        messages = page.evaluate("window.__scalars")
        after_reset = messages[max(i for i, m in enumerate(messages) if m[0] == "reset") + 1 :]
        expected, in_order = 1, True
        for first, count, _history in after_reset:
            in_order = in_order and first == expected
            expected = first + count
        if expected - 1 >= last or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    while True:  # the history is written as the losses arrive: it may trail the page a moment
        exported = call(server, f"api/runs/{run_id}/scalars")
        rest = exported["first_step"] == 1 and len(exported["loss"]) == last
        if rest or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return in_order and expected - 1 == last, rest, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="experiment names")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the worker (app/runs/worker.py)
    for problem in load_experiments([EXPERIMENT_FILE]):
        raise SystemExit(f"could not load {problem}")
    models = [m for m in MODELS if args.only is None or m[1]["experiment"] in args.only]
    rows: list[dict[str, Any]] = []
    load_before, started = os.getloadavg(), time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        env = {"STEPSCOPE_DEFAULT_RUN": "false"}
        server = Server(
            Path(folder) / "data",
            free_port(),
            env=env,
            args=["--experiments", str(EXPERIMENT_FILE)],
        )
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.add_init_script(RECORDER)
                for name, overrides, least in models:
                    seconds = max(args.seconds, least)
                    body = {**overrides, "steps_per_second": None}
                    config = ExperimentConfig.model_validate(body)
                    run_id = call(server, "api/runs", "POST", body)["id"]
                    deadline = time.monotonic() + 60
                    while not call(server, f"api/runs/{run_id}")["ready"]:
                        assert time.monotonic() < deadline, f"{name}: the worker did not start"
                        time.sleep(0.05)
                    page.goto(f"{server.url}#run={run_id}")
                    page.get_by_test_id("connection").filter(has_text="Live").wait_for()
                    # warm-up: first calls, allocations, the page's first drawing
                    watched_window(server, page, run_id, 2.0)
                    bare_loop(config, 1.0)
                    worker = WorkerAlone(config)
                    worker.rate(2.0)
                    bare, seen, rates, alone = [], [], [], []
                    for round_ in range(args.rounds):
                        parts = ("bare", "alone", "seen")
                        for part in parts if round_ % 2 == 0 else parts[::-1]:
                            if part == "bare":
                                bare.append(bare_loop(config, seconds))
                            elif part == "alone":
                                alone.append(worker.rate(seconds))
                            else:
                                steps, snapshots = watched_window(server, page, run_id, seconds)
                                seen.append(steps)
                                rates.append(snapshots)
                    worker.close()
                    in_order, rest, last = delivered(server, page, run_id)
                    call(server, f"api/runs/{run_id}/commands/stop", "POST")
                    rows.append(
                        {
                            "name": name,
                            "bare": statistics.median(bare),
                            "seen": statistics.median(seen),
                            "paired": statistics.median(
                                s / b for s, b in zip(seen, bare, strict=True)
                            ),
                            "alone": statistics.median(alone),
                            "spread": statistics.pstdev(bare) / statistics.mean(bare),
                            "snapshots": statistics.median(rates),
                            "steps": last,
                            "page": in_order,
                            "rest": rest,
                        }
                    )
                    row = rows[-1]
                    print(
                        f"  {name}: bare {[f'{b:,.0f}' for b in bare]},"
                        f" watched {[f'{s:,.0f}' for s in seen]},"
                        f" worker alone {[f'{a:,.0f}' for a in alone]},"
                        f" snapshots/s {[f'{r:.2f}' for r in rates]}",
                        file=sys.stderr,
                    )
                browser.close()
        finally:
            server.stop()
    load = ", ".join(f"{x:.2f}" for x in load_before)
    after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"torch {torch.__version__}, one thread, {args.rounds} rounds of {args.seconds:.0f} s"
        f" (wide MLP 8 s) per side, {time.monotonic() - started:.0f} s in all;"
        f" load average {load} before, {after} after ({os.cpu_count()} cores)"
    )
    print(
        "| model | bare steps/s | watched steps/s | **watched / bare** (medians; paired) "
        "| worker alone / bare | bare rounds vary | snapshots/s | every loss: page, REST (steps) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        print(
            f"| {row['name']} | {row['bare']:,.0f} | {row['seen']:,.0f}"
            f" | **{row['seen'] / row['bare']:.3f}**; {row['paired']:.3f}"
            f" | {row['alone'] / row['bare']:.3f}"
            f" | {row['spread'] * 100:.1f}% | {row['snapshots']:.2f}"
            f" | {'yes' if row['page'] else 'NO'}, {'yes' if row['rest'] else 'NO'}"
            f" ({row['steps']:,}) |"
        )


if __name__ == "__main__":
    main()
