"""The loss chart in a real browser: log scale, huge and non-finite losses, optimizer marks,
hover, zoom, racers' losses, smoothing over the raw losses, alerts of every kind, and a one-step
spike in a million steps."""

from __future__ import annotations

import json
import math
import re
import time

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ARTIFACTS, pixels_of, screenshot
from tests.browser.rest import call, new_run, open_run, run_until, steps
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART = "#loss-chart"


def drawn_in(page: Page, rgb: tuple[int, int, int], at_least: int, timeout_ms: int = 5000) -> bool:
    """Wait (a redraw comes on the next animation frame) until that many pixels are this colour."""
    script = """([r, g, b, least]) => {
      const canvas = document.querySelector('#loss-chart canvas');
      if (!canvas) return false;
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4)
        if (Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40
            && Math.abs(data[i + 2] - b) < 40 && data[i + 3] > 200) n++;
      return n > least;
    }"""
    try:
        page.wait_for_function(script, arg=[*rgb, at_least], timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True


OWN_BLUE = (29, 78, 216)
RACER_RED = (220, 38, 38)


def y_ticks(page: Page) -> list[str]:
    text = page.locator(CHART).get_attribute("data-y-ticks") or ""
    return [t for t in text.split(" | ") if t]


def assert_readable_y_axis(page: Page) -> list[str]:
    """At least three distinct tick labels, in the page's signs, and an axis wide enough for
    the widest of them, so the axis title never sits on the numbers."""
    page.wait_for_function(
        f"(document.querySelector('{CHART}').dataset.yTicks || '').split(' | ').length >= 3"
    )
    ticks = y_ticks(page)
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks
    assert all("-" not in t and "e+" not in t and "nan" not in t.lower() for t in ticks), ticks
    widest: float = page.evaluate(
        """(ticks) => {
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
          return Math.max(...ticks.map((t) => ctx.measureText(t).width));
        }""",
        ticks,
    )
    axis = int(page.locator(CHART).get_attribute("data-y-axis-size") or 0)
    assert axis >= widest + 10, f"axis {axis}px for labels {widest:.0f}px wide: {ticks}"
    return ticks


def test_log_scale_keeps_the_curve(server: Server, page: Page) -> None:
    """Ticking Log scale once blanked the chart and threw on null ticks (toExponential)."""
    run_id = new_run(server, {"experiment": "seed-linear"})
    steps(server, run_id, 40)
    open_run(page, server, run_id)
    expect(page.get_by_test_id("step")).to_have_text("40")
    page.wait_for_function(f"document.querySelector('{CHART}').dataset.yTicks")
    linear = pixels_of(page, OWN_BLUE)
    assert linear > 50
    page.get_by_role("checkbox", name="Log scale").check()
    page.wait_for_function(
        f"document.querySelector('{CHART}').querySelector('.u-legend')"
        " && document.querySelector('#loss-chart canvas')"
    )
    assert drawn_in(page, OWN_BLUE, 50), "the log-scale chart is blank"
    assert_readable_y_axis(page)
    page.get_by_role("checkbox", name="Log scale").uncheck()
    assert_readable_y_axis(page)
    # the page fixture fails the test on any uncaught error or console error


def test_a_diverging_run_keeps_its_axis_readable(server: Server, page: Page) -> None:
    """SGD at lr 10 on the seed climbs past 1e30 and on to Inf and NaN: the y axis keeps labels
    in both scales, and the non-finite losses are counted above the chart."""
    run_id = new_run(server, {"experiment": "seed-linear", "optimizer": {"name": "sgd", "lr": 10}})
    # streamed on as data: the NaN/Inf alert, on by default, would pause it at the first Inf
    call(server, f"api/runs/{run_id}/alerts", "PUT", {"nonfinite": False})
    run_until(server, run_id, lambda run: run["loss"] == "NaN" and run["step"] > 60)
    open_run(page, server, run_id)
    expect(page.locator("#nonfinite")).to_contain_text("non-finite loss")
    ticks = assert_readable_y_axis(page)
    assert any(
        t.endswith(("e30", "e31", "e32", "e33", "e34", "e35", "e36", "e37", "e38")) for t in ticks
    ), ticks
    screenshot(page, "loss-chart-diverged-linear")
    page.get_by_role("checkbox", name="Log scale").check()
    page.wait_for_function(f"document.querySelector('{CHART}').dataset.yTicks.includes('1e')")
    ticks = assert_readable_y_axis(page)
    assert "1e20" in ticks or "1e30" in ticks, ticks
    screenshot(page, "loss-chart-diverged-log")


def test_optimizer_marks_say_what_changed_and_never_overlap(server: Server, page: Page) -> None:
    run_id = new_run(
        server, {"experiment": "seed-linear", "optimizer": {"name": "sgd", "lr": 0.01}}
    )
    for lr in (0.02, 0.05, 0.1, 0.2):
        steps(server, run_id, 2)
        call(server, f"api/runs/{run_id}/optimizer", "PUT", {"name": "sgd", "lr": lr})
    steps(server, run_id, 2)
    call(server, f"api/runs/{run_id}/optimizer", "PUT", {"name": "adam", "lr": 0.05})
    steps(server, run_id, 200)
    open_run(page, server, run_id)
    page.wait_for_function(f"document.querySelector('{CHART}').dataset.markLabels")
    marks = page.locator(CHART).get_attribute("data-marks") or ""
    # the first too: the history's mark says what it replaced (`previous`)
    for change in (
        "step 2: lr 0.01→0.02",
        "lr 0.02→0.05",
        "lr 0.05→0.1",
        "lr 0.1→0.2",
        "SGD→Adam, lr 0.2→0.05",
    ):
        assert change in marks, marks
    placed = json.loads(page.locator(CHART).get_attribute("data-mark-labels") or "[]")
    shown = sum(1 + int(p["text"].rsplit("+", 1)[1]) if " +" in p["text"] else 1 for p in placed)
    assert shown == 5, placed  # every mark is labelled, or counted in a neighbour's "+n"
    for a in placed:
        for b in placed:
            if a is not b and a["row"] == b["row"]:
                assert a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"], (a, b)
    screenshot(page, "loss-chart-marks")


def test_a_learning_rate_change_made_while_watching_says_from_and_to(
    server: Server, page: Page
) -> None:
    run_id = new_run(
        server, {"experiment": "seed-linear", "optimizer": {"name": "sgd", "lr": 0.01}}
    )
    steps(server, run_id, 5)
    open_run(page, server, run_id)
    expect(page.get_by_test_id("step")).to_have_text("5")
    page.get_by_label("Learning rate").fill("0.1")
    page.get_by_label("Learning rate").press("Enter")
    expect(page.locator(CHART)).to_have_attribute("data-marks", "step 5: lr 0.01→0.1")
    call(server, f"api/runs/{run_id}/optimizer", "PUT", {"name": "adam", "lr": 0.1})
    expect(page.locator(CHART)).to_have_attribute(
        "data-marks", "step 5: lr 0.01→0.1; step 5: SGD→Adam"
    )


def test_hover_reads_step_and_loss_drag_zooms_double_click_resets(
    server: Server, page: Page
) -> None:
    run_id = new_run(server, {"experiment": "seed-linear"})
    run_until(server, run_id, lambda run: run["step"] >= 400)
    open_run(page, server, run_id)
    over = page.locator(f"{CHART} .u-over")
    expect(over).to_be_visible()
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    values = page.locator(f"{CHART} .u-legend .u-value")
    expect(values.nth(0)).to_have_text(re.compile(r"^\d+$"))
    expect(values.nth(1)).to_have_text(re.compile(r"^\d+(\.\d+)?(e−?\d+)?$"))
    hovered = int(values.nth(0).inner_text())
    total = int(page.get_by_test_id("step").inner_text())
    assert 0.3 * total < hovered < 0.7 * total, (hovered, total)

    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=5)
    page.mouse.up()
    expect(page.locator(CHART)).to_have_attribute("data-zoom", re.compile(r"^\d+–\d+$"))
    low, high = (int(v) for v in (page.locator(CHART).get_attribute("data-zoom") or "").split("–"))
    assert 0.1 * total < low < high < 0.4 * total, (low, high, total)
    # zoomed in, hovering reads steps inside the window, one step apart at full resolution
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    inside = int(values.nth(0).inner_text())
    assert low <= inside <= high
    screenshot(page, "loss-chart-zoomed")

    page.mouse.dblclick(box["x"] + box["width"] * 0.5, y)
    expect(page.locator(CHART)).to_have_attribute("data-zoom", "")


