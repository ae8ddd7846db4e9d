"""What one checkpoint costs: capture + atomic save (with its fsyncs) and load, per experiment,
beside one training step, in interleaved rounds.

    .venv/bin/python bench/checkpoint_cost.py [--rounds 7] [--only seed-linear digits ...]

For each experiment (its own defaults, Adam for the wide MLP as in the rewind figures), a loop is
trained a few steps, then each round takes: a step, a save (checkpoint.capture without a copy, as
the worker does, and CheckpointStore.save: temporary file, fsync, rename, fsync of the folder) and
a load (torch.load weights_only). The medians are printed with the file size and the share of a
minute a save every --checkpoint-every 60 s takes from training.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.checkpoint import capture
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.store.checkpoints import CheckpointStore, load_file

CONFIGS = {
    "seed-linear": {},
    "spiral": {},
    "digits": {},
    "wide-mlp": {"optimizer": {"name": "adam"}},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", nargs="*", default=list(CONFIGS))
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the worker runs
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {args.rounds}")
    print(
        f"{'experiment':12} {'bytes':>11} {'step ms':>9} {'save ms':>9} {'load ms':>9} {'/60 s':>7}"
    )
    loops = {
        name: TrainingLoop(
            ExperimentConfig(experiment=name, steps_per_second=None, **CONFIGS[name])
        )
        for name in args.only
    }
    for loop in loops.values():
        for _ in range(3):
            loop.run_step()
    times: dict[str, dict[str, list[float]]] = {
        n: {"step": [], "save": [], "load": []} for n in loops
    }
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as root:
        store = CheckpointStore(Path(root), keep=2)
        for _ in range(args.rounds):
            for name, loop in loops.items():  # interleaved: each round sees the same load
                started = time.perf_counter()
                loop.run_step()
                saving = time.perf_counter()
                saved = store.save(name, capture(loop, clone=False))
                loading = time.perf_counter()
                load_file(saved.path)
                done = time.perf_counter()
                times[name]["step"].append(saving - started)
                times[name]["save"].append(loading - saving)
                times[name]["load"].append(done - loading)
                sizes[name] = saved.bytes
    for name in loops:
        step, save, load = (
            statistics.median(times[name][k]) * 1000 for k in ("step", "save", "load")
        )
        print(
            f"{name:12} {sizes[name]:>11,} {step:>9.2f} {save:>9.2f} {load:>9.2f} {save / 600:>6.3f}%"
        )


if __name__ == "__main__":
    main()
