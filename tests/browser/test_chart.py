"""The loss chart in a real browser: log scale, huge and non-finite losses, optimizer marks,
hover, zoom, and racers' losses."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.rest import call, new_run, open_run, run_until, steps
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART = "#loss-chart"


def pixels_of(page: Page, rgb: tuple[int, int, int]) -> int:
    """How many pixels of the loss chart's canvas are drawn in (about) this colour."""
    count: int = page.evaluate(
        """([r, g, b]) => {
          const canvas = document.querySelector('#loss-chart canvas');
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40
                && Math.abs(data[i + 2] - b) < 40 && data[i + 3] > 200) n++;
          return n;
        }""",
        list(rgb),
    )
    return count


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
