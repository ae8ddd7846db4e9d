"""Rewind and branch from the page (issue 12): a step picked on the loss chart, a new learning
rate, and the branch's chart draws its parent's curve up to the fork and the fork itself; the
parent's chart shows the fork too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.rest import call, new_run, open_run, steps
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART = "#loss-chart"
CONFIG = {
    "experiment": "seed-linear",
    "steps_per_second": None,
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
}


@pytest.mark.parametrize("width", [1280, 390])
def test_a_branch_from_a_step_picked_on_the_chart(server: Server, page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    parent = new_run(server, CONFIG)
    steps(server, parent, 40)
    open_run(page, server, parent)
    expect(page.get_by_test_id("step")).to_have_text("40")
    page.locator("#branch-summary").click()
    expect(page.locator("#branch-kept")).to_contain_text("in memory")
    field = page.get_by_label("Rewind to step")
    expect(field).to_have_value("40")
    # while the form is open, a click on the chart picks the step under the cursor
    over = page.locator(f"{CHART} .u-over")
    box = over.bounding_box()
    assert box is not None
    # (a locator's click waits for the plot to hold still: opening the form may reflow the head)
    over.click(position={"x": box["width"] * 0.25, "y": box["height"] * 0.5})
    expect(field).not_to_have_value("40")
    picked = int(field.input_value())
    assert 2 <= picked <= 20, picked
    field.fill("15")
    page.get_by_label("Branch lr").fill("0.01")
    page.get_by_role("button", name="Branch from this step").click()
    expect(page).not_to_have_url(f"{server.url}#run={parent}")
    expect(page.get_by_test_id("step")).to_have_text("15")
    child = page.url.split("run=")[1].split("&")[0]
    assert child != parent
    chart = page.locator(CHART)
    expect(chart).to_have_attribute("data-forks", f"step 15: branched from {parent[:6]}")
    expect(chart).to_have_attribute("data-marks", "step 15: lr 0.05→0.01")
    for step in range(16, 21):
        page.get_by_role("button", name="Step", exact=True).click()
        expect(page.get_by_test_id("step")).to_have_text(str(step))
    # the branch's history: its parent's 15 losses, then its own 5
    mine = call(server, f"api/runs/{child}/scalars")["loss"]
    theirs = call(server, f"api/runs/{parent}/scalars")["loss"]
    assert mine[:15] == theirs[:15] and len(mine) == 20 and mine[15:] != theirs[15:20]
    page.locator(CHART).scroll_into_view_if_needed()
    screenshot(page, "branch-child")
    open_run(page, server, parent)
    expect(page.locator(CHART)).to_have_attribute("data-forks", f"step 15: branch {child[:6]}")
    # and the branch's own curve from the fork on, named in the legend
    expect(page.locator(f"{CHART} .u-legend")).to_contain_text(f"branch {child[:6]}")
    page.locator(CHART).scroll_into_view_if_needed()
    screenshot(page, "branch-parent")


@pytest.mark.allow_console("422")
def test_a_step_with_no_state_is_explained_beside_the_field(server: Server, page: Page) -> None:
    parent = new_run(server, CONFIG)
    steps(server, parent, 3)
    open_run(page, server, parent)
    page.locator("#branch-summary").click()
    field = page.get_by_label("Rewind to step")
    field.fill("9")
    page.get_by_role("button", name="Branch from this step").click()
    expect(page.locator("#branch-error")).to_contain_text("in the future: the run is at step 3")
    expect(field).to_have_attribute("aria-invalid", "true")
