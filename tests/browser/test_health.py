"""The training-health views in a real browser (issue 10): the distributions heatmap shows the
counts the server sent, one line per tensor on the gradient-norm chart, the 1e-3 guide on the
update-ratio chart, the overhead readout and its budget field, and the layout at 1280 and 390 px.

The oracle for every number is what the page's websocket received (read from the frames, not
from the page's store), or the REST API."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import PHONE, screenshot
from tests.browser.rest import call, new_run, open_run, steps
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BINS = 64


class HealthReceived:
    """Every health point the page's websocket received, by step (a later point of the same step,
    from a phase command, replaces the earlier one, as the page does)."""

    def __init__(self, page: Page) -> None:
        self.points: dict[int, dict[str, Any]] = {}
        page.on("websocket", lambda socket: socket.on("framereceived", self.on_frame))

    def on_frame(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            return
        message = json.loads(payload)
        if message.get("type") in ("hello", "reset"):
            self.points.clear()
        elif message.get("type") == "health":
            for point in message["points"]:
                self.points[point["step"]] = point

    def latest(self) -> dict[str, Any]:
        return self.points[max(self.points)]


def inject_after(
    page: Page, kind: str, events: list[dict[str, Any]], only_history: bool = False
) -> None:
    """Relay the page's run stream, sending `events` after each server message that contains
    `kind` (e.g. '"type":"hello"'; with `only_history`, only a message replayed from the history):
    what a test injects is drawn by the page as the server's own."""

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            ws.send(message)
            text = message.replace(" ", "") if isinstance(message, str) else ""
            if kind in text and (not only_history or '"history":true' in text):
                for event in events:
                    ws.send(json.dumps(event))

        upstream.on_message(forward)

    page.route_web_socket(re.compile(r"/ws/runs/"), relay)


def inject_alerts(page: Page, alerts: list[dict[str, Any]]) -> None:
    """Health alerts (never pausing) sent to the page as history, after each hello."""
    extra = {"type": "alert", "v": 1, "phase": "backward", "paused": False, "history": True}
    inject_after(page, '"type":"hello"', [{**extra, **alert} for alert in alerts])


