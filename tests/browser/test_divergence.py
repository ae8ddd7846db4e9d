"""A run that diverges to NaN: the page says NaN where it is, and never a number it does not have."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_nan_scales_and_ledger_say_nan(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    # NaN streamed on as data: the NaN/Inf alert, on by default, would pause at the first Inf
    page.get_by_label("Pause on NaN/Inf").uncheck()
    expect(page.get_by_label("Pause on NaN/Inf")).to_be_enabled()
    page.get_by_label("Learning rate").fill("10")
    page.get_by_label("Learning rate").press("Enter")
    expect(page.get_by_label("Learning rate")).to_have_value("10")
    page.get_by_label("Speed").select_option("")  # Max
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("loss")).to_have_text("NaN", timeout=30_000)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    page.get_by_role("button", name="Step").click()  # a recorded step: the ledger is written out
    page.locator("canvas.heatmap").first.focus()
    verdict = page.get_by_test_id("ledger-verdict")
    expect(verdict).to_contain_text("NaN: not comparable")
    expect(verdict).not_to_contain_text("differ by")
    said = page.get_by_test_id("phase-result").inner_text()
    assert "not finite" in said and "‖·‖ = NaN" in said and "‖·‖ = 0" not in said
    scales = page.locator("#params .field-scale").all_inner_texts()
    assert scales and all(s != "±0" for s in scales), scales
    value_scale = page.locator("#params .field-row[data-field=value] .field-scale").first
    expect(value_scale).to_contain_text("NaN")
    # one spelling of each: "NaN", never "nan"; "−", never a hyphen-minus before a number
    detail = page.locator("#detail").inner_text()
    assert "nan" not in detail.replace("NaN", "")
    assert "-0" not in detail and "e-" not in detail
    screenshot(page, "diverged")


def test_a_diverging_run_pauses_with_the_alert_shown_and_marked(server: Server, page: Page) -> None:
    """SGD at lr 10 on the seed: the squared error overflows to Inf within a few dozen steps. The
    alert, on by default, pauses the run there and says where; the chart marks the step."""
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    expect(page.get_by_label("Pause on NaN/Inf")).to_be_checked()
    expect(page.get_by_test_id("alerts")).to_be_hidden()
    page.get_by_label("Learning rate").fill("10")
    page.get_by_label("Learning rate").press("Enter")
    expect(page.get_by_label("Learning rate")).to_have_value("10")
    page.get_by_label("Speed").select_option("")  # Max
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("status")).to_have_text("paused", timeout=30_000)
    expect(page.get_by_test_id("status")).to_have_attribute(
        "title", re.compile(r"^alert: the loss is Infinity, after the loss phase of step \d+$")
    )
    alerts = page.get_by_test_id("alerts")
    expect(alerts).to_be_visible()
    expect(alerts.locator("li")).to_have_count(1)
    item = alerts.locator("li").first
    expect(item).to_contain_text(
        re.compile(r"The loss phase of step \d+ · loss: the loss is Infinity")
    )
    expect(item).to_contain_text("the run paused here")
    found = re.search(r"The loss phase of step (\d+)", item.inner_text())
    assert found is not None
    step = int(found.group(1))
    # paused before that step's backward: the steps before it are on the chart, finite
    expect(page.get_by_test_id("step")).to_have_text(str(step - 1))
    expect(page.get_by_test_id("phase")).to_contain_text("loss")
    chart = page.locator("#loss-chart")
    expect(chart).to_have_attribute("data-alerts", f"step {step}: loss")
    expect(page.get_by_role("button", name="Start")).to_be_enabled()
    screenshot(page, "alert-paused")
    page.set_viewport_size(PHONE)
    alerts.scroll_into_view_if_needed()
    expect(alerts).to_be_visible()
    box = alerts.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "alert-paused")
    # a reload replays the alert from the history
    page.reload()
    expect(page.get_by_test_id("alerts").locator("li")).to_have_count(1)
    expect(page.locator("#loss-chart")).to_have_attribute("data-alerts", f"step {step}: loss")
