"""Fails a run whose worker hangs: a command left unanswered, or silence while running.

An attached script is never failed here: it answers a command when its own loop reaches its next
`optimizer.step()`, which may take minutes (a slow step, an evaluation, a checkpoint), and it may
be silent for as long. Its connection says when it is gone: a closed websocket, or the websocket's
ping left unanswered (app/runs/attached.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app.runs.run import Run
from app.runs.state import RunState

Fail = Callable[[Run, str], None]


async def watch(live: Callable[[], list[Run]], fail: Fail, timeout: float) -> None:
    while True:
        await asyncio.sleep(1.0)
        check(live(), fail, timeout, time.monotonic())


def check(runs: list[Run], fail: Fail, timeout: float, now: float) -> None:
    for run in runs:
        if not run.ready or run.attached is not None:
            continue  # still importing torch and building the model, or the script's own loop
        if run.unanswered:
            command, sent_at = run.unanswered[0]
            if now - max(sent_at, run.heard_at) > timeout:
                fail(
                    run,
                    f"the worker did not carry out '{command}' within {timeout:g} s "
                    "and was stopped",
                )
        elif run.state is RunState.RUNNING and now - run.heard_at > timeout:
            fail(
                run,
                f"the worker stopped responding for {timeout:g} s while running and was stopped",
            )
