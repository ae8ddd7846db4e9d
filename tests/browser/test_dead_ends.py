"""No dead ends: a stopped, failed, replaced or unreachable run says what happened and what next."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import OFFLINE, WIDE, screenshot
from tests.support import Server, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.allow_console(*OFFLINE)
def test_server_down_then_restarted(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_label("Learning rate").fill("0.02")
    page.get_by_label("Learning rate").press("Enter")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_test_id("status")).to_have_text("running")
    # a step taken: the worker is up and has applied (and the server recorded) the new rate
    page.wait_for_function("Number(document.querySelector('[data-testid=step]').textContent) > 0")
    server.stop()
    # not "running": the page cannot know, and says why every control is off
    expect(page.get_by_test_id("status")).to_have_text("unreachable")
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("The server cannot be reached")
    pause = page.get_by_role("button", name="Pause")
    expect(pause).to_be_disabled()
    expect(pause).to_have_attribute(
        "title", "The server cannot be reached; the page reconnects by itself."
    )
    # and keeps saying so between reconnection attempts (each of them fails): no flicker back
    statuses = page.evaluate(
        """() => new Promise((resolve) => {
             const seen = new Set();
             const timer = setInterval(() => {
               seen.add(document.querySelector('[data-testid=status]').textContent);
               seen.add(String(document.querySelector('#notice').hidden));
             }, 20);
             setTimeout(() => { clearInterval(timer); resolve([...seen]); }, 3000);
           })"""
    )
    assert sorted(statuses) == ["false", "unreachable"], statuses
    # a request that gets no answer says so, not the browser's "Failed to fetch"
    said = page.evaluate(
        "import('/static/js/api.js').then((m) => m.api.runs()).catch((e) => e.message)"
    )
    assert said == "The server cannot be reached."
    screenshot(page, "server-down")

    server.start()
    expect(page.get_by_test_id("connection")).to_have_text("Live", timeout=20_000)
    expect(page.get_by_test_id("status")).to_have_text("stopped")
    # the shutdown stopped the run, and its worker wrote a checkpoint as it stopped: Start goes on
    expect(notice).to_contain_text(
        re.compile(r"This run is stopped \(the server shut down\)\. Its latest checkpoint is of")
    )
    start = page.get_by_role("button", name="Start")
    expect(start).to_be_enabled()
    expect(start).to_have_attribute(
        "title", re.compile(r"^This run is stopped \(.+\): Start goes on from its checkpoint")
    )
    screenshot(page, "stopped-after-restart")
    first = page.url
    page.get_by_role("button", name="New run with the same configuration").click()
    expect(page).not_to_have_url(first)
    expect(page.get_by_test_id("status")).to_have_text("idle")
    expect(page.get_by_label("Learning rate")).to_have_value("0.02")
    expect(start).to_be_enabled()
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")


def test_another_tab_switched_experiment(server: Server, browser: Browser) -> None:
    context = browser.new_context(viewport=WIDE)
    one, two = context.new_page(), context.new_page()
    errors: list[str] = []
    for tab in (one, two):
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    one.goto(server.url)
    expect(one.get_by_test_id("connection")).to_have_text("Live")
    two.goto(one.url)
    expect(two.get_by_test_id("connection")).to_have_text("Live")
    two.get_by_label("Experiment").select_option("surface-2d")
    # the tab that switched says what it did to the run it left
    expect(two.get_by_test_id("notice")).to_contain_text(
        "The previous run (Seed: Linear(10, 1), step 0) was stopped"
    )
    # the other tab is not left with dead controls: it says why, and offers the live run
    expect(one.get_by_test_id("status")).to_have_text("stopped")
    expect(one.get_by_test_id("notice")).to_contain_text("This run is stopped")
    one.get_by_role("button", name="Open the live run (Loss surface: y = w·x + b)").click()
    expect(one.get_by_label("Experiment")).to_have_value("surface-2d")
    expect(one.get_by_test_id("status")).to_have_text("idle")
    assert one.url == two.url
    # changing the race is a new run too, and the page says so
    one.get_by_text("Race against…").click()
    one.get_by_label("Adam", exact=True).check()
    notice = one.get_by_test_id("notice")
    expect(notice).to_contain_text("the race is now against Adam")
    expect(notice).to_contain_text("(Loss surface: y = w·x + b, step 0) was stopped")
    assert one.url != two.url
    context.close()
    assert not errors, errors


def worker_pids(server: Server) -> list[int]:
    """The server's child processes that run a training loop (multiprocessing spawn children)."""
    assert server.process is not None
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server.process.pid and "spawn_main" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_a_failed_run_shows_its_reason(server: Server, page: Page) -> None:
    page.goto(server.url)
    expect(page.get_by_test_id("connection")).to_have_text("Live")
    page.get_by_role("button", name="Step").click()
    expect(page.get_by_test_id("step")).to_have_text("1")
    pids = worker_pids(server)
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    expect(page.get_by_test_id("status")).to_have_text("failed")
    reason = page.evaluate(
        "fetch('/api/runs/' + location.hash.split('=')[1]).then((r) => r.json()).then((r) => r.reason)"
    )
    assert reason
    expect(page.get_by_test_id("notice")).to_contain_text(f"This run failed: {reason}")
    page.get_by_role("button", name="New run with the same configuration").click()
    expect(page.get_by_test_id("status")).to_have_text("idle")


@pytest.mark.allow_console(r"status of 429")
def test_at_the_cap_of_live_runs_the_menu_shows_what_happened(tmp_path: Path, page: Page) -> None:
    capped = Server(tmp_path / "data", free_port(), env={"STEPSCOPE_MAX_RUNS": "1"})
    capped.start()
    try:
        page.goto(capped.url)
        expect(page.get_by_test_id("connection")).to_have_text("Live")
        first = page.url
        page.get_by_label("Experiment").select_option("surface-2d")
        notice = page.get_by_test_id("notice")
        expect(notice).to_contain_text("No new run was started: at most 1")
        # the menu shows the experiment that runs, not the choice that did not happen
        expect(page.get_by_label("Experiment")).to_have_value("seed-linear")
        assert page.url == first
        screenshot(page, "at-the-cap")
        page.get_by_role("button", name="Stop the live runs and start it").click()
        expect(page.get_by_label("Experiment")).to_have_value("surface-2d")
        expect(page.get_by_test_id("status")).to_have_text("idle")
        expect(notice).to_contain_text("1 live run was stopped first")
        page.goto("about:blank")  # leave before the server goes, or its socket's end is an error
    finally:
        capped.stop()
