"""A run that diverges to NaN: the page says NaN where it is, and never a number it does not have."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.support import Server, call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_nan_scales_and_ledger_say_nan(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    # NaN streamed on as data: the NaN/Inf alert, on by default, would pause at the first Inf
    page.wait_for_function("location.hash.startsWith('#run=')")
    run_id = page.evaluate("location.hash").removeprefix("#run=")
    call(server, f"api/runs/{run_id}/alerts", "PUT", {"nonfinite": False})
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
