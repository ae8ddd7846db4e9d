"""What the NaN/Inf alert costs the seed experiment at full speed: the worker's Session in this
process (hooks, governor, snapshots, batched losses, the pipe), with the alert on and off, in
alternating rounds of one run.

    .venv/bin/python bench/alert_cost.py [--seconds 3] [--rounds 6]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.contract.run import AlertSettings
from app.contract.worker import SetAlerts
from app.engine.experiments import ExperimentConfig
from app.runs.worker import Session


def steps_per_second(seconds: float, alert: bool, sender: Connection) -> float:
    session = Session(ExperimentConfig(steps_per_second=None), sender)
    session.handle(SetAlerts(alerts=AlertSettings(nonfinite=alert)))
    for _ in range(200):  # warm up: first calls, the first snapshot
        session.train_step()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        session.train_step()
        steps += 1
    return steps / (time.perf_counter() - started)


def drain(receiver: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        while True:
            receiver.recv_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the worker does
    # The messages are read in another process, as the server's relay reads a worker's: a reader
    # thread here would contend for the GIL whenever torch releases it (.item(), each op), which
    # the worker process never does. One reader for every round: starting a process costs seconds
    # of CPU that would overlap the measurement.
    receiver, sender = multiprocessing.Pipe(duplex=False)
    reader = multiprocessing.get_context("spawn").Process(target=drain, args=(receiver,))
    reader.start()
    receiver.close()
    steps_per_second(3.0, alert=False, sender=sender)  # while the reader starts
    on: list[float] = []
    off: list[float] = []
    for round_ in range(args.rounds):
        # each setting goes first in every other round: the first of a pair tends to run faster
        for alert in (False, True) if round_ % 2 == 0 else (True, False):
            rate = steps_per_second(args.seconds, alert=alert, sender=sender)
            (on if alert else off).append(rate)
    print(f"alert off, steps/s: {', '.join(f'{r:,.0f}' for r in off)}")
    print(f"alert on,  steps/s: {', '.join(f'{r:,.0f}' for r in on)}")
    ratio = statistics.median(on) / statistics.median(off)
    paired = statistics.median(a / b for a, b in zip(on, off, strict=True))
    spread = statistics.pstdev(off) / statistics.mean(off)
    print(f"median on / median off: {ratio:.3f}; median of paired rounds: {paired:.3f}")
    print(f"rounds of the same setting vary by {spread:.1%} (standard deviation / mean)")
    sender.close()
    reader.join()
    print(f"the screen alone (loss read, gradients kept), per step: {screen_cost():.1f} µs")


def screen_cost(steps: int = 5000) -> float:
    """Microseconds per step of the screen by itself, on the seed's loss and parameters."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    session = Session(ExperimentConfig(steps_per_second=None), sender)
    session.train_step()
    watch, loss = session.watch, session.loop.loss
    parameters = [p for _, p in session.loop.parameters()]
    assert loss is not None
    started = time.perf_counter()
    for _ in range(steps):
        math.isfinite(loss.item())
        held = [p.grad for p in parameters]
    assert held
    elapsed = time.perf_counter() - started
    assert watch.enabled
    sender.close()
    receiver.close()
    return elapsed / steps * 1e6


if __name__ == "__main__":
    main()
