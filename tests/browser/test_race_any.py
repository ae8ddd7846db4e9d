"""Race mode off the loss surface (issue 12): picked from the loss chart's own head on a
Playground experiment, the racers' losses join the chart, each named in its legend."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.rest import call, open_run
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART = "#loss-chart"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_race_on_the_circle_from_the_loss_chart(server: Server, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    created = call(server, "api/runs", "POST", {"experiment": "circle"})
    open_run(page, server, created["id"])
    first_run = page.url
    picker = page.locator("#race-summary")
    expect(picker).to_be_visible()  # on the loss chart, not only on the surface's panel
    expect(page.locator("section.surface")).to_be_hidden()
    picker.click()
    page.get_by_role("checkbox", name="SGD", exact=True).check()
    expect(picker).to_have_text("Racing: SGD")
    page.keyboard.press("Escape")
    expect(page).not_to_have_url(first_run)  # a race is a new run with the same data
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    for step in range(1, 21):
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
    legend = page.locator(f"{CHART} .u-legend")
    expect(legend).to_contain_text("Adam (this run)")
    expect(legend).to_contain_text("SGD")
    run_id = page.url.split("run=")[1].split("&")[0]
    scalars = call(server, f"api/runs/{run_id}/scalars")
    assert scalars["run"]["config"]["experiment"] == "circle"
    (racer,) = scalars["race"]
    assert racer["name"] == "SGD" and len(racer["loss"]) == len(scalars["loss"]) == 20
    assert racer["loss"] != scalars["loss"]  # two optimizers, two curves
    # both lines are drawn: the legend reads a number for each, not a dash
    for label in ("Adam (this run)", "SGD"):
        value = legend.locator(".u-series", has_text=label).first.locator(".u-value")
        expect(value).not_to_have_text("—")
    page.locator(CHART).scroll_into_view_if_needed()
    shot = screenshot(page, "race-circle")
    assert shot.exists()
