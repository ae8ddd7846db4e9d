"""Runs that last, in a real browser: a reload mid-run finds the whole curve; the runs list names,
renames, exports, deletes and compares runs (two runs' losses on one chart, each in its colour,
named in the legend)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, pixels_of, screenshot
from tests.browser.rest import call, new_run, open_run, run_until
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART = "#loss-chart"
BLUE, RED = (0x1D, 0x4E, 0xD8), (0xDC, 0x26, 0x26)  # SERIES_COLORS[0], [1]
COMPARE = "#compare-chart"


def legend(page: Page, chart: str) -> tuple[int, float]:
    values = page.locator(f"{chart} .u-legend .u-value")
    return int(values.nth(0).inner_text()), float(values.nth(1).inner_text().replace("\u2212", "-"))


def hover(page: Page, chart: str, fraction: float) -> tuple[int, float]:
    box = page.locator(f"{chart} .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    return legend(page, chart)


def test_a_reload_mid_run_finds_the_whole_curve(server: Server, page: Page) -> None:
    run_id = new_run(server, {"experiment": "seed-linear", "steps_per_second": 100})
    open_run(page, server, run_id)
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=step]').textContent) >= 150"
    )
    page.reload()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    before = int(page.get_by_test_id("step").inner_text())
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-testid=step]').textContent) >= {before + 50}"
    )
    call(server, f"api/runs/{run_id}/commands/pause", "POST")
    expect(page.get_by_test_id("status")).to_have_text("paused")
    last = call(server, f"api/runs/{run_id}")["step"]
    expect(page.get_by_test_id("step")).to_have_text(str(last))
    loss = call(server, f"api/runs/{run_id}/export?format=json")["scalars"]["loss"]
    assert len(loss) == last
    # the chart holds every step, from step 1 (streamed before the reload) to the last
    step, value = hover(page, CHART, 0.0)
    assert step == 1 and value == pytest.approx(loss[0], rel=1e-3)
    step, value = hover(page, CHART, 0.999)
    assert step == last and value == pytest.approx(loss[-1], rel=1e-3)
    step, value = hover(page, CHART, 0.3)
    assert 1 < step < last and value == pytest.approx(loss[step - 1], rel=1e-3)
    screenshot(page, "reload-mid-run")


def row(page: Page, run_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#runs-body tr[data-run='{run_id}']")


@pytest.mark.allow_console(r"status of 409", r"status of 422")
def test_the_runs_list_renames_compares_exports_and_deletes(server: Server, page: Page) -> None:
    first = new_run(server, {"experiment": "seed-linear", "optimizer": {"name": "sgd", "lr": 0.01}})
    second = new_run(server, {"experiment": "circle"})
    run_until(server, first, lambda run: run["step"] >= 300)
    run_until(server, second, lambda run: run["step"] >= 200)
    open_run(page, server, first)
    for run_id in (first, second):
        expect(row(page, run_id)).to_be_visible()
    expect(row(page, first)).to_have_attribute("aria-current", "true")
    expect(row(page, first).locator("td").nth(3)).to_have_text("paused")
    steps_taken = str(call(server, f"api/runs/{first}")["step"])
    expect(row(page, first).locator("td").nth(4)).to_have_text(steps_taken)
    expect(row(page, first).locator("td").nth(7)).to_have_text(re.compile(r"\d (B|kB|MB)$"))

    # rename from the list: a refused name says why and keeps the row editable
    row(page, first).get_by_role("button", name=re.compile("^Rename")).click()
    field = page.get_by_role("textbox", name=re.compile("^New name of"))
    field.fill("   ")
    field.press("Enter")
    expect(page.locator("#runs-error")).to_contain_text("not a space")
    field.fill("baseline, lr 0.01")
    field.press("Enter")
    expect(row(page, first).locator(".run-name")).to_have_text("baseline, lr 0.01")
    assert call(server, f"api/runs/{first}")["name"] == "baseline, lr 0.01"
    expect(page.locator("#runs-error")).to_be_hidden()

    links = row(page, second).locator(".exports a")
    expect(links).to_have_count(3)
    assert links.nth(2).get_attribute("href") == f"/api/runs/{second}/export?format=tensorboard"
    with page.expect_download() as download:
        links.nth(0).click()
    assert download.value.suggested_filename == f"run-{second}.csv"

    # compare the two: one colour each, both named in the legend, circle's validation dashed
    page.get_by_role("checkbox", name="Compare baseline, lr 0.01").check()
    row(page, second).get_by_role("checkbox").check()
    compare = page.get_by_test_id("compare")
    expect(compare).to_be_visible()
    key = compare.locator(".u-legend")
    expect(key).to_contain_text("baseline, lr 0.01 · loss")
    expect(key).to_contain_text(re.compile(r"Circle .* · loss"))
    expect(key).to_contain_text(re.compile(r"Circle .* · validation loss"))
    page.wait_for_function("() => !!document.querySelector('#compare-chart canvas')")
    compare.scroll_into_view_if_needed()
    assert pixels_of(page, BLUE, COMPARE) > 100 and pixels_of(page, RED, COMPARE) > 100
    screenshot(page, "runs-compare")
    page.set_viewport_size(PHONE)
    compare.scroll_into_view_if_needed()
    screenshot(page, "runs-compare")
    page.locator("[data-testid=runs]").scroll_into_view_if_needed()
    screenshot(page, "runs-list")

    # a live run is refused (stop it first); once stopped it goes, from the list and the comparison
    page.on("dialog", lambda dialog: dialog.accept())
    row(page, second).get_by_role("button", name=re.compile("^Delete")).click()
    expect(page.locator("#runs-error")).to_contain_text("stop it first")
    call(server, f"api/runs/{second}/commands/stop", "POST")
    expect(row(page, second).locator("td").nth(3)).to_have_text("stopped")
    row(page, second).get_by_role("button", name=re.compile("^Delete")).click()
    expect(row(page, second)).to_have_count(0)
    expect(compare.locator(".u-legend")).not_to_contain_text("Circle")
    listed = [run["id"] for run in call(server, "api/runs")]
    assert first in listed and second not in listed
