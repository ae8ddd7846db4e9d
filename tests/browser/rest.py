"""Driving a run through the REST API from a browser test, and opening it in the page."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.support import Server, call

__all__ = ["call", "new_run", "open_run", "run_until", "steps"]


def new_run(server: Server, config: dict[str, object]) -> str:
    """A run made through the REST API, its worker ready for commands."""
    run_id: str = call(server, "api/runs", "POST", config)["id"]
    deadline = time.monotonic() + 30
    while not call(server, f"api/runs/{run_id}")["ready"]:
        assert time.monotonic() < deadline, "the worker did not get ready"
        time.sleep(0.05)
    return run_id


def steps(server: Server, run_id: str, n: int) -> None:
    for _ in range(n):
        call(server, f"api/runs/{run_id}/commands/step", "POST")


def run_until(server: Server, run_id: str, done: Callable[[dict[str, Any]], bool]) -> None:
    """Start at full speed and pause once `done(run)` holds."""
    call(server, f"api/runs/{run_id}/pace", "PUT", {"steps_per_second": None})
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    deadline = time.monotonic() + 60
    while True:
        run = call(server, f"api/runs/{run_id}")
        if done(run):
            break
        assert time.monotonic() < deadline, f"the run never got there: {run}"
        time.sleep(0.05)
    call(server, f"api/runs/{run_id}/commands/pause", "POST")


def open_run(page: Page, server: Server, run_id: str) -> None:
    page.goto(f"{server.url}#run={run_id}")
    expect(page.get_by_test_id("connection")).to_have_text("Live")