def test_racers_losses_are_on_the_chart_with_a_legend_and_survive_a_reload(
    server: Server, page: Page
) -> None:
    run_id = new_run(
        server,
        {
            "experiment": "surface-2d",
            "optimizer": {"name": "sgd", "lr": 0.1},
            "race": [{"name": "adam", "lr": 0.1}],
        },
    )
    steps(server, run_id, 30)
    open_run(page, server, run_id)
    legend = page.locator(f"{CHART} .u-legend")
    expect(legend).to_contain_text("Adam")
    expect(legend).to_contain_text("SGD (this run)")
    assert drawn_in(page, RACER_RED, 20), "Adam's loss is not drawn"
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    expect(legend).to_contain_text("Adam")
    assert drawn_in(page, RACER_RED, 20), "Adam's loss did not survive the reload"
    screenshot(page, "loss-chart-race")


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844), (360, 780)])
def test_chart_and_surface_fit_their_panels_and_follow_a_resize(
    server: Server, page: Page, width: int, height: int
) -> None:
    run_id = new_run(
        server,
        {
            "experiment": "surface-2d",
            "optimizer": {"name": "sgd", "lr": 0.1},
            "race": [{"name": "adam", "lr": 0.05}],
        },
    )
    steps(server, run_id, 20)
    page.set_viewport_size({"width": width, "height": height})
    open_run(page, server, run_id)
    expect(page.locator(f"{CHART} .u-legend")).to_contain_text("Adam")
    page.wait_for_function(
        "(document.querySelector('#surface canvas').dataset.trails || '').includes('Adam')"
    )
    fits = """() => {
      const chart = document.querySelector('#loss-chart');
      const plot = chart.querySelector('.uplot');
      const surface = document.querySelector('#surface');
      const canvas = surface.querySelector('canvas');
      return {
        page: document.scrollingElement.scrollWidth - window.innerWidth,
        chart: plot.getBoundingClientRect().width - chart.getBoundingClientRect().width,
        surface: canvas.getBoundingClientRect().width - surface.getBoundingClientRect().width,
        surfacePixels: canvas.width / devicePixelRatio - canvas.getBoundingClientRect().width,
        chartWidth: plot.getBoundingClientRect().width,
      };
    }"""
    measured = page.evaluate(fits)
    assert measured["page"] <= 0, f"horizontal scroll at {width}px: {measured}"
    assert measured["chart"] <= 1, measured
    assert measured["surface"] <= 1, measured
    assert abs(measured["surfacePixels"]) <= 1, measured
    screenshot(page, "loss-chart-and-surface")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for panel in ("surface", "loss"):
        page.locator(f"section.{panel}").screenshot(
            path=str(ARTIFACTS / f"panel-{panel}-{width}x{height}.png")
        )
    # narrower, then back: both redraw to their new boxes
    plot_width = "document.querySelector('#loss-chart .uplot').getBoundingClientRect().width"
    narrower = max(360, width // 2)
    if narrower < width:
        page.set_viewport_size({"width": narrower, "height": height})
        # (a narrower window can mean a wider chart: the page reflows to one column)
        page.wait_for_function(
            f"(before) => Math.abs({plot_width} - before) > 1", arg=measured["chartWidth"]
        )
        narrow = page.evaluate(fits)
        assert narrow["page"] <= 0 and narrow["chart"] <= 1, narrow
        assert abs(narrow["surfacePixels"]) <= 1, narrow
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function(
        f"(before) => Math.abs({plot_width} - before) <= 1", arg=measured["chartWidth"]
    )
    again = page.evaluate(fits)
    assert abs(again["surfacePixels"]) <= 1 and again["page"] <= 0, again


FAINT_PIXELS = """([r, g, b]) => {
  // pixels of this colour drawn see-through (the raw line under the smoothed one) and opaque
  const canvas = document.querySelector('#loss-chart canvas');
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let faint = 0, opaque = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) >= 40 || Math.abs(data[i + 1] - g) >= 40 || Math.abs(data[i + 2] - b) >= 40) continue;
    if (data[i + 3] > 200) opaque++;
    else if (data[i + 3] >= 40) faint++;
  }
  return { faint, opaque };
}"""


def debiased_ema(values: list[float], weight: float) -> list[float]:
    """TensorBoard's smoothing, written out here: last = last·w + (1 − w)·v, divided by 1 − wⁿ."""
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        n += 1
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**n))
    return out