def wait_for(page: Page, condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Poll a condition; Playwright delivers the websocket's frames while the page is waited on."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        page.wait_for_timeout(50)


def show_health(page: Page, received: HealthReceived) -> None:
    """Wait until the page has drawn the newest point received, and bring the health board into view."""
    wait_for(page, lambda: bool(received.points), "no health event arrived")
    canvas = page.locator("#dist-plot canvas")
    wait_for(
        page,
        lambda: canvas.get_attribute("data-last-step") == str(max(received.points)),
        "the heatmap never drew the newest point received",
    )
    page.locator("#health").scroll_into_view_if_needed()


def test_a_heatmap_column_holds_the_counts_the_server_sent_for_its_step(
    server: Server, page: Page
) -> None:
    """Hover across the heatmap: each column says which step it shows and carries that step's 64
    counts, which equal the health event's for that step; and the column's pixels are inked
    exactly where those counts are non-zero (each row's bin worked out here, as torch.histc
    would, from the step's [low, high] and the axis's range)."""
    run_id = new_run(server, {"experiment": "spiral"})
    received = HealthReceived(page)
    steps(server, run_id, 4)  # these points come with the history on connect
    open_run(page, server, run_id)
    steps(server, run_id, 3)  # and these live
    show_health(page, received)
    tensor = received.latest()["layers"][0]["tensor"]
    page.get_by_label("Tensor", exact=True).select_option(tensor)
    page.get_by_label("Field", exact=True).select_option("grad")
    canvas = page.locator("#dist-plot canvas")
    box = canvas.bounding_box()
    assert box is not None
    x0, y0, w, h = (int(v) for v in (canvas.get_attribute("data-plot") or "").split())
    y_lo, y_hi = (float(v) for v in (canvas.get_attribute("data-y") or "").split())
    readout = page.get_by_test_id("distribution-readout")
    seen: list[int] = []
    rows_checked = 0
    for k in range(24):
        c = int((k + 0.5) * w / 24)
        page.mouse.move(box["x"] + x0 + c + 0.5, box["y"] + y0 + h / 2)
        expect(readout).to_have_attribute("data-step", re.compile(r"^\d+$"))
        step = int(readout.get_attribute("data-step") or "")
        seen.append(step)
        counts = [int(v) for v in (readout.get_attribute("data-counts") or "").split(",")]
        column = page.evaluate(
            "([x, y, h]) => Array.from(document.querySelector('#dist-plot canvas')"
            ".getContext('2d').getImageData(x, y, 1, h).data)",
            [x0 + c, y0, h],
        )
        paper = [255, 255, 255]
        fields = {d["field"]: d for d in layer_of(received.points[step], tensor)["distributions"]}
        if "grad" not in fields:  # no gradient at this point (the untrained model's)
            assert counts == [0] * BINS
            assert all(column[i : i + 3] == paper for i in range(0, len(column), 4))
            continue
        sent = fields["grad"]
        assert counts == sent["counts"], (step, counts, sent["counts"])
        assert float(readout.get_attribute("data-low") or "") == pytest.approx(float(sent["low"]))
        assert float(readout.get_attribute("data-high") or "") == pytest.approx(float(sent["high"]))
        value = fields["value"]
        assert sum(counts) + sent["nonfinite"] == sum(value["counts"]) + value["nonfinite"]
        # The pixels of this column: ink where the step's bin has elements, paper elsewhere.
        low, high = float(sent["low"]), float(sent["high"])
        if low == high:  # torch.histc's convention for a constant tensor
            low, high = low - 1, high + 1
        row_in_bins = (y_hi - y_lo) / h / (high - low) * BINS  # one pixel row, in bins
        checked, inside, inked_inside = 0, 0, 0
        for r in range(3, h - 1):  # the top rows carry the NaN/Inf tick; the last, the frame
            at = (y_hi - (r + 0.5) / h * (y_hi - y_lo) - low) / (high - low) * BINS
            pixel = column[4 * r : 4 * r + 3]
            if at < -row_in_bins or at > BINS + row_in_bins:
                assert pixel == paper, (step, r, "outside the step's range")
            elif 0 <= at < BINS:
                inside += 1
                inked_inside += pixel != paper
                if abs(at - round(at)) >= row_in_bins:  # not on a bin's edge: one bin's row
                    assert (pixel != paper) == (counts[int(at)] > 0), (step, r, int(at))
                    checked += 1
        assert inside == 0 or inked_inside > 0, (step, "the step's range drawn blank")
        if row_in_bins < 0.25:  # a bin four rows tall or more: most rows lie inside one bin
            assert checked > inside // 2, (step, checked, inside)
        rows_checked += checked
    assert rows_checked > h, "too few rows were compared bin by bin"
    # the keyboard reads it too: focus, then Left goes back one point
    canvas.focus()
    canvas.press("ArrowLeft")
    previous = sorted(received.points)[-2]
    expect(readout).to_have_attribute("data-step", str(previous))
    expect(readout).to_contain_text(f"Step {previous}")
    # left to right the steps go up, from the first point received to the newest
    assert seen == sorted(seen)
    assert seen[-1] == max(received.points)
    assert len(set(seen)) >= min(len(received.points), 6)


def layer_of(point: dict[str, Any], tensor: str) -> dict[str, Any]:
    return next(layer for layer in point["layers"] if layer["tensor"] == tensor)


def test_norm_chart_has_a_line_per_tensor_and_the_ratio_chart_its_guide(
    server: Server, page: Page
) -> None:
    run_id = new_run(server, {"experiment": "spiral"})
    received = HealthReceived(page)
    open_run(page, server, run_id)
    steps(server, run_id, 5)
    show_health(page, received)
    latest = received.latest()
    tensors = [layer["tensor"] for layer in latest["layers"]]
    norms = page.locator("#norm-chart")
    labels = norms.locator(".u-legend .u-series th").all_inner_texts()
    # the step, a line per tensor, and the total over all parameters
    assert labels == ["step", *tensors, "all parameters"]
    # away from the chart, the legend reads each tensor's latest raw norm, and the total's
    values = norms.locator(".u-legend .u-series td").all_inner_texts()
    sent = [float(layer["grad_norm"]) for layer in latest["layers"]] + [float(latest["grad_norm"])]
    for name, norm, text in zip([*tensors, "total"], sent, values[1:], strict=True):
        shown = float(text.replace("\u2212", "-"))
        assert shown == pytest.approx(norm, rel=1e-3), name
    total = math.sqrt(sum(n * n for n in sent[:-1]))
    assert sent[-1] == pytest.approx(total, rel=1e-4), "the total is the norm over all tensors"
    ratios = page.locator("#ratio-chart")
    assert ratios.locator(".u-legend .u-series th").all_inner_texts()[1:] == tensors
    expect(ratios).to_have_attribute("data-guide", "0.001")
    plot_height = ratios.locator(".u-over").bounding_box()
    assert plot_height is not None
    guide_y = float(ratios.get_attribute("data-guide-y") or "nan")
    assert 0 <= guide_y <= plot_height["height"], "the 1e-3 guide lies inside the plot"
    # one smoothing setting for the page: the health charts follow it, raw drawn alone at 0
    expect(norms).to_have_attribute("data-smoothing", "0.6")
    page.get_by_label("Smoothing").fill("0")
    expect(norms).to_have_attribute("data-smoothing", "0")
    expect(ratios).to_have_attribute("data-smoothing", "0")


def test_overhead_readout_and_budget(server: Server, page: Page) -> None:
    run_id = new_run(server, {"experiment": "spiral"})
    received = HealthReceived(page)
    open_run(page, server, run_id)
    call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    wait_for(page, lambda: len(received.points) >= 4, "fewer than 4 health points while running")
    overhead = page.get_by_test_id("overhead")
    share = overhead.get_by_test_id("overhead-share")
    expect(share).to_contain_text("% of training time")
    expect(share).to_contain_text("budget 5.0%")
    rate = overhead.get_by_test_id("snapshot-rate")
    expect(rate).to_contain_text("a second")
    assert float(rate.get_attribute("data-rate") or "0") > 0
    cost = overhead.get_by_test_id("snapshot-cost")
    expect(cost).to_contain_text(re.compile(r"^[\d.]+ ms; the governor spaces them [\d.]+ s apart"))
    shown_ms = float(cost.get_attribute("data-ms") or "nan")
    assert any(
        shown_ms == pytest.approx(p["overhead"]["snapshot_ms"]) for p in received.points.values()
    )
    shown_share = float(share.get_attribute("data-share") or "nan")
    assert any(
        shown_share == pytest.approx(p["overhead"]["share"]) for p in received.points.values()
    )

    budget = page.get_by_label("Overhead budget")
    expect(budget).to_have_value("5")
    budget.fill("10")
    budget.press("Enter")
    wait_for(
        page,
        lambda: (
            call(server, f"api/runs/{run_id}")["instrumentation"]["budget"] == pytest.approx(0.1)
        ),
        "the budget did not reach the run",
    )
    expect(share).to_contain_text("budget 10%", timeout=20_000)  # the worker's next point says so
    call(server, f"api/runs/{run_id}/commands/pause", "POST")


@pytest.mark.allow_console(r"status of 422")
def test_a_hostile_budget_is_refused_beside_the_field(server: Server, page: Page) -> None:
    run_id = new_run(server, {"experiment": "spiral"})
    open_run(page, server, run_id)
    steps(server, run_id, 1)
    expect(page.get_by_test_id("health")).to_be_visible()
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data or "") if r.url.endswith("/instrumentation") else None,
    )
    budget = page.get_by_label("Overhead budget")
    error = page.get_by_test_id("budget-error")
    for text in ("", "1e999"):
        budget.fill(text)
        budget.press("Enter")
        expect(error).to_be_visible()
        expect(error).to_contain_text("not sent")
    assert sent == []
    # a number the server refuses: its sentence, and the budget in force put back
    budget.fill("90")
    budget.press("Enter")
    expect(error).to_contain_text("Refused")
    expect(budget).to_have_value("5")
    assert json.loads(sent[-1]) == {"budget": 0.9}
    assert call(server, f"api/runs/{run_id}")["instrumentation"]["budget"] == pytest.approx(0.05)
    budget.fill("2.5")
    budget.press("Enter")
    expect(error).to_be_hidden()
    wait_for(
        page,
        lambda: (
            call(server, f"api/runs/{run_id}")["instrumentation"]["budget"] == pytest.approx(0.025)
        ),
        "the budget did not reach the run",
    )


