"""Your own experiment in the page: a server started with `--experiments examples/ripple.py`, the
ripple chosen in the Experiment menu, Start pressed: the step readout advances and the loss falls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.support import Server, call, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RIPPLE = Path(__file__).resolve().parents[2] / "examples" / "ripple.py"


@pytest.fixture
def ripple_server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data", free_port(), args=["--experiments", str(RIPPLE)])
    running.start()
    yield running
    running.stop()


def readout_step(page: Page) -> int:
    return int(page.get_by_test_id("step").inner_text())


def readout_loss(page: Page) -> float:
    return float(page.get_by_test_id("loss").inner_text().replace("−", "-"))


def wait_for_step(page: Page, at_least: int) -> None:
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=step]').textContent) >= {at_least}",
        timeout=60_000,
    )


def test_the_ripple_from_the_command_line_trains_in_the_page(
    ripple_server: Server, page: Page
) -> None:
    page.goto(ripple_server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    menu = page.get_by_label("Experiment")
    expect(menu.locator("option", has_text="Ripple (your own experiment)")).to_have_count(1)
    first_run = page.url
    menu.select_option(label="Ripple (your own experiment)")
    # choosing an experiment replaces the run: the page follows a new one, of the ripple
    expect(page).not_to_have_url(first_run)
    run_id = re.search(r"run=([\w-]+)", page.url)
    assert run_id is not None
    run = call(ripple_server, f"api/runs/{run_id.group(1)}")
    assert run["experiment"] == "ripple"
    expect(page.get_by_test_id("connection")).to_have_text("Live")

    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("status")).to_have_text("running")
    wait_for_step(page, 5)
    early_step = readout_step(page)
    wait_for_step(page, early_step + 400)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("status")).to_have_text("paused")
    assert readout_step(page) > early_step + 400
    # At full speed the readout may already be hundreds of steps on when it is read: compare the
    # first steps' losses with the last ones from the run's history instead, and the page's last
    # loss with the history's.
    losses = call(ripple_server, f"api/runs/{run_id.group(1)}/scalars")["loss"]
    first, last = sum(losses[:5]) / 5, sum(losses[-50:]) / 50
    assert last < 0.5 * first, (first, last)
    assert readout_loss(page) == pytest.approx(losses[-1], rel=1e-4)
    # the whole curve, as the server kept it: the loss fell, not one lucky batch
    losses = call(ripple_server, f"api/runs/{run_id.group(1)}/scalars")["loss"]
    assert sum(losses[-100:]) < 0.25 * sum(losses[:100])
    screenshot(page, "ripple-experiment-file")
