"""The run history in SQLite: runs, losses (NaN and Inf included), snapshots, events, restarts."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runs.state import LIVE_STATES, RunState
from app.store.history import INTERRUPTED_REASON, History


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite"  # the folder does not exist yet


@pytest.fixture
def history(path: Path) -> Iterator[History]:
    history = History(path)
    yield history
    history.close()


def archived_steps(path: Path, run_id: str) -> list[int]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT step FROM snapshots WHERE run_id = ? AND latest = 0 ORDER BY step", (run_id,)
        )
        return [step for (step,) in rows]


def test_runs_are_added_and_read_back(history: History) -> None:
    config = {"seed": 3, "optimizer": {"name": "adam", "lr": 0.01}}
    history.add_run("a", "seed-linear", config, RunState.IDLE)
    history.add_run("b", "seed-linear", {}, RunState.RUNNING)

    record = history.run("a")
    assert record is not None
    assert (record.id, record.experiment, record.config) == ("a", "seed-linear", config)
    assert (record.state, record.reason, record.step) == ("idle", None, 0)
    assert history.run("missing") is None
    assert [r.id for r in history.runs()] == ["b", "a"]  # newest first

    history.set_state("a", RunState.FAILED, "boom")
    history.set_config("a", {"seed": 4})
    record = history.run("a")
    assert record is not None
    assert (record.state, record.reason, record.config) == ("failed", "boom", {"seed": 4})


def test_run_ids_are_unique(history: History) -> None:
    history.add_run("a", "seed-linear", {}, RunState.IDLE)
    with pytest.raises(sqlite3.IntegrityError):
        history.add_run("a", "seed-linear", {}, RunState.IDLE)


def test_losses_in_ranges(history: History) -> None:
    history.add_run("a", "seed-linear", {}, RunState.RUNNING)
    history.add_run("b", "seed-linear", {}, RunState.RUNNING)
    losses = [1.0 / step for step in range(1, 11)]
    history.append_scalars("a", 1, losses[:4])
    history.append_scalars("a", 5, losses[4:])
    history.append_scalars("b", 1, [9.0])

    assert history.losses("a") == losses
    assert history.losses("a", after=3) == losses[3:]
    assert history.losses("a", after=3, upto=6) == losses[3:6]
    assert history.losses("a", upto=2) == losses[:2]
    assert history.losses("a", after=10) == []
    assert history.losses("b") == [9.0]
    assert history.losses("nobody") == []
    record = history.run("a")
    assert record is not None and record.step == 10

    history.append_scalars("a", 9, [0.5, 0.25])  # steps sent again replace the old ones
    assert history.losses("a", after=8) == [0.5, 0.25]


def test_non_finite_losses_survive(history: History) -> None:
    history.add_run("a", "seed-linear", {}, RunState.RUNNING)
    history.append_scalars("a", 1, [0.5, math.nan, math.inf, -math.inf, 0.25])
    losses = history.losses("a")
    assert losses[0] == 0.5 and math.isnan(losses[1])
    assert losses[2] == math.inf and losses[3] == -math.inf and losses[4] == 0.25


def test_snapshots_keep_the_latest_and_a_thinning_archive(history: History, path: Path) -> None:
    history.add_run("a", "seed-linear", {}, RunState.RUNNING)
    assert history.latest_snapshot("a") is None
    for step in range(1, 21):
        history.put_snapshot("a", step, f"snapshot {step}".encode())
    assert history.latest_snapshot("a") == b"snapshot 20"
    assert archived_steps(path, "a") == [1, 2, 4, 8, 16]

    history.add_run("b", "seed-linear", {}, RunState.RUNNING)  # a run paused at step 0 first
    for step in (0, 1, 2, 3, 5, 9):
        history.put_snapshot("b", step, b"b")
    assert archived_steps(path, "b") == [0, 2, 5]
    assert history.latest_snapshot("a") == b"snapshot 20"  # runs are apart


def test_events_in_order(history: History) -> None:
    history.add_run("a", "seed-linear", {}, RunState.RUNNING)
    history.add_event("a", 3, "optimizer", {"optimizer": {"name": "adam"}, "fresh": True})
    history.add_event("a", 3, "optimizer", {"optimizer": {"name": "sgd"}, "fresh": True})
    assert history.events("a") == [
        {"step": 3, "kind": "optimizer", "optimizer": {"name": "adam"}, "fresh": True},
        {"step": 3, "kind": "optimizer", "optimizer": {"name": "sgd"}, "fresh": True},
    ]
    assert history.events("b") == []


def test_optimizer_marks_replay_even_when_an_old_one_no_longer_validates(
    history: History,
) -> None:
    history.add_run("a", "seed-linear", {}, RunState.RUNNING)
    sgd = {"name": "sgd", "lr": 0.01, "momentum": 0.0}
    history.add_event("a", 2, "optimizer", {"optimizer": {"name": "adam"}, "fresh": True})
    # written by an older version: lr 50 was allowed then, and no `previous` was kept
    history.add_event("a", 5, "optimizer", {"optimizer": {**sgd, "lr": 50.0}, "fresh": True})
    history.add_event("a", 9, "optimizer", {"optimizer": sgd, "fresh": False, "previous": sgd})
    marks = history.optimizer_marks("a")
    assert [(m.step, m.fresh) for m in marks] == [(2, True), (5, True), (9, False)]
    assert marks[0].optimizer.name == "adam" and marks[0].previous is None
    assert marks[1].optimizer == {**sgd, "lr": 50.0}  # shown as it was stored
    assert marks[2].previous is not None and marks[2].previous.name == "sgd"
    assert history.optimizer_marks("b") == []


def test_clear_progress_forgets_one_runs_curve(history: History, path: Path) -> None:
    for run_id in ("a", "b"):
        history.add_run(run_id, "seed-linear", {"seed": 1}, RunState.RUNNING)
        history.append_scalars(run_id, 1, [3.0, 2.0, 1.0])
        history.put_snapshot(run_id, 3, b"snap")
        history.add_event(run_id, 2, "optimizer", {})

    history.clear_progress("a")

    record = history.run("a")
    assert record is not None and record.step == 0 and record.config == {"seed": 1}
    assert history.losses("a") == [] and history.events("a") == []
    assert history.latest_snapshot("a") is None
    assert history.losses("b") == [3.0, 2.0, 1.0] and history.latest_snapshot("b") == b"snap"
    assert archived_steps(path, "b") == [3]
    history.put_snapshot("a", 1, b"again")  # the archive starts again too
    history.put_snapshot("a", 2, b"again")
    assert archived_steps(path, "a") == [1, 2]


def test_mark_interrupted_marks_only_live_runs(history: History) -> None:
    for state in RunState:
        history.add_run(state.value, "seed-linear", {}, state)
    history.set_state(RunState.FAILED.value, RunState.FAILED, "crashed")

    history.mark_interrupted(LIVE_STATES)

    for state in RunState:
        record = history.run(state.value)
        assert record is not None
        if state in LIVE_STATES:
            assert (record.state, record.reason) == ("interrupted", INTERRUPTED_REASON)
        else:
            assert record.state == state.value
    failed = history.run(RunState.FAILED.value)
    assert failed is not None and failed.reason == "crashed"


def test_everything_survives_a_restart(path: Path) -> None:
    first = History(path)
    first.add_run("a", "seed-linear", {"seed": 2}, RunState.RUNNING)
    first.append_scalars("a", 1, [2.0, math.nan, 1.0])
    first.put_snapshot("a", 3, b"\x00\x01snapshot")
    first.add_event("a", 2, "optimizer", {"fresh": False})
    first.close()
    first.close()  # twice is harmless

    again = History(path)  # the schema is created only where missing
    try:
        record = again.run("a")
        assert record is not None and record.step == 3 and record.config == {"seed": 2}
        losses = again.losses("a")
        assert losses[0] == 2.0 and math.isnan(losses[1]) and losses[2] == 1.0
        assert again.latest_snapshot("a") == b"\x00\x01snapshot"
        assert again.events("a") == [{"step": 2, "kind": "optimizer", "fresh": False}]
    finally:
        again.close()


def test_race_series_are_kept_beside_the_losses(history: History) -> None:
    from app.contract.events import RaceSeries

    history.add_run("r", "surface-2d", {}, RunState.RUNNING)
    assert history.race("r") is None  # no racers: null, as on the stream
    adam = RaceSeries(name="Adam", loss=[2.0, math.nan], w=[-0.4, -0.3], b=[1.4, math.inf])
    sgd = RaceSeries(name="SGD", loss=[3.0, 2.5], w=[-0.45, -0.4], b=[1.45, 1.4])
    history.append_scalars("r", 1, [1.0, 0.5], [adam, sgd])
    history.append_scalars(
        "r",
        3,
        [0.25],
        [
            adam.model_copy(update={"loss": [1.5], "w": [0.1], "b": [0.2]}),
            sgd.model_copy(update={"loss": [2.0], "w": [0.0], "b": [1.0]}),
        ],
    )
    race = history.race("r")
    assert race is not None and [s.name for s in race] == ["Adam", "SGD"]
    assert race[0].loss[0] == 2.0 and math.isnan(race[0].loss[1]) and race[0].loss[2] == 1.5
    assert race[0].b[1] == math.inf
    assert race[1].w == [-0.45, -0.4, 0.0]
    later = history.race("r", after=1, upto=2)  # the same slice as losses(after, upto)
    assert later is not None and [s.loss for s in later][1] == [2.5]
    history.clear_progress("r")  # a reset forgets them with the losses
    assert history.race("r") is None


def test_a_history_written_before_races_were_kept_still_opens(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:  # the schema as it was, without the race table
        db.executescript(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, experiment TEXT NOT NULL, config TEXT NOT NULL,"
            " state TEXT NOT NULL, reason TEXT, step INTEGER NOT NULL DEFAULT 0,"
            " created_at REAL NOT NULL);"
            "CREATE TABLE scalars (run_id TEXT NOT NULL, step INTEGER NOT NULL, loss REAL,"
            " PRIMARY KEY (run_id, step)) WITHOUT ROWID;"
            "INSERT INTO runs VALUES ('old', 'seed-linear', '{}', 'stopped', NULL, 2, 0);"
            "INSERT INTO scalars VALUES ('old', 1, 0.5), ('old', 2, NULL);"
        )
    history = History(path)
    try:
        losses = history.losses("old")
        assert losses[0] == 0.5 and math.isnan(losses[1])
        assert history.race("old") is None
    finally:
        history.close()
