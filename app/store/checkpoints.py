"""Checkpoint files: one folder per run under the data directory, written atomically.

    <data dir>/checkpoints/<run id>/step-000000001234.pt

A save writes a temporary file in the run's folder, fsyncs it, renames it over the final name
(os.replace, atomic on POSIX within one file system) and fsyncs the folder, so that the rename
itself survives a power cut. A process killed at any moment of a save leaves the checkpoints as
they were or with the new one complete, never a torn file under a checkpoint's name; the
temporary file it leaves is ignored, and removed by the next save. Each run keeps its latest KEEP
checkpoints (rewind and branch may go back to any of them); a reset or a resume from an earlier
step drops those past it (`drop_after`).

Files are read with `torch.load(weights_only=True)`: a checkpoint is data, never code.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

KEEP = 5  # checkpoints kept per run, the latest ones
_NAME = re.compile(r"step-(\d{12})\.pt")
_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TEMPORARY = ".tmp-"


@dataclass(frozen=True)
class Saved:
    """A checkpoint on disk."""

    step: int
    path: Path
    bytes: int
    saved_at: float  # seconds since the epoch (the file's modification time)


class CheckpointStore:
    def __init__(self, root: Path, keep: int = KEEP) -> None:
        self.root = root
        self.keep = keep

    def folder(self, run_id: str) -> Path:
        if not _RUN_ID.fullmatch(run_id):  # a run id names a folder: no separators, no dots
            raise ValueError(f"not a run id: {run_id!r}")
        return self.root / run_id

    # writing

    def save(self, run_id: str, state: dict[str, Any]) -> Saved:
        """Write `state` (checkpoint.capture) as the run's checkpoint of its step, atomically,
        and drop the oldest beyond KEEP."""
        step = int(state["step"])
        folder = self.folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        _remove_temporaries(folder)  # a save killed earlier left its temporary file
        path = folder / f"step-{step:012d}.pt"
        write_atomically(path, state)
        self._prune(run_id)
        return _saved(step, path)

    def _prune(self, run_id: str) -> None:
        for old in self.list(run_id)[: -self.keep]:
            old.path.unlink(missing_ok=True)

    def drop_after(self, run_id: str, step: int) -> None:
        """Remove the run's checkpoints of steps after `step` (a reset: -1 drops them all)."""
        for saved in self.list(run_id):
            if saved.step > step:
                saved.path.unlink(missing_ok=True)

    def delete(self, run_id: str) -> int:
        """Remove every checkpoint of the run and its folder; return the bytes freed."""
        freed = self.disk_bytes(run_id)
        shutil.rmtree(self.folder(run_id), ignore_errors=True)
        return freed

    # reading

    def list(self, run_id: str) -> list[Saved]:
        """The run's checkpoints, oldest step first (temporary files are not checkpoints)."""
        folder = self.folder(run_id)
        found = []
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                match = _NAME.fullmatch(entry.name)
                if match is not None:
                    with contextlib.suppress(FileNotFoundError):  # pruned meanwhile
                        found.append(_saved(int(match.group(1)), Path(entry.path)))
        return sorted(found, key=lambda saved: saved.step)

    def latest(self, run_id: str) -> Saved | None:
        found = self.list(run_id)
        return found[-1] if found else None

    def load(self, run_id: str, step: int | None = None) -> dict[str, Any]:
        """The run's checkpoint of `step` (the latest by default), as checkpoint.restore takes it.
        Raises FileNotFoundError when there is none."""
        if step is None:
            latest = self.latest(run_id)
            if latest is None:
                raise FileNotFoundError(f"the run {run_id} has no checkpoint")
            path = latest.path
        else:
            path = self.folder(run_id) / f"step-{step:012d}.pt"
        return load_file(path)

    def disk_bytes(self, run_id: str) -> int:
        """What the run's checkpoints (and any temporary file) take on disk."""
        total = 0
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.folder(run_id)):
                with contextlib.suppress(FileNotFoundError):
                    total += entry.stat().st_size
        return total


def write_atomically(path: Path, state: dict[str, Any]) -> None:
    """torch.save `state` to `path` so that `path` is always either absent, the old file or the
    whole new one: temporary file in the same folder, fsync, rename, fsync the folder."""
    descriptor, temporary = tempfile.mkstemp(prefix=_TEMPORARY, suffix=".pt", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable: the directory entry is data too."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_file(path: Path, mmap: bool = False) -> dict[str, Any]:
    """`mmap`: the tensors are mapped, not read, until used (to read a checkpoint's config
    without reading a model of hundreds of MB)."""
    # weights_only: tensors, numbers, strings, lists and dicts only; a file that asks to run
    # code is refused, not executed
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    return state


def _remove_temporaries(folder: Path) -> None:
    for entry in folder.glob(_TEMPORARY + "*"):
        entry.unlink(missing_ok=True)


def _saved(step: int, path: Path) -> Saved:
    stat = path.stat()
    return Saved(step=step, path=path, bytes=stat.st_size, saved_at=stat.st_mtime)


__all__ = ["KEEP", "CheckpointStore", "Saved", "fsync_folder", "load_file", "write_atomically"]
