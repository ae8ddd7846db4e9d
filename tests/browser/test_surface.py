"""The loss surface and a race of optimizers, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_race_on_the_loss_surface(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    first_run = page.url
    page.get_by_label("Experiment").select_option("surface-2d")
    expect(page.locator("#surface canvas")).to_be_visible()
    expect(page).not_to_have_url(first_run)
    page.locator("#race-summary").click()
    page.get_by_role("checkbox", name="Adam", exact=True).check()
    expect(page.locator("#race-summary")).to_have_text("Racing: Adam")
    page.get_by_role("checkbox", name="RMSprop", exact=True).check()
    expect(page.locator("#race-summary")).to_have_text("Racing: Adam, RMSprop")
    page.locator("#race-summary").click()
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    for step in range(1, 16):
        page.get_by_role("button", name="Step").click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
    label = page.locator("#surface canvas").get_attribute("aria-label") or ""
    for name in ("SGD", "Adam", "RMSprop"):
        assert name in label, label
    assert label.startswith("Loss surface of y = w·x + b")
    # all three left the start (w = -0.5, b = 1.5) and are somewhere else on the map now
    assert label.count(" at w = ") == 3 and "w = −0.500, b = 1.50" not in label
    assert "diverged" not in label
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "loss-surface-race.png"))
