"""The page under its Content-Security-Policy (no 'unsafe-inline'): every control works and the
browser reports no violation, as a `securitypolicyviolation` event or on the console."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import PHONE, WIDE, screenshot
from tests.browser.rest import new_run
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Installed before the page's own scripts run, so that nothing it does goes unseen.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
"""
# Chromium's console lines for a violation: "Refused to load … because it violates the following
# Content Security Policy directive", "Applying inline style violates the following …"
REFUSED = r"violates the following Content Security Policy directive"


def violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("window.__violations")
    return found


@pytest.mark.allow_console(REFUSED)  # only the probe at the end provokes one: checked below
def test_the_page_works_under_its_csp_with_no_violation(server: Server, page: Page) -> None:
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        console.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.add_init_script(LISTEN)
    run_id = new_run(server, {"experiment": "spiral"})
    response = page.goto(f"{server.url}#run={run_id}")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    expect(page.get_by_test_id("connection")).to_have_text("Live")

    # the main controls: start, pause, step, each phase, the optimizer, hovering, the health board
    page.get_by_label("Speed").select_option("")  # Max
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("status")).to_have_text("running")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=step]').textContent) > 50"
    )
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    step = int(page.get_by_test_id("step").inner_text())
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text(str(step + 1))
    for phase in ("zero_grad", "forward", "loss", "backward", "step"):
        page.get_by_role("button", name="Next phase").click()
        expect(page.get_by_test_id("phase")).to_have_text(phase)
    page.get_by_label("Optimizer", exact=True).select_option("adam")
    expect(page.locator("#hyperparameters")).to_contain_text("β₁")
    heatmap = page.locator("canvas.heatmap").first
    heatmap.scroll_into_view_if_needed()
    heatmap.hover(position={"x": 4, "y": 4})
    expect(page.locator("#detail .element-name")).to_have_text(re.compile(r"\[0, 0\]$"))
    network = page.locator("#network canvas").first
    if network.count():
        network.scroll_into_view_if_needed()
        box = network.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator("#health").scroll_into_view_if_needed()
    expect(page.get_by_test_id("health")).to_be_visible()
    for details in page.locator("details:not([open]) > summary").all():
        if details.is_visible():
            details.click()  # open every collapsed panel: what it draws runs too
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "csp")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)  # a resize redraws on the next animation frames
    screenshot(page, "csp")
    page.set_viewport_size(WIDE)

    assert violations(page) == [], violations(page)
    refused = [line for line in console if re.search(REFUSED, line)]
    assert refused == [], refused

    # The probe: an inline style attribute is refused and reported, so the listeners above were
    # live and would have caught one of the page's own.
    page.evaluate("document.body.setAttribute('style', 'outline: 3px solid red')")
    page.wait_for_function("() => window.__violations.length > 0")
    found: list[Any] = violations(page)
    assert len(found) == 1 and found[0].startswith("style-src-attr"), found
    outline = page.evaluate("getComputedStyle(document.body).outlineStyle")
    assert outline == "none"  # and it was not applied
