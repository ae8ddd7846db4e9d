"""Text is never cut and spelled one way: whole words in one-cell heatmaps, whole numbers in the
ledger, "−" and "NaN" everywhere, and every control has a name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A hyphen-minus used as a sign or in an exponent (the page writes "−")
HYPHEN_MINUS = re.compile(r"(?<![\w)])-\d|\de-\d| - ")


def test_missing_tensors_are_named_in_full(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Next phase").click()  # zero_grad at step 0: no grad, no update
    expect(page.get_by_test_id("phase")).to_have_text("zero_grad")
    rows = page.locator("#params .field-row")
    grad = rows.filter(has_text="gradient g").locator(".field-scale")
    update = rows.filter(has_text="update Δθ").locator(".field-scale")
    expect(grad).to_have_text(["None", "None"])
    expect(update).to_have_text(["not recorded", "not recorded"])
    for label in grad.all() + update.all():
        assert label.evaluate("(el) => el.scrollWidth <= el.clientWidth")
        box = label.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280
    screenshot(page, "missing-tensors")


def test_ledger_numbers_are_whole_and_signed_with_minus(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Optimizer", exact=True).select_option("adam")
    expect(page.get_by_label("β₁")).to_have_value("0.9")
    for step in range(1, 4):
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
    page.locator("canvas.heatmap").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail .rule")).to_contain_text("θ ←")
    # every number lies on one line: no line break inside "−0.0860350" or "1e−08"
    broken = page.locator("#detail .rule .numeric").evaluate_all(
        """(lines) => lines.flatMap((line) => {
             const text = line.firstChild;
             return [...text.textContent.matchAll(/[−-]?[\\d.]+(?:e[−-]?\\d+)?/g)].filter((m) => {
               const range = document.createRange();
               range.setStart(text, m.index);
               range.setEnd(text, m.index + m[0].length);
               return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
             }).map((m) => m[0]);
           })"""
    )
    assert broken == []
    for where in ("#detail", "#params", "#phase-result", ".readouts"):
        text = page.locator(where).inner_text()
        assert not HYPHEN_MINUS.search(text), (where, HYPHEN_MINUS.search(text))
        assert not re.search(r"\bnan\b|\binf\b", text), where
    screenshot(page, "ledger-adam")


def test_every_control_has_a_name(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    nameless = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, canvas[tabindex]')]
             .filter((el) => !(el.labels?.length || el.getAttribute('aria-label')
                               || el.getAttribute('aria-labelledby') || el.textContent.trim()))
             .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert nameless == []
    for testid in ("status", "step", "loss"):
        expect(page.get_by_test_id(testid)).to_be_visible()


@pytest.mark.parametrize("width", [1280, 390, 360])
def test_state_rows_are_named_in_full_at_any_width(server: Server, page: Page, width: int) -> None:
    """'state: momentum_buffer' (the longest state name torch keeps) fits its column, wrapped if
    need be, on a desktop and on a phone."""
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Momentum", exact=True).fill("0.9")
    page.get_by_label("Momentum", exact=True).press("Enter")
    page.get_by_role("button", name="Step").click()
    names = page.locator("#params .field-name")
    expect(names.filter(has_text="momentum_buffer")).to_have_count(2)
    for name in names.all():
        assert name.evaluate("(el) => el.scrollWidth <= el.clientWidth"), name.inner_text()
    screenshot(page, "state-rows")
