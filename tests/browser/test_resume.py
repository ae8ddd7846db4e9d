"""Checkpoints in the page: Save checkpoint by the controls, the latest one named beside it, and a
stopped run that Start (or the notice's Continue) takes on from its checkpoint."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OFFLINE, screenshot
from tests.browser.rest import call, new_run, open_run
from tests.support import Server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shown_step(page: Page) -> int:
    return int(page.get_by_test_id("step").text_content() or "0")


def test_save_a_checkpoint_stop_and_continue_from_it(server: Server, page: Page) -> None:
    run_id = new_run(server, {"experiment": "seed-linear", "steps_per_second": 200})
    open_run(page, server, run_id)
    save = page.get_by_role("button", name="Save checkpoint")
    saved = page.get_by_test_id("checkpoint-saved")
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("Number(document.querySelector('[data-testid=step]').textContent) > 20")
    save.click()
    expect(saved).to_have_text(re.compile(r"^Saved: step \d+$"))
    step = int((saved.text_content() or "").split()[-1])
    assert step > 20
    on_disk = call(server, f"api/runs/{run_id}/checkpoints")
    assert step in [c["step"] for c in on_disk]
    screenshot(page, "checkpoint-saved")

    call(server, f"api/runs/{run_id}/commands/stop", "POST")
    expect(page.get_by_test_id("status")).to_have_text("stopped")
    # the stop wrote one more: its step is where Start goes on from
    expect(saved).not_to_have_text(f"Saved: step {step}")
    stopped_at = int((saved.text_content() or "").split()[-1])
    assert stopped_at >= step
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_enabled()
    expect(start).to_have_attribute(
        "title", f"This run is stopped: Start goes on from its checkpoint of step {stopped_at}."
    )
    expect(save).to_be_disabled()
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text(f"Its latest checkpoint is of step {stopped_at}")
    continue_button = page.get_by_role("button", name=f"Continue from step {stopped_at}")
    expect(continue_button).to_be_visible()
    screenshot(page, "stopped-with-checkpoint")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "stopped-with-checkpoint")
    page.set_viewport_size({"width": 1280, "height": 800})

    continue_button.click()
    expect(page.get_by_test_id("status")).to_have_text("running", timeout=30_000)
    expect(notice).to_be_hidden()
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=step]').textContent) > {stopped_at + 5}",
        timeout=30_000,
    )
    # the curve goes on from the checkpoint: every step once, from step 1
    losses = call(server, f"api/runs/{run_id}/scalars")["loss"]
    assert len(losses) >= stopped_at + 5 and None not in losses


@pytest.mark.allow_console(*OFFLINE)
def test_a_run_live_when_the_server_died_shows_interrupted_and_continues(
    server: Server, page: Page
) -> None:
    run_id = new_run(server, {"experiment": "seed-linear", "steps_per_second": 200})
    open_run(page, server, run_id)
    page.get_by_role("button", name="Start").click()
    page.wait_for_function("Number(document.querySelector('[data-testid=step]').textContent) > 10")
    page.get_by_role("button", name="Save checkpoint").click()
    saved = page.get_by_test_id("checkpoint-saved")
    expect(saved).to_have_text(re.compile(r"^Saved: step \d+$"))
    step = int((saved.text_content() or "").split()[-1])
    assert server.process is not None
    server.process.kill()  # kill -9: no shutdown, no stop, no last checkpoint
    server.process.wait()
    server.process = None
    server.start()
    expect(page.get_by_test_id("status")).to_have_text("interrupted", timeout=30_000)
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("This run is interrupted (the server stopped while the run")
    expect(page.get_by_role("button", name="Start")).to_be_enabled()
    screenshot(page, "interrupted")
    # A reload (its address carries the run's configuration) opens the same run, interrupted,
    # rather than a fresh run of that configuration from step 0.
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("interrupted", timeout=30_000)
    expect(page.get_by_test_id("notice")).to_contain_text("This run is interrupted")
    assert run_id in page.url
    page.get_by_role("button", name=f"Continue from step {step}").click()
    expect(page.get_by_test_id("status")).to_have_text("running", timeout=30_000)
    page.wait_for_function(
        f"Number(document.querySelector('[data-testid=step]').textContent) > {step + 5}",
        timeout=30_000,
    )