def test_a_phone_shows_the_health_views_without_horizontal_scrolling(
    server: Server, page: Page
) -> None:
    page.set_viewport_size(PHONE)
    run_id = new_run(server, {"experiment": "spiral"})
    received = HealthReceived(page)
    open_run(page, server, run_id)
    steps(server, run_id, 3)
    show_health(page, received)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    names = ["distributions", "overhead", "dead-units", "grad-norms", "update-ratios"]
    boxes = [page.get_by_test_id(name).bounding_box() for name in names]
    for name, box in zip(names, boxes, strict=True):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], name
    # one column, in order, none over another
    for above, below in pairwise(boxes):
        assert above is not None and below is not None
        assert above["y"] + above["height"] <= below["y"] + 0.5
    overflowing = page.evaluate(
        "[...document.querySelectorAll('#health *')]"
        ".filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5).length"
    )
    assert overflowing == 0
    page.get_by_test_id("distributions").scroll_into_view_if_needed()
    screenshot(page, "health-phone")


@pytest.mark.parametrize("experiment", ["spiral", "wide-mlp"])
def test_health_views_at_1280x800(server: Server, page: Page, experiment: str) -> None:
    run_id = new_run(server, {"experiment": experiment})
    received = HealthReceived(page)
    open_run(page, server, run_id)
    steps(server, run_id, 2)
    call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    wait_for(page, lambda: len(received.points) >= 6, "fewer than 6 health points", seconds=60)
    call(server, f"api/runs/{run_id}/commands/pause", "POST")
    expect(page.get_by_test_id("status")).to_have_text("paused")
    show_health(page, received)
    panels = ["distributions", "overhead", "dead-units", "grad-norms", "update-ratios"]
    boxes = {name: page.get_by_test_id(name).bounding_box() for name in panels}
    for name, box in boxes.items():
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, name
    # no two panels overlap
    for a in panels:
        for b in panels:
            p, q = boxes[a], boxes[b]
            if a < b and p and q:
                apart = (
                    p["x"] + p["width"] <= q["x"] + 0.5
                    or q["x"] + q["width"] <= p["x"] + 0.5
                    or p["y"] + p["height"] <= q["y"] + 0.5
                    or q["y"] + q["height"] <= p["y"] + 0.5
                )
                assert apart, (a, b)
    if experiment == "wide-mlp":
        # its ReLU layers' dead units, as the latest point counted them
        units = received.latest()["units"]
        assert units
        rows = page.locator(".dead-list li")
        expect(rows).to_have_count(len(units))
    canvas = page.locator("#dist-plot canvas")
    box = canvas.bounding_box()
    assert box is not None
    x0, y0, w, h = (int(v) for v in (canvas.get_attribute("data-plot") or "").split())
    page.mouse.move(box["x"] + x0 + w * 0.7, box["y"] + y0 + h / 2)
    page.evaluate("document.getElementById('health').scrollIntoView()")
    screenshot(page, f"health-{experiment}")


