"""Deleting a run gives its space back: the history file shrinks by about the run's share, in a
new file (incremental auto_vacuum) and in one written before auto_vacuum was set (VACUUMed once,
then incremental)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.store.history import History

STEPS = 100_000


def fill(history: History, run_id: str, steps: int = STEPS) -> None:
    history.add_run(run_id, "seed-linear", {"experiment": "seed-linear"}, "stopped")
    for first in range(1, steps + 1, 10_000):
        history.append_scalars(run_id, first, [1.0 / (first + i) for i in range(10_000)])


def file_bytes(path: Path) -> int:
    return path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-wal"))


def auto_vacuum(path: Path) -> int:
    with sqlite3.connect(path) as db:
        mode: int = db.execute("PRAGMA auto_vacuum").fetchone()[0]
    return mode


@pytest.mark.parametrize("made_before_auto_vacuum", [False, True])
def test_a_deleted_runs_pages_go_back_to_the_file_system(
    tmp_path: Path, made_before_auto_vacuum: bool
) -> None:
    path = tmp_path / "history.sqlite3"
    if made_before_auto_vacuum:  # as a file written by an earlier version is
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA auto_vacuum = NONE")
            db.execute("CREATE TABLE placeholder (x)")
    history = History(path)
    assert auto_vacuum(path) == (0 if made_before_auto_vacuum else 2)
    fill(history, "kept")
    fill(history, "deleted")
    history.reclaim()  # settle the log into the file before measuring
    share = history.disk_use()
    before = file_bytes(path)
    # the two runs hold the same rows: each is half the scalars' pages
    assert share["deleted"] == pytest.approx(share["kept"], rel=0.05)
    assert history.delete_run("deleted")
    after = file_bytes(path)
    assert before - after >= 0.9 * share["deleted"], (before, after, share)
    assert auto_vacuum(path) == 2  # the next delete only moves free pages
    assert history.losses("kept")[-1] == 1.0 / STEPS and history.losses("deleted") == []
    assert not history.delete_run("deleted")


def test_rename_survives_reopening_and_an_old_file_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as db:  # the runs table as it was before names
        db.execute(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, experiment TEXT NOT NULL, config TEXT NOT"
            " NULL, state TEXT NOT NULL, reason TEXT, step INTEGER NOT NULL DEFAULT 0,"
            " created_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO runs VALUES ('old', 'seed-linear', '{}', 'stopped', NULL, 3, 1.0)")
    history = History(path)
    assert history.run("old") is not None and history.run("old").name is None  # type: ignore[union-attr]
    assert history.rename("old", "first try") and not history.rename("missing", "x")
    history.close()
    assert [r.name for r in History(path).runs()] == ["first try"]
