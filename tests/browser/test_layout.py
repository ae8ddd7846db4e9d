"""The page's layout: readable at 1280×800 without scrolling, one column down to 360 px wide."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHASES = ["zero_grad", "forward", "loss", "backward", "step"]


def open_after_one_step(page: Page, server: Server) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    expect(page.locator("canvas.heatmap").first).to_be_visible()


def test_phase_result_and_code_are_readable_at_1280x800(server: Server, page: Page) -> None:
    open_after_one_step(page, server)
    result = page.get_by_test_id("phase-result")
    for phase in PHASES:
        page.get_by_role("button", name="Next phase").click()
        expect(page.get_by_test_id("phase")).to_have_text(phase)
        box = result.bounding_box()
        assert box is not None
        # the whole box lies in the window, tall enough for its text, and nothing in it is cut
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, (phase, box)
        assert box["height"] >= 40, (phase, box)
        clipped = result.evaluate(
            "(el) => [...el.querySelectorAll('p, table')].filter((c) => {"
            " const r = c.getBoundingClientRect(), b = el.getBoundingClientRect();"
            " return r.bottom > b.bottom + 0.5 || r.right > b.right + 0.5; }).length"
        )
        assert clipped == 0, phase
        if phase == "forward":
            expect(result.locator("table tr")).to_have_count(9)  # the header and 8 rows
            screenshot(page, "phase-forward")
    # the loop's code in full: no line wider than its box, no box that scrolls
    cut = page.locator("#code").evaluate(
        "(code) => [code, ...code.querySelectorAll('.line')]"
        ".filter((el) => el.scrollWidth > el.clientWidth + 1).length"
    )
    assert cut == 0
    code = page.locator("#code").bounding_box()
    assert code is not None and code["y"] + code["height"] <= 800
    expect(page.locator("#code")).to_contain_text("# off: gradients add up across steps")


@pytest.mark.parametrize("width", [360, 390, 800, 1280])
def test_one_column_without_horizontal_scrolling(server: Server, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": PHONE["height"] if width < 800 else 800})
    open_after_one_step(page, server)
    page.get_by_label("Optimizer", exact=True).select_option("adam")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("2")
    expect(page.locator("#params .field-row")).to_have_count(10)  # 5 rows for each of 2 tensors
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # every heatmap is drawn at a readable size, inside the window
    for box in [h.bounding_box() for h in page.locator("canvas.heatmap").all()]:
        assert box is not None and box["width"] >= 20 and box["height"] >= 10
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    overflowing = page.evaluate(
        "[...document.querySelectorAll('.panel, .topbar, .field-row, .ledger')]"
        ".filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5).length"
    )
    assert overflowing == 0
    page.locator("canvas.heatmap").first.focus()
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 0]")
    if width in (390, 1280):
        screenshot(page, "adam-step-2")
    if width == 1280:
        # the Parameters panel shows every row of Adam's five fields without scrolling
        body = page.locator("#params")
        assert body.evaluate("(el) => el.scrollHeight <= el.clientHeight + 1")


@pytest.mark.allow_console(r"status of 422")
def test_a_phone_shows_every_panel_in_one_column(server: Server, page: Page) -> None:
    page.set_viewport_size(PHONE)
    open_after_one_step(page, server)
    for name in ("zero_grad", "forward"):
        page.get_by_role("button", name="Next phase").click()
        expect(page.get_by_test_id("phase")).to_have_text(name)
    result = page.get_by_test_id("phase-result")
    result.scroll_into_view_if_needed()
    expect(result.locator("table tr")).to_have_count(9)
    screenshot(page, "phone-forward")
    page.get_by_label("Learning rate").fill("-1")
    page.get_by_label("Learning rate").press("Enter")
    expect(page.get_by_test_id("lr-error")).to_contain_text("greater than 0")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "phone-refused-lr")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.get_by_label("Experiment").select_option("surface-2d")
    expect(page.locator("#surface canvas").first).to_be_visible()
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    # the panels follow one another down the page, each as wide as the window allows
    boxes = [
        page.locator(f".panel.{name}").bounding_box()
        for name in ("code", "params", "detail", "surface", "loss")
    ]
    assert all(b is not None and b["width"] > 300 for b in boxes)
    tops = [b["y"] for b in boxes if b is not None]
    assert tops == sorted(tops)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.locator(".panel.surface").scroll_into_view_if_needed()
    screenshot(page, "phone-surface")
