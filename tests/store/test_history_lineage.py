"""A run cut back to a checkpoint (a resume) or reset keeps the events that record its branches:
they still exist, and its curve is the same up to their forks. Its other events after the cut go."""

from __future__ import annotations

from pathlib import Path

from app.store.history import History


def test_a_cut_or_a_reset_keeps_the_lineage_and_drops_the_rest(tmp_path: Path) -> None:
    history = History(tmp_path / "history.sqlite3")
    history.add_run("parent", "seed-linear", {"experiment": "seed-linear"}, "stopped")
    history.append_scalars("parent", 1, [1.0 / k for k in range(1, 41)])
    history.add_event("parent", 30, "branch", {"run": "child"})
    history.add_event("parent", 30, "optimizer", {"lr": 0.1})
    history.add_event("parent", 5, "optimizer", {"lr": 0.05})

    history.cut_after("parent", 20)
    kinds = [(event["step"], event["kind"]) for event in history.events("parent")]
    assert sorted(kinds) == [(5, "optimizer"), (30, "branch")]
    assert len(history.losses("parent")) == 20

    history.clear_progress("parent")
    assert [event["kind"] for event in history.events("parent")] == ["branch"]
    assert history.losses("parent") == []
    history.close()