def legend_value(page: Page, label: str) -> float:
    text = page.locator(f"{CHART} .u-legend .u-series", has_text=label).locator(".u-value")
    return float(text.inner_text().replace("\u2212", "-"))


def test_smoothing_draws_the_smoothed_loss_over_the_faint_raw_one(
    server: Server, page: Page
) -> None:
    run_id = new_run(
        server, {"experiment": "seed-linear", "optimizer": {"name": "sgd", "lr": 0.05}}
    )
    steps(server, run_id, 60)
    losses: list[float] = []
    deadline = time.monotonic() + 10
    while len(losses) < 60:  # the history is written a moment after the steps
        assert time.monotonic() < deadline, f"{len(losses)} losses in the history"
        losses = [float(v) for v in call(server, f"api/runs/{run_id}/scalars")["loss"]]
    open_run(page, server, run_id)
    expect(page.get_by_test_id("step")).to_have_text("60")
    slider = page.get_by_role("slider", name="Smoothing")
    expect(slider).to_have_value("0.6")
    legend = page.locator(f"{CHART} .u-legend")
    expect(legend).to_contain_text("smoothed")
    page.wait_for_function(f"({FAINT_PIXELS})([29, 78, 216]).faint > 50", arg=None)
    drawn = page.evaluate(FAINT_PIXELS, list(OWN_BLUE))
    assert drawn["opaque"] > 50 and drawn["faint"] > 50, drawn
    # away from the plot the legend reads the last step: the raw loss and its smoothed value
    assert legend_value(page, "loss") == pytest.approx(losses[-1], rel=1e-4)
    assert legend_value(page, "smoothed") == pytest.approx(debiased_ema(losses, 0.6)[-1], rel=1e-4)
    # hovered, both at the hovered step
    box = page.locator(f"{CHART} .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    step = int(legend.locator(".u-series").nth(0).locator(".u-value").inner_text())
    assert 5 < step < 40, step
    assert legend_value(page, "loss") == pytest.approx(losses[step - 1], rel=1e-4)
    assert legend_value(page, "smoothed") == pytest.approx(
        debiased_ema(losses, 0.6)[step - 1], rel=1e-4
    )
    page.mouse.move(0, 0)
    screenshot(page, "loss-chart-smoothed")
    # a heavier weight redraws the same plot with the new smoothed values
    plot = page.locator(f"{CHART} .uplot").element_handle()
    slider.fill("0.9")
    expect(legend.locator(".u-series", has_text="smoothed").locator(".u-value")).to_have_text(
        re.compile(r"^\d")
    )
    page.wait_for_function(
        "([label, want]) => Math.abs(parseFloat([...document.querySelectorAll("
        "'#loss-chart .u-legend .u-series')].find((s) => s.textContent.includes(label))"
        ".querySelector('.u-value').textContent) - want) < 1e-4 * Math.abs(want)",
        arg=["smoothed", debiased_ema(losses, 0.9)[-1]],
    )
    assert page.evaluate("(plot) => plot.isConnected", plot)
    # weight 0: the raw line alone, opaque, no "smoothed" in the legend
    slider.fill("0")
    expect(legend).not_to_contain_text("smoothed")
    chart = page.locator(CHART)
    expect(chart).to_have_attribute("data-smoothing", "0")
    expect(chart).not_to_have_attribute("aria-label", re.compile("Smoothed"))
    assert legend_value(page, "loss") == pytest.approx(losses[-1], rel=1e-4)
    assert drawn_in(page, OWN_BLUE, 50)


def test_log_scale_redraws_the_same_plot_with_the_same_data(server: Server, page: Page) -> None:
    run_id = new_run(server, {"experiment": "seed-linear"})
    steps(server, run_id, 30)
    open_run(page, server, run_id)
    expect(page.get_by_test_id("step")).to_have_text("30")
    legend = page.locator(f"{CHART} .u-legend")
    expect(legend.locator(".u-value").nth(0)).to_have_text("30")
    before = (legend_value(page, "loss"), legend_value(page, "smoothed"))
    plot = page.locator(f"{CHART} .uplot").element_handle()
    box = page.get_by_role("checkbox", name="Log scale")
    for _ in range(2):
        box.check()
        page.wait_for_function(f"document.querySelector('{CHART}').dataset.yTicks.length > 0")
        assert (legend_value(page, "loss"), legend_value(page, "smoothed")) == before
        box.uncheck()
    assert page.evaluate("(plot) => plot.isConnected", plot), "the plot was rebuilt"
    assert (legend_value(page, "loss"), legend_value(page, "smoothed")) == before
    assert drawn_in(page, OWN_BLUE, 50)


ALERTS: list[dict[str, str | int]] = [
    {
        "kind": "exploding",
        "step": 10,
        "phase": "backward",
        "tensor": "all parameters",
        "detail": "the gradient norm 812 is 40× its recent median 20",
    },
    {
        "kind": "vanishing",
        "step": 20,
        "phase": "backward",
        "tensor": "0.weight",
        "detail": "‖g‖/‖θ‖ 2e-9 is under 1e-3 of the largest layer's",
    },
    {
        "kind": "dead_units",
        "step": 30,
        "phase": "loss",
        "tensor": "net.1",
        "detail": "60 of 64 units output 0 for the whole batch",
    },
]


def test_health_alerts_are_marked_and_listed_by_kind(server: Server, page: Page) -> None:
    """The three kinds of alert that do not pause, sent on a real run's stream (injected by
    the test: which condition raises them is the server's business, tested there)."""
    run_id = new_run(server, {"experiment": "seed-linear"})
    steps(server, run_id, 40)

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            ws.send(message)
            if isinstance(message, str) and '"type":"hello"' in message.replace(" ", ""):
                for alert in ALERTS:
                    ws.send(
                        json.dumps(
                            {"type": "alert", "v": 1, "paused": False, "history": True, **alert}
                        )
                    )

        upstream.on_message(forward)

    page.route_web_socket(re.compile(r"/ws/runs/"), relay)
    open_run(page, server, run_id)
    items = page.get_by_test_id("alerts").locator("li")
    expect(items).to_have_count(3)
    for item, alert, words in zip(
        items.all(),
        ALERTS,
        ["Exploding gradient", "Vanishing gradient", "Dead ReLU units"],
        strict=True,
    ):
        expect(item).to_have_attribute("data-kind", str(alert["kind"]))
        expect(item).to_contain_text(words)
        expect(item).to_contain_text(f"step {alert['step']}")
        expect(item).to_contain_text(str(alert["tensor"]))
        expect(item).not_to_contain_text("paused")
    chart = page.locator(CHART)
    expect(chart).to_have_attribute(
        "data-alerts",
        "step 10: Exploding gradient, all parameters; step 20: Vanishing gradient, 0.weight; "
        "step 30: Dead ReLU units, net.1",
    )
    expect(chart).to_have_attribute("aria-label", re.compile("Alerts: step 10: Exploding gradient"))
    placed = json.loads(chart.get_attribute("data-alert-labels") or "[]")
    shown = sum(1 + int(p["text"].rsplit("+", 1)[1]) if " +" in p["text"] else 1 for p in placed)
    assert shown == 3, placed
    # each in its own colour on the canvas: the exploding mark's dark red, the vanishing's teal
    for rgb in ((185, 28, 28), (14, 116, 144), (161, 98, 7)):
        assert drawn_in(page, rgb, 20), rgb
    screenshot(page, "loss-chart-health-alerts")


def spiky_losses(steps: int, spike: int) -> list[float]:
    values = [0.5 + math.exp(-i / (steps / 5)) * (0.5 + 0.25 * math.sin(i)) for i in range(steps)]
    values[spike - 1] = 1000 * values[spike - 2]
    return values


def test_a_one_step_spike_in_a_million_steps_is_drawn(server: Server, page: Page) -> None:
    """A million-step history (sent by the test on the stream of an empty run): the chart draws
    the single step 1000× its neighbours at its step, in the raw line and the smoothed one."""
    n, spike = 1_000_000, 654_321
    run_id = new_run(server, {"experiment": "seed-linear"})
    history = json.dumps(
        {
            "type": "scalars",
            "v": 1,
            "first_step": 1,
            "loss": [round(v, 6) for v in spiky_losses(n, spike)],
            "t0": None,
            "t1": None,
            "history": True,
            "race": None,
            "path": None,
        }
    )

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            ws.send(message)
            if isinstance(message, str) and '"type":"hello"' in message.replace(" ", ""):
                ws.send(history)

        upstream.on_message(forward)

    page.route_web_socket(re.compile(r"/ws/runs/"), relay)
    open_run(page, server, run_id)
    expect(page.locator(f"{CHART} .u-legend .u-value").nth(0)).to_have_text(str(n), timeout=30_000)
    # the legend's fit: the plot settles its height, plot and legend within the chart's box
    page.wait_for_function(
        "() => { const box = document.querySelector('#loss-chart');"
        " const root = box && box.querySelector('.uplot');"
        " return !!root && root.offsetHeight <= box.clientHeight + 1; }"
    )
    found = page.evaluate(
        """([r, g, b]) => {
          const canvas = document.querySelector('#loss-chart canvas');
          const over = document.querySelector('#loss-chart .u-over').getBoundingClientRect();
          const box = canvas.getBoundingClientRect();
          const sx = canvas.width / box.width, sy = canvas.height / box.height;
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          const top = {faint: null, opaque: null};
          for (let y = 0; y < canvas.height; y++) for (let x = 0; x < canvas.width; x++) {
            const k = 4 * (y * canvas.width + x);
            if (Math.abs(data[k] - r) + Math.abs(data[k + 1] - g) + Math.abs(data[k + 2] - b) > 60) continue;
            const at = {x: (x / sx + box.left - over.left) / over.width, y: (y / sy + box.top - over.top) / over.height};
            if (data[k + 3] > 200) top.opaque ??= at;
            else if (data[k + 3] >= 40) top.faint ??= at;
          }
          return top;
        }""",
        list(OWN_BLUE),
    )
    at = (spike - 1) / (n - 1)
    # the raw line: to the top of the plot, at the spike's step (within 3 px of 1,000)
    assert found["faint"] is not None and found["faint"]["y"] < 0.15, found
    assert abs(found["faint"]["x"] - at) < 0.003, (found, at)
    # the smoothed one steps up there too (0.4 of the spike at weight 0.6), far above the rest
    assert found["opaque"] is not None and abs(found["opaque"]["x"] - at) < 0.003, (found, at)
    assert found["opaque"]["y"] < 0.8, found
    screenshot(page, "loss-chart-million-steps")