def test_a_pause_at_full_speed_on_the_wide_mlp_says_why_the_update_is_missing(
    server: Server, page: Page
) -> None:
    """On a model this large the recorder does not copy the parameters before every step at full
    speed (the copy would cost over 1% of a step), so the step before a pause has no update: the
    page says so, and why, instead of PyTorch's "None"."""
    run_id = new_run(server, {"experiment": "wide-mlp"})
    headers: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            length = int.from_bytes(payload[:4], "little")
            headers.append(json.loads(payload[4 : 4 + length]))

    page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    open_run(page, server, run_id)
    call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    wait_for(page, lambda: call(server, f"api/runs/{run_id}")["step"] >= 80, "slow", seconds=90)
    # A step whose snapshot was due is recorded (armed) and shows its update: about one step in
    # thirty at this model's snapshot rate. A pause that lands on one is run on and taken again.
    for _ in range(5):
        call(server, f"api/runs/{run_id}/commands/pause", "POST")
        expect(page.get_by_test_id("status")).to_have_text("paused")
        # the pause's own snapshot: the last one sent, at the step the run stopped at
        wait_for(
            page,
            lambda: (
                bool(headers) and headers[-1]["step"] == call(server, f"api/runs/{run_id}")["step"]
            ),
            "no snapshot of the pause",
        )
        paused = headers[-1]
        if paused["tensors"][0]["fields"]["update"] is None:
            break
        step = paused["step"]
        call(server, f"api/runs/{run_id}/commands/start", "POST")
        wait_for(
            page,
            lambda after=step: call(server, f"api/runs/{run_id}")["step"] > after + 2,
            "slow",
        )
    assert paused["tensors"][0]["fields"]["update"] is None, "every pause had an update"
    scale = page.locator("#params .field-row[data-field=update] .field-scale").first
    expect(scale).to_have_text("not recorded")
    assert "not copied" in (scale.get_attribute("title") or "")
    page.locator("#params canvas.heatmap").first.focus()
    detail = page.locator("#detail")
    expect(detail.locator(".ledger")).to_contain_text("not recorded")
    expect(detail).to_contain_text("not copied before each step")


