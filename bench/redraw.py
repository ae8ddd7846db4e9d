"""The loss chart's redraw time with a 1,000,000-step history, and whether a one-step spike shows.

    .venv/bin/python bench/redraw.py [--steps 1000000] [--redraws 20]

1. A fresh data directory whose SQLite history (app.store.history.History) holds one stopped run
   of the seed experiment with `--steps` losses (a slow decay with noise, about 0.5 to 1.5), one
   of them, 0.654321 of the way along, 1000 times its neighbours.
2. `python -m app` on it in a subprocess (no default run), Debian's Chromium (Playwright, the
   browser tests' arguments) at 1280×800 opening the page on that run; the time until the chart's
   legend counts the last step (the whole history received and drawn).
3. `--redraws` times each way, a click on "Log scale": the page redraws the chart (lossChart.js
   `setLog`: the same uPlot plot given new y values, the columns picked from the per-line min/max
   pyramids and the smoothed values kept as steps arrived, so O(pixels); then `setLosses`, which
   finds nothing new and draws nothing). Timed with performance.now() in the page, from the click
   to the drawing finished (every task and microtask it queued run, then the canvas read back,
   which makes the browser rasterise what was drawn), and from the click to the next animation
   frame.
4. `--redraws` changes of the smoothing weight (the slider's input event): the whole history is
   smoothed again, O(steps), drawn on the next animation frame; timed to that frame's end.
5. `--redraws` live updates: the page's websocket is relayed through Playwright
   (`route_web_socket`), and the script sends `scalars` of 100 new steps after the history, as a
   running run would; each animation-frame callback is timed (requestAnimationFrame wrapped before
   the page loads), and the figure is the longest callback of the frame that draws the new steps:
   the page's whole redraw (loss chart: the pyramid and the smoothing take the new steps, the
   columns are picked again, uPlot draws; readouts and the rest).
6. The spike: on the drawn canvas, the highest pixel of the loss line's colour (the raw line,
   drawn faint under the smoothed one, or either) must sit at the spike's step and over half the
   plot area's height above the line's median height, on the linear and on the log scale.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import WebSocketRoute, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.experiments import ExperimentConfig
from app.store.history import History
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.support import Server, free_port

SPIKE_AT = 0.654321  # of the way along the run
SPIKE = 1000.0  # times the neighbours' loss
CHUNK = 100_000

# From the click to the drawing done, and to the next animation frame, in milliseconds.
TIME_REDRAWS = """
async (count) => {
  const box = document.getElementById('logscale');
  const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
  const tasks = () => new Promise((done) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done();
    channel.port2.postMessage(0);
  });
  const drawn = [], framed = [];
  for (let i = 0; i < count; i++) {
    await frame();
    await frame();
    const t0 = performance.now();
    box.click();
    await tasks();
    document.querySelector('#loss-chart canvas').getContext('2d').getImageData(0, 0, 1, 1);
    drawn.push(performance.now() - t0);
    await frame();
    framed.push(performance.now() - t0);
  }
  return {drawn, framed, log: box.checked};
}
"""

# A smoothing weight change, from the input event to the end of the frame that draws it.
TIME_SMOOTHING = """
async (count) => {
  const slider = document.getElementById('smoothing');
  const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
  const times = [];
  for (let i = 0; i < count; i++) {
    await frame();
    const t0 = performance.now();
    slider.value = String(i % 2 ? 0.6 : 0.7);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
    await frame(); // the chart's own frame callback runs in this one, queued before ours
    await new Promise((done) => setTimeout(done, 0));
    times.push(performance.now() - t0);
  }
  slider.value = '0.6';
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  return times;
}
"""

# Decimating `n` values into 1,000 columns: reading every value (selectIndices, the chart before
# this session), building the min/max pyramid once, and picking from it (what a redraw does):
# milliseconds, median of 20.
TIME_DECIMATE = """
async (n) => {
  const { selectIndices, MinMaxPyramid } = await import('/static/js/lib/decimate.js');
  const values = new Float64Array(n).map((_, i) => 1 + Math.sin(i));
  const median = (f) => {
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      f();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[10];
  };
  const pyramid = new MinMaxPyramid();
  const build = median(() => { pyramid.update([], 0); pyramid.update(values, n); });
  return {brute: median(() => selectIndices(values, 0, n, 1000)), build,
          pick: median(() => pyramid.select(0, n, 1000))};
}
"""

# Where the loss line's colour (SERIES_COLORS[0], #1d4ed8) is drawn on the chart's canvas, as
# fractions of the plot area (uPlot's .u-over): its highest pixel, and the median height. With
# `faint`, the raw line drawn see-through under the smoothed one counts too (alpha from 40 up);
# without, only opaque pixels (the smoothed line, or the raw one when smoothing is off).
FIND_LINE = """
(faint) => {
  const canvas = document.querySelector('#loss-chart canvas');
  const over = document.querySelector('#loss-chart .u-over').getBoundingClientRect();
  const box = canvas.getBoundingClientRect();
  const sx = canvas.width / box.width, sy = canvas.height / box.height;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let top = null;
  const heights = [];
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) {
      const k = 4 * (y * canvas.width + x);
      const far = Math.abs(pixels[k] - 29) + Math.abs(pixels[k + 1] - 78) + Math.abs(pixels[k + 2] - 216);
      if (pixels[k + 3] < (faint ? 40 : 200) || far > 60) continue;
      const at = {x: (x / sx + box.left - over.left) / over.width,
                  y: (y / sy + box.top - over.top) / over.height};
      if (top === null) top = at;
      heights.push(at.y);
    }
  }
  heights.sort((a, b) => a - b);
  return {top, median: heights.length ? heights[heights.length >> 1] : null,
          pixels: heights.length, ticks: document.getElementById('loss-chart').dataset.yTicks};
}
"""


# Every animation-frame callback timed, with the microtasks it queued (uPlot draws in one) and the
# loss chart's canvas read back (which makes the browser rasterise what was drawn), as the Log
# scale click is timed: the page's redraw is one of these callbacks.
TIME_FRAMES = """
(() => {
  const raf = window.requestAnimationFrame.bind(window);
  window.__callbacks = [];
  window.requestAnimationFrame = (callback) => raf((time) => {
    const t0 = performance.now();
    try { callback(time); } finally {
      queueMicrotask(() => queueMicrotask(() => {
        document.querySelector('#loss-chart canvas')?.getContext('2d').getImageData(0, 0, 1, 1);
        window.__callbacks.push(performance.now() - t0);
      }));
    }
  });
})();
"""
LIVE_BATCH = 100


def spike_step(steps: int) -> int:
    return round(SPIKE_AT * steps)


def losses(steps: int) -> list[float]:
    rng = random.Random(0)
    values = [0.5 + math.exp(-step / 200_000) * (0.5 + 0.5 * rng.random()) for step in range(steps)]
    values[spike_step(steps) - 1] = SPIKE * values[spike_step(steps) - 2]
    return values


def write_history(data_dir: Path, steps: int) -> str:
    history = History(data_dir / "stepscope.sqlite3")
    run_id = uuid.uuid4().hex[:12]
    history.add_run(run_id, "seed-linear", ExperimentConfig().model_dump(), "stopped")
    values = losses(steps)
    for first in range(0, steps, CHUNK):
        history.append_scalars(run_id, first + 1, values[first : first + CHUNK])
    history.close()
    return run_id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spike_shown(line: dict[str, Any], steps: int) -> bool:
    """The line's highest pixel is at the spike's step (within 0.3% of the width: 3 px columns)
    and over half the plot's height above the line's median height."""
    top, median = line["top"], line["median"]
    at = (spike_step(steps) - 1) / (steps - 1)
    return bool(top and median - top["y"] > 0.5 and abs(top["x"] - at) < 0.003)


def time_live_updates(page: Any, ws: WebSocketRoute, steps: int, count: int) -> list[float]:
    """Send `count` batches of new steps as live `scalars`; per batch, the longest animation-frame
    callback until the legend counts its last step (the frame that drew it)."""
    times = []
    rng = random.Random(1)
    for k in range(count):
        first = steps + k * LIVE_BATCH + 1
        page.evaluate("window.__callbacks = []")
        loss = [0.5 + 0.1 * rng.random() for _ in range(LIVE_BATCH)]
        message = {"type": "scalars", "v": 1, "first_step": first, "loss": loss, "t0": None}
        ws.send(json.dumps({**message, "t1": None, "history": False, "race": None, "path": None}))
        page.wait_for_function(
            "n => document.querySelector('#loss-chart .u-legend .u-value')?.textContent"
            " === String(n)",
            arg=first + LIVE_BATCH - 1,
        )
        times.append(max(page.evaluate("window.__callbacks"), default=math.nan))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--redraws", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        started = time.perf_counter()
        run_id = write_history(data_dir, args.steps)
        written = time.perf_counter() - started
        server = Server(data_dir, free_port(), env={"STEPSCOPE_DEFAULT_RUN": "false"})
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.add_init_script(TIME_FRAMES)
                relayed: list[WebSocketRoute] = []

                def relay(ws: WebSocketRoute) -> None:
                    ws.connect_to_server().on_message(ws.send)
                    relayed.append(ws)

                page.route_web_socket(f"**/ws/runs/{run_id}", relay)
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                started = time.perf_counter()
                page.goto(f"{server.url}#run={run_id}")
                # the legend reads the chart's own step count: the whole history is drawn
                page.wait_for_function(
                    "n => document.querySelector('#loss-chart .u-legend .u-value')?.textContent"
                    " === String(n)",
                    arg=args.steps,
                    timeout=120_000,
                )
                loaded = time.perf_counter() - started
                page.wait_for_timeout(1000)  # the legend's fit, a resize: let the page settle
                weight = page.locator("#smoothing").input_value()
                linear = page.evaluate(FIND_LINE, True)
                linear_smoothed = page.evaluate(FIND_LINE, False)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "redraw-linear-1280x800.png"))
                on = page.evaluate(TIME_REDRAWS, 1)  # to the log scale: the rounds end there
                assert on["log"], "the Log scale box did not check"
                logarithmic = page.evaluate(FIND_LINE, True)
                log_smoothed = page.evaluate(FIND_LINE, False)
                page.screenshot(path=str(ARTIFACTS / "redraw-log-1280x800.png"))
                rounds = page.evaluate(TIME_REDRAWS, 2 * args.redraws)
                smoothing = page.evaluate(TIME_SMOOTHING, args.redraws)
                decimate = page.evaluate(TIME_DECIMATE, args.steps)
                live = time_live_updates(page, relayed[-1], args.steps, args.redraws)
                browser.close()
        finally:
            server.stop()
    drawn, framed = rounds["drawn"], rounds["framed"]
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"history of {args.steps:,} steps written in {written:.1f} s; spike at step {spike_step(args.steps):,}"
    )
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| page opened to the last step shown, s | {loaded:.1f} |")
    print(
        f"| redraw on a Log scale click, drawn, ms (median, p95, max; {len(drawn)} clicks) | "
        f"**{statistics.median(drawn):.1f}**, **{percentile(drawn, 0.95):.1f}**, {max(drawn):.1f} |"
    )
    print(
        f"| the same, to the next animation frame, ms (median, p95) | "
        f"{statistics.median(framed):.1f}, {percentile(framed, 0.95):.1f} |"
    )
    print(
        f"| a live update of {LIVE_BATCH} steps, the page's redraw callback, ms (median, p95, max; "
        f"{len(live)} updates) | **{statistics.median(live):.1f}**, "
        f"**{percentile(live, 0.95):.1f}**, {max(live):.1f} |"
    )
    print(
        f"| a smoothing weight change (the whole history smoothed again), to its frame's end, ms "
        f"(median, p95) | {statistics.median(smoothing):.1f}, {percentile(smoothing, 0.95):.1f} |"
    )
    print(
        f"| {args.steps:,} values into 1,000 columns, ms (median of 20): reading every value "
        f"(selectIndices); building the pyramid; picking from it | "
        f"{decimate['brute']:.1f}; {decimate['build']:.1f}; {decimate['pick']:.2f} |"
    )
    print(f"| smoothing weight | {weight} |")
    for name, line in (
        ("linear, raw (faint) or smoothed", linear),
        ("linear, smoothed (opaque) only", linear_smoothed),
        ("log, raw (faint) or smoothed", logarithmic),
        ("log, smoothed (opaque) only", log_smoothed),
    ):
        top = line["top"] or {"x": math.nan, "y": math.nan}
        print(
            f"| spike, {name} scale: line's highest pixel at x, y (plot fractions, from the top "
            f"left; spike's x {(spike_step(args.steps) - 1) / (args.steps - 1):.4f}); "
            f"the line's median y | "
            f"{top['x']:.4f}, {top['y']:.3f}; {line['median'] or math.nan:.3f} — "
            f"{'visible' if spike_shown(line, args.steps) else 'NOT visible'} |"
        )
        print(f"| y ticks, {name} scale | {line['ticks']} |")
    if errors:
        print(f"page errors: {errors}")


if __name__ == "__main__":
    main()
