"""The seed experiment in a real browser: Start, Pause, Step, Reset, reconnects, two tabs."""

from __future__ import annotations

import math
import re
import time

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ARTIFACTS, OFFLINE
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def step_of(page: Page) -> int:
    return int(page.get_by_test_id("step").inner_text())


def server_step(page: Page) -> int:
    """The step the server says the page's run is at (the run id is in the URL)."""
    step: int = page.evaluate(
        "async () => (await (await fetch('/api/runs/' + location.hash.split('=')[1])).json()).step"
    )
    return step


def step_stays(page: Page, step: int, seconds: float) -> bool:
    """Watch the step readout for a while: True when it never left `step` (a change ends the wait
    at once, so a run that did not stop fails fast)."""
    try:
        page.wait_for_function(
            f"Number(document.querySelector('[data-testid=step]').textContent) !== {step}",
            timeout=seconds * 1000,
        )
    except PlaywrightTimeout:
        return True
    return False


def loss_of(page: Page) -> float:
    return float(page.get_by_test_id("loss").inner_text().replace("−", "-"))


def chart_pixels(page: Page) -> int:
    """How many pixels of the loss chart are drawn in the loss series' colour."""
    count: int = page.evaluate(
        """() => {
          const canvas = document.querySelector('#loss-chart canvas');
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - 29) < 40 && Math.abs(data[i + 1] - 78) < 40
                && Math.abs(data[i + 2] - 216) < 40 && data[i + 3] > 200) n++;
          return n;
        }"""
    )
    return count


def test_start_pause_step_reset(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("status")).to_have_text("idle")
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    assert chart_pixels(page) == 0

    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("status")).to_have_text("running")
    page.wait_for_function("Number(document.querySelector('[data-testid=step]').textContent) >= 3")
    early = loss_of(page)
    started = time.monotonic()
    page.wait_for_function(
        "Number(document.querySelector('[data-testid=step]').textContent) > 100", timeout=5000
    )
    assert time.monotonic() - started < 5.0
    late = loss_of(page)
    assert math.isfinite(late) and late < early
    assert chart_pixels(page) > 50  # the curve is drawn

    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    paused = server_step(page)  # final once the pause is acknowledged (status: paused)
    expect(page.get_by_test_id("step")).to_have_text(str(paused))  # its last batch has landed
    assert step_stays(page, paused, 2.0)

    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text(str(paused + 1))
    assert step_stays(page, paused + 1, 0.5)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("canvas.heatmap").first.hover(position={"x": 4, "y": 4})
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 0]")
    page.screenshot(path=str(ARTIFACTS / "seed-paused.png"))

    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_test_id("step")).to_have_text("0")
    expect(page.get_by_test_id("status")).to_have_text("idle")
    page.wait_for_function("() => true")
    assert chart_pixels(page) == 0


def test_a_pause_at_max_speed_shows_the_last_steps_update(server: Server, page: Page) -> None:
    """At full speed only some steps were recorded; the step before a pause always is, so the
    paused page shows that step's update Δθ, never "not recorded"."""
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Speed").select_option("")  # Max
    page.wait_for_function(
        "async () => (await (await fetch('/api/runs/' + location.hash.split('=')[1])).json())"
        ".config.steps_per_second === null"
    )
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("Number(document.querySelector('[data-testid=step]').textContent) > 500")
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    paused = server_step(page)
    expect(page.get_by_test_id("phase-result")).to_contain_text(f"(step {paused})")
    updates = (
        page.locator("#params .field-row").filter(has_text="update Δθ").locator(".field-scale")
    )
    expect(updates).to_have_count(2)
    for scale in updates.all():
        expect(scale).to_have_text(re.compile(r"^±\d"))  # a recorded update, not "not recorded"


def test_keyboard_only(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    # a key press, unlike a click, does not wait for the button: wait for the worker to be ready
    expect(page.get_by_role("button", name="Step")).to_be_enabled()
    page.get_by_role("button", name="Step").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("step")).to_have_text("1")
    page.keyboard.press("Space")
    expect(page.get_by_test_id("step")).to_have_text("2")
    # the parameters panel: focus a heatmap, move with the arrow keys, read the numbers
    page.locator("canvas.heatmap").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#detail .element-name")).to_have_text("weight[0, 2]")
    expect(page.locator("#detail .ledger")).to_contain_text("gradient g")
    expect(page.locator("#detail .ledger")).to_contain_text("update Δθ")
    # labelled controls are reachable by their names
    page.get_by_label("Learning rate").fill("0.2")
    page.get_by_label("Learning rate").press("Enter")
    page.get_by_label("Optimizer", exact=True).select_option("adam")
    expect(page.locator("#hyperparameters")).to_contain_text("β₁")


def test_two_tabs_follow_each_other(server: Server, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    one, two = context.new_page(), context.new_page()
    one.goto(server.url)
    expect(one.get_by_test_id("connection")).to_have_text("Live")
    two.goto(one.url)  # the same run, by the id in the URL
    expect(two.get_by_test_id("connection")).to_have_text("Live")
    one.get_by_role("button", name="Start").click()
    expect(two.get_by_test_id("status")).to_have_text("running")
    two.wait_for_function("Number(document.querySelector('[data-testid=step]').textContent) > 0")
    two.get_by_role("button", name="Pause").click()
    expect(one.get_by_test_id("status")).to_have_text("paused")
    paused = server_step(one)
    expect(one.get_by_test_id("step")).to_have_text(str(paused))
    expect(two.get_by_test_id("step")).to_have_text(str(paused))
    assert paused > 0
    one.get_by_label("Optimizer", exact=True).select_option("rmsprop")
    expect(two.get_by_label("Optimizer", exact=True)).to_have_value("rmsprop")
    context.close()


@pytest.mark.allow_console(*OFFLINE)
def test_reconnects_after_the_server_restarts(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    server.stop()
    expect(page.get_by_test_id("connection")).to_contain_text("Disconnected")
    server.start()
    expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=15000)
    # the run from before the restart is shown from its history
    expect(page.get_by_test_id("step")).to_have_text("1")
    expect(page.get_by_test_id("status")).to_have_text("stopped")
