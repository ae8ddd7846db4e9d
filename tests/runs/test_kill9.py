"""kill -9 of the server and its workers at 20 random moments of training at full speed.

After each kill the same data directory is served again, and:
- SQLite's `PRAGMA integrity_check` says ok;
- nothing committed is lost: every loss read from the server before the kill is there after it,
  the same number (what the kill may take is what was not yet committed: the last moments);
- the run shows as `interrupted`;
- Start continues it from its latest checkpoint: at that checkpoint's step, and every step it
  trains again gives the very loss the run had recorded for that step before the kill (the
  losses of all 20 lives of the run agree wherever they overlap).
Checkpoints come twice a second here (--checkpoint-every 0.5), so that most lives leave one.
"""

from __future__ import annotations

import math
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support import Server, call, free_port

KILLS = 20
T = TypeVar("T")


def wait(check: Callable[[], T | None], limit: float, what: str) -> T:
    deadline = time.monotonic() + limit
    while not (found := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return found


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started = [
        Server(
            tmp_path / name / "data",
            free_port(),
            # no default run: the one run under test is all there is to restart
            env={"STEPSCOPE_DEFAULT_RUN": "false"},
            args=["--checkpoint-every", "0.5"],
        )
        for name in ("a", "b")
    ]
    try:
        for server in started:
            server.data_dir.parent.mkdir(parents=True)
            server.start()
        yield started
    finally:
        for server in started:
            if server.process is not None:
                server.stop()


def losses(server: Server, run_id: str) -> list[float | None]:
    found: list[float | None] = call(server, f"api/runs/{run_id}/scalars")["loss"]
    return found


def agree(truth: dict[int, float], found: list[float | None]) -> None:
    """Every step's loss equals what any earlier life of the run recorded for it."""
    for step, loss in enumerate(found, start=1):
        assert loss is not None and not math.isnan(loss), step
        assert truth.setdefault(step, loss) == loss, f"step {step}: {loss} != {truth[step]}"


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as db:
        result: str = db.execute("PRAGMA integrity_check").fetchone()[0]
    return result


@pytest.mark.slow
def test_kill_9_at_20_random_moments(servers: list[Server]) -> None:
    """Two servers of their own data directories, killed 10 times each, side by side: the kills
    are as many and as random, and the restarts (imports of torch) overlap on two cores."""
    with ThreadPoolExecutor(len(servers)) as pool:
        lives = [
            pool.submit(live_and_die, server, KILLS // len(servers), seed)
            for seed, server in enumerate(servers)
        ]
        for done in lives:
            done.result()  # (re-raises a failed assertion of its thread)


def live_and_die(server: Server, kills: int, seed: int) -> None:
    chance = random.Random(seed)
    run: dict[str, Any] = call(server, "api/runs", "POST", {"steps_per_second": None})
    run_id = run["id"]
    wait(lambda: call(server, f"api/runs/{run_id}")["ready"], 60, "no worker")
    call(server, f"api/runs/{run_id}/checkpoints", "POST")  # step 0: a first life may be short
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    truth: dict[int, float] = {}
    resumed_at: list[int] = []
    for _ in range(kills):
        # train on for a random while past the resume (which the history was cut back to)
        start = call(server, f"api/runs/{run_id}")["step"]
        wait(lambda: call(server, f"api/runs/{run_id}")["step"] > start, 60, "it never trained")  # noqa: B023
        time.sleep(chance.uniform(0.0, 1.2))
        before = losses(server, run_id)
        server.kill()

        assert integrity(server.data_dir / "stepscope.sqlite3") == "ok"
        server.start()
        after = losses(server, run_id)
        assert after[: len(before)] == before  # nothing read (so committed) before the kill is lost
        agree(truth, after)
        found = call(server, f"api/runs/{run_id}")
        assert found["state"] == "interrupted", found
        saved = [c["step"] for c in call(server, f"api/runs/{run_id}/checkpoints")]
        # the latest checkpoint the history has every step of (the worker flushes its scalars
        # before each save; the server may die before it stored them)
        expected = max(step for step in saved if step <= len(after))

        started = call(server, f"api/runs/{run_id}/commands/start", "POST")
        assert (started["state"], started["step"]) == ("running", expected)
        # cut back to the checkpoint (its new worker is still starting): the steps after it are
        # trained again, and the curve has each step once
        assert len(losses(server, run_id)) == expected
        resumed_at.append(expected)

    # the last life's losses: the steps trained again after each resume agree with the earlier
    # lives' record of them
    wait(lambda: call(server, f"api/runs/{run_id}")["step"] > resumed_at[-1] + 100, 60, "stuck")
    call(server, f"api/runs/{run_id}/commands/pause", "POST")
    agree(truth, losses(server, run_id))
    assert sorted(resumed_at) == resumed_at and resumed_at[-1] > 0
