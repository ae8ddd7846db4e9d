"""What the rewind ring costs and keeps, per experiment (app/runs/rewind.py).

    .venv/bin/python bench/rewind_ring.py [--seconds 10] [--only seed-linear wide-mlp ...]

For each experiment (its own defaults, at full speed), a worker Session trains on this thread for
`--seconds` with its ring on, as a running worker does (snapshots, evaluation, the NaN watch). The
time spent inside the ring (`after_step`, keyframe captures included) is summed and given as a
share of the wall time: that share is the ring's cost, read off the same run rather than from two
runs whose difference the machine's load would swamp. Also reported: what a capture costs, the
stride the ring chose, the keyframes it holds and their bytes, and the steps a branch may start
from. One intra-op thread, as in the worker.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.experiments import EXPERIMENTS, ExperimentConfig
from app.engine.loop import TrainingLoop
from app.runs.worker import Session


def drained() -> Connection:
    """A pipe whose far end a thread empties, as the server's relay does."""
    receiver, sender = multiprocessing.Pipe(duplex=False)

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                receiver.recv()

    threading.Thread(target=read, daemon=True).start()
    return sender


def measure(name: str, seconds: float) -> None:
    config = ExperimentConfig.model_validate({"experiment": name, "steps_per_second": None})
    sender = drained()
    session = Session(config, sender)
    session.running = True
    ring = session.ring
    keep = ring.after_step
    spent = 0.0

    def timed(loop: TrainingLoop) -> None:
        nonlocal spent
        started = time.perf_counter()
        keep(loop)
        spent += time.perf_counter() - started

    ring.after_step = timed  # type: ignore[method-assign]
    started, first = time.perf_counter(), session.loop.step
    while time.perf_counter() - started < seconds:
        session.train_step()
    wall = time.perf_counter() - started
    held = sum(frame.nbytes for frame in ring.frames)
    print(
        f"{name:12s} {(session.loop.step - first) / wall:8.1f} steps/s | ring {spent / wall:6.2%} "
        f"of wall time | capture {ring.capture_seconds * 1e3:7.2f} ms, stride {ring.stride:4d}, "
        f"{len(ring.frames):4d} keyframes, {held / 2**20:7.2f} MiB, kept steps "
        f"{ring.kept(session.loop.step)}"
    )
    sender.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average: {os.getloadavg()}")
    for name in args.only or list(EXPERIMENTS):
        measure(name, args.seconds)


if __name__ == "__main__":
    main()