def test_gradient_alerts_are_marked_on_the_norm_chart(server: Server, page: Page) -> None:
    """Exploding and vanishing gradient alerts are marked at their steps on the gradient-norm
    chart, in their colours; a dead-units alert is not (it is no gradient's). The alerts are
    injected on a real run's stream: which condition raises them is the server's business."""
    run_id = new_run(server, {"experiment": "spiral"})
    steps(server, run_id, 6)
    alerts = [
        {
            "kind": "exploding",
            "step": 3,
            "tensor": "all parameters",
            "detail": "‖g‖ 40 is 25× the median",
        },
        {"kind": "dead_units", "step": 4, "tensor": "net.1", "detail": "60 of 64 units output 0"},
        {"kind": "vanishing", "step": 5, "tensor": "1.weight", "detail": "‖g‖/‖θ‖ 2e-9"},
    ]

    inject_alerts(page, alerts)
    received = HealthReceived(page)
    open_run(page, server, run_id)
    show_health(page, received)
    norms = page.locator("#norm-chart")
    expect(norms).to_have_attribute(
        "data-alerts",
        "step 3: Exploding gradient: all parameters; step 5: Vanishing gradient: 1.weight",
    )
    # each line in its kind's colour, at its step's x
    found = page.evaluate(
        """() => {
          const canvas = document.querySelector('#norm-chart canvas');
          const { data, width, height } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          // the columns where a line of that colour runs down the plot (a label is a few rows tall)
          const columns = (r, g, b) => {
            const counts = new Map();
            for (let i = 0; i < width * height; i++) {
              const k = 4 * i;
              if (Math.abs(data[k] - r) + Math.abs(data[k + 1] - g) + Math.abs(data[k + 2] - b) < 12) {
                counts.set(i % width, (counts.get(i % width) ?? 0) + 1);
              }
            }
            return [...counts].filter(([, n]) => n > 50).map(([x]) => x);
          };
          return { exploding: columns(185, 28, 28), vanishing: columns(14, 116, 144) };
        }"""
    )
    assert found["exploding"] and found["vanishing"], found
    assert max(found["exploding"]) < min(found["vanishing"]), "step 3's mark left of step 5's"


