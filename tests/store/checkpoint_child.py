"""A process that writes checkpoints and dies in the middle (tests/store/test_checkpoints.py).

python -m tests.store.checkpoint_child torn ROOT    save step 1; die (os._exit) between step 2's
                                                   write and its rename
python -m tests.store.checkpoint_child loop ROOT   save steps 1, 2, 3, … of ~8 MB each until
                                                   killed, printing each step once it is saved
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from app.store import checkpoints
from app.store.checkpoints import CheckpointStore


def state(step: int, size: int = 1000) -> dict[str, object]:
    """A checkpoint whose every number says its step: a file mixing two saves is found out."""
    return {"format": 1, "step": step, "model": {"w": torch.full((size,), float(step))}}


def torn(store: CheckpointStore) -> None:
    store.save("run", state(1))

    def crash(source: object, target: object) -> None:
        os._exit(9)  # the process dies with the new file written and fsynced, not renamed

    checkpoints.os.replace = crash  # type: ignore[assignment]
    store.save("run", state(2))


def loop(store: CheckpointStore) -> None:
    latest = store.latest("run")
    step = 0 if latest is None else latest.step  # on from the one an earlier kill left
    while True:
        step += 1
        store.save("run", state(step, 2_000_000))
        print(step, flush=True)


if __name__ == "__main__":
    what, root = sys.argv[1:3]
    {"torn": torn, "loop": loop}[what](CheckpointStore(Path(root)))
