"""Checkpoint files: atomic writes that a crash cannot tear, weights_only loading, pruning,
deletion and the disk use of a run's checkpoints."""

from __future__ import annotations

import os
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from app.store.checkpoints import KEEP, CheckpointStore, load_file

ROOT = Path(__file__).resolve().parents[2]


def state(step: int, size: int = 100) -> dict[str, object]:
    return {"format": 1, "step": step, "model": {"w": torch.full((size,), float(step))}}


def child(what: str, root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.checkpoint_child", what, str(root)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_whole(store: CheckpointStore) -> list[int]:
    """Every checkpoint listed loads, and holds its own step's numbers only."""
    steps = []
    for saved in store.list("run"):
        loaded = load_file(saved.path)
        assert loaded["step"] == saved.step
        assert bool((loaded["model"]["w"] == float(saved.step)).all()), saved.path
        steps.append(saved.step)
    return steps


def test_a_crash_between_write_and_rename_leaves_the_old_checkpoint(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    process = child("torn", tmp_path)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 9, err
    # the new file was written in full, under a temporary name nobody reads
    assert [p.name.startswith(".tmp-") for p in (tmp_path / "run").iterdir()].count(True) == 1
    assert assert_whole(store) == [1]
    assert store.load("run")["step"] == 1
    store.save("run", state(3))  # the next save clears what the crash left
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "step-000000000001.pt",
        "step-000000000003.pt",
    ]


@pytest.mark.slow
def test_kill_9_during_saves_never_leaves_a_torn_checkpoint(tmp_path: Path) -> None:
    """A process saving ~8 MB checkpoints back to back, killed at random moments: whatever is
    listed loads whole, and the latest is the last one it finished (or, killed after the rename
    and before it said so, the one after). Each process goes on from the latest."""
    store = CheckpointStore(tmp_path)
    chance = random.Random(12)
    for _ in range(3):
        process = child("loop", tmp_path)
        assert process.stdout is not None
        finished = int(process.stdout.readline())  # one save done: the next is under way
        time.sleep(chance.uniform(0.0, 0.3))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        finished = max([finished, *map(int, process.stdout.read().split())])
        steps = assert_whole(store)
        assert steps and steps[-1] in (finished, finished + 1)
        assert len(steps) <= KEEP + 1  # (killed between a rename and the pruning after it)


def test_loading_refuses_a_file_that_would_run_code(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("this ran",))

    path = tmp_path / "step-000000000001.pt"
    torch.save({"format": 1, "step": 1, "evil": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_file(path)


def test_the_latest_few_are_kept_and_steps_after_a_point_can_go(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, keep=3)
    for step in (0, 10, 20, 30, 40):
        store.save("run", state(step))
    assert [saved.step for saved in store.list("run")] == [20, 30, 40]
    assert store.latest("run") is not None and store.load("run")["step"] == 40
    assert store.load("run", 30)["step"] == 30
    store.drop_after("run", 25)
    assert [saved.step for saved in store.list("run")] == [20]
    store.drop_after("run", -1)
    assert store.list("run") == [] and store.latest("run") is None
    with pytest.raises(FileNotFoundError):
        store.load("run")


def test_disk_use_and_delete(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    assert store.disk_bytes("run") == 0 and store.delete("run") == 0  # none yet: nothing to do
    store.save("run", state(1, 10_000))
    store.save("run", state(2, 10_000))
    store.save("other", state(1))
    used = sum(p.stat().st_size for p in (tmp_path / "run").iterdir())
    assert used > 2 * 40_000
    assert store.disk_bytes("run") == used
    assert store.delete("run") == used
    assert not (tmp_path / "run").exists() and store.disk_bytes("run") == 0
    assert [saved.step for saved in store.list("other")] == [1]


@pytest.mark.parametrize("bad", ["..", "../x", "a/b", "", ".hidden"])
def test_a_run_id_cannot_name_another_folder(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="not a run id"):
        CheckpointStore(tmp_path).folder(bad)
