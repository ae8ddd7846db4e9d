"""A room in two browsers: the owner steps through the phases and selects an element; a page opened
from the owner's view-only link follows both, and shows no enabled control that changes the run."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, WIDE, screenshot
from tests.browser.rest import new_run, open_run
from tests.support import Server, call

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHASES = ["zero_grad", "forward", "loss", "backward", "step"]
# What a viewer may still operate: how its own page draws, the follow switch, closing a notice.
VIEW_CONTROLS = {"logscale", "smoothing", "dist-tensor", "dist-field", "edge-mode", "follow-driver"}


@pytest.fixture
def viewer_page(browser: Browser) -> Iterator[Page]:
    """Another browser context (no cookie of the owner's), failing on any console error."""
    context = browser.new_context(viewport=WIDE)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not errors, f"the viewer's page logged errors: {errors}"


def enabled_controls(page: Page) -> list[str]:
    """The id (or radio group) of every control a person could operate on the page now."""
    found = []
    controls = page.locator("button, input, select, textarea")
    for i in range(controls.count()):
        control = controls.nth(i)
        if control.is_visible() and control.is_enabled():
            found.append(
                control.get_attribute("id")
                or control.get_attribute("name")
                or control.get_attribute("aria-label")
                or control.inner_text()
            )
    return found


def test_a_viewer_follows_the_driver_and_can_change_nothing(
    server: Server, page: Page, viewer_page: Page
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()  # a first step, so there is a snapshot
    expect(page.get_by_test_id("step")).to_have_text("1")
    run_id = page.evaluate("() => location.hash").split("run=")[1]

    page.get_by_role("button", name="Share view-only").click()
    expect(page.locator("#view-link-status")).to_contain_text("View-only link copied")
    expect(page.get_by_role("button", name="Revoke")).to_be_visible()
    screenshot(page, "owner-sharing")
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("button", name="Share view-only")).to_be_visible()
    screenshot(page, "owner-sharing")
    page.set_viewport_size(WIDE)
    url = page.evaluate("() => navigator.clipboard.readText()")
    assert re.fullmatch(rf"{server.url}\?view=view-[\w-]+#run={run_id}", url), url

    viewer = viewer_page
    viewer.goto(url)
    expect(viewer.get_by_test_id("connection")).to_have_text("Live")
    expect(viewer.get_by_test_id("view-only")).to_contain_text(
        "This is a view-only link: you watch this run live, and nothing on this page can change it."
    )
    expect(viewer.get_by_label("Following the driver")).to_be_checked()
    expect(viewer.get_by_test_id("step")).to_have_text("1")
    expect(viewer.get_by_role("button", name="Start")).to_be_hidden()

    # the owner steps through the phases: the viewer's page shows each one
    for phase in PHASES:
        page.get_by_role("button", name="Next phase").click()
        expect(page.get_by_test_id("phase")).to_have_text(phase)
        expect(viewer.get_by_test_id("phase")).to_have_text(phase)
        expect(viewer.get_by_test_id("driver-at")).to_contain_text(f"after {phase}")
    expect(viewer.get_by_test_id("step")).to_have_text("2")

    # the owner selects an element, and a view: the viewer's page selects the same
    page.locator("canvas.heatmap").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 1]")
    expect(viewer.locator("#detail .element-name")).to_have_text("weight[0, 1]")
    page.get_by_role("checkbox", name="Log scale").check()
    expect(viewer.get_by_role("checkbox", name="Log scale")).to_be_checked()

    # nothing a viewer can operate changes the run: only the views and the switch are enabled
    operable = enabled_controls(viewer)
    assert set(operable) <= VIEW_CONTROLS, operable
    assert "follow-driver" in operable
    screenshot(viewer, "viewer-following")
    viewer.set_viewport_size(PHONE)
    expect(viewer.get_by_test_id("view-only")).to_be_visible()
    assert set(enabled_controls(viewer)) <= VIEW_CONTROLS
    screenshot(viewer, "viewer-following")
    viewer.set_viewport_size(WIDE)

    # following off: the viewer selects freely, and the driver's next selection leaves it be
    viewer.get_by_label("Following the driver").uncheck()
    viewer.locator("canvas.heatmap").first.focus()
    viewer.keyboard.press("ArrowDown")
    own = viewer.locator("#detail .element-name").inner_text()
    page.locator("canvas.heatmap").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 2]")
    expect(viewer.get_by_test_id("driver-at")).to_contain_text("step 2")
    expect(viewer.locator("#detail .element-name")).to_have_text(own)
    # on again: back to the driver's element
    viewer.get_by_label("Following the driver").check()
    expect(viewer.locator("#detail .element-name")).to_have_text("weight[0, 2]")
    # the run is where the owner left it: step 2, paused
    run = call(server, f"api/runs/{run_id}")
    assert run["step"] == 2 and run["state"] == "paused"

    # the owner revokes the link: the viewer's page says so at once, and tries no more
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#view-link-status")).to_contain_text("Revoked")
    expect(viewer.get_by_test_id("view-only")).to_contain_text("This view-only link was revoked")
    expect(viewer.get_by_test_id("notice")).to_be_hidden()
    expect(viewer.get_by_label("Following the driver")).to_have_count(0)
    assert call(server, f"api/runs/{run_id}/viewer-links") == []
    screenshot(viewer, "viewer-revoked")


def test_a_viewer_follows_the_open_panels_and_sees_the_race_it_cannot_change(
    server: Server, page: Page, viewer_page: Page
) -> None:
    run_id = new_run(server, {"experiment": "surface-2d"})
    open_run(page, server, run_id)
    url = call(server, f"api/runs/{run_id}/viewer-links", "POST")["url"]
    viewer_page.goto(url)
    expect(viewer_page.get_by_test_id("connection")).to_have_text("Live")
    picker, watched = (
        page.locator("details:has(#race-summary)"),
        viewer_page.locator("details:has(#race-summary)"),
    )
    expect(watched).not_to_have_attribute("open", "")
    page.locator("#race-summary").click()
    expect(picker).to_have_attribute("open", "")
    expect(watched).to_have_attribute("open", "")
    # the racers are shown, not choosable
    racers = viewer_page.locator("fieldset.race input")
    assert racers.count() > 0
    for i in range(racers.count()):
        expect(racers.nth(i)).to_be_disabled()
    page.locator("#race-summary").click()
    expect(picker).not_to_have_attribute("open", "")
    expect(watched).not_to_have_attribute("open", "")


def test_where_the_page_may_not_copy_the_view_only_link_is_shown_selected(
    server: Server, page: Page
) -> None:
    # a browser that refuses both ways of copying (http on a network address does)
    page.add_init_script(
        "Object.defineProperty(navigator, 'clipboard', {value: {writeText: () =>"
        " Promise.reject(new Error('not allowed'))}}); document.execCommand = () => false;"
    )
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Share view-only").click()
    field = page.get_by_label("View-only link to this run")
    expect(field).to_be_visible()
    expect(field).to_be_focused()
    assert re.fullmatch(rf"{server.url}\?view=view-[\w-]+#run=\w+", field.input_value())
    expect(page.locator("#view-link-status")).to_contain_text("it is selected, copy it")
    screenshot(page, "owner-sharing-by-hand")