def test_thousands_of_points_keep_the_latest_2000_one_column_per_pixel(
    server: Server, page: Page
) -> None:
    """2,500 points (injected after a real run's own, on its stream): the page keeps the latest
    2,000, says so, draws at most one point per pixel column, and redraws quickly."""
    run_id = new_run(server, {"experiment": "seed-linear"})
    steps(server, run_id, 2)
    counts = [0] * BINS
    counts[10], counts[40] = 7, 3
    first = 1_000_000
    many = [
        {
            "step": first + 5 * k,
            "grad_norm": 1.0,
            "layers": [
                {
                    "tensor": "weight",
                    "value_norm": 1.0,
                    "grad_norm": 1.0 + k % 7,
                    "update_norm": 0.001,
                    "update_ratio": 0.001,
                    "distributions": [
                        {"field": "value", "low": -1, "high": 1, "counts": counts, "nonfinite": 0}
                    ],
                }
            ],
            "units": [],
            "overhead": {"budget": 0.05, "share": 0.01, "snapshot_ms": 1.0, "interval_s": 0.5},
        }
        for k in range(2500)
    ]

    history_health = {"type": "health", "v": 1, "points": many, "history": True}
    inject_after(page, '"type":"health"', [history_health], only_history=True)
    open_run(page, server, run_id)
    canvas = page.locator("#dist-plot canvas")
    expect(canvas).to_have_attribute("data-last-step", str(first + 5 * 2499), timeout=30_000)
    expect(canvas).to_have_attribute("data-points", "2000")
    caption = page.locator("#dist-caption")
    expect(caption).to_contain_text("The page keeps the latest 2,000 points")
    expect(caption).to_contain_text("older left out")
    expect(caption).to_contain_text("drawn (one per pixel column)")
    width = int((canvas.get_attribute("data-plot") or "0 0 0 0").split()[2])
    drawn = int(re.search(r", (\d+) drawn", caption.inner_text()).group(1))  # type: ignore[union-attr]
    assert drawn <= width < 2000
    # the oldest point kept is the 501st sent
    x_min = float((canvas.get_attribute("data-x") or "").split()[0])
    assert x_min == first + 5 * 500
    redraw_ms = page.evaluate(
        """() => {
          const field = document.getElementById('dist-field');
          const t = performance.now();
          for (let i = 0; i < 10; i++) field.dispatchEvent(new Event('change'));
          return (performance.now() - t) / 10;
        }"""
    )
    print(f"distributions redraw, 2,000 points: {redraw_ms:.1f} ms")
    assert redraw_ms < 100, redraw_ms


@pytest.mark.parametrize("experiment", ["seed-linear", "spiral"])
def test_the_loss_plot_keeps_its_height_with_alerts_listed(
    server: Server, page: Page, experiment: str
) -> None:
    """Three alerts listed above the loss chart at 1280×800: the list takes at most two lines and
    scrolls, and the plot keeps at least 180 px. Alerts injected on a real run's stream."""
    run_id = new_run(server, {"experiment": experiment})
    steps(server, run_id, 3)
    alerts = [
        {
            "kind": "exploding",
            "step": 1,
            "tensor": "all parameters",
            "detail": "‖g‖ 40 is 25× the median",
        },
        {
            "kind": "vanishing",
            "step": 2,
            "tensor": "0.weight",
            "detail": "‖g‖/‖θ‖ 2e-9 is under 1e-3",
        },
        {"kind": "dead_units", "step": 3, "tensor": "net.1", "detail": "60 of 64 units output 0"},
    ]

    inject_alerts(page, alerts)
    open_run(page, server, run_id)
    listed = page.get_by_test_id("alerts")
    expect(listed.locator("li")).to_have_count(3)
    # the chart follows its box and its legend within a frame or two: plot and legend fit the box
    page.wait_for_function(
        "() => { const box = document.getElementById('loss-chart');"
        " const root = box && box.querySelector('.uplot');"
        " return !!root && root.offsetHeight <= box.clientHeight + 1; }"
    )
    plot = page.locator("#loss-chart .u-over").bounding_box()
    chart = page.locator("#loss-chart").bounding_box()
    items = page.locator("#alert-list").bounding_box()
    assert plot is not None and chart is not None and items is not None
    line = float(
        page.locator("#alert-list").evaluate(
            "(el) => parseFloat(getComputedStyle(el).lineHeight) || 18"
        )
    )
    assert items["height"] <= 2 * line + 4, items
    assert chart["height"] >= 180, chart
    assert plot["height"] >= 120, plot
    panel = page.locator(".panel.loss").bounding_box()
    assert (panel is not None and panel["y"] + panel["height"] <= 800) or experiment == "spiral"
    page.locator(".panel.loss").scroll_into_view_if_needed()
    screenshot(page, f"loss-with-alerts-{experiment}")
