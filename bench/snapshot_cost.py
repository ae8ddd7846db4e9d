"""The cost of one snapshot against TensorBoard's histograms of the same tensors, in one run.

    .venv/bin/pip install -e '.[bench]'   # TensorBoard is a benchmark-only extra
    .venv/bin/python bench/snapshot_cost.py [--repeats 15]

For the four models of issue 10 (all Adam, one torch thread, one process), each measured as the
median of `--repeats` rounds, interleaved so that a noisy neighbour slows all three alike:

- full: one full snapshot as the worker makes it — an armed step's hooks (the copies for the update
  and the ledger, and the ledger's prediction; `Recorder.hook_seconds`), then `Recorder.snapshot`
  (values, gradients, updates, predictions and optimizer state) and `encode_snapshot`. The training
  step itself is not counted.
- values+grads: `build_snapshot` of the values and gradients only (an optimizer without state, no
  update, no ledger) and `encode_snapshot`: the same tensors TensorBoard is given.
- tensorboard: `SummaryWriter.add_histogram` of every parameter and every gradient.
- bytes: the size of the full snapshot's encoded frame.

`--before COMMIT` also measures the full snapshot of that commit's recorder and statistics
(app/instrument/recorder.py and stats.py read with `git show`, loaded beside today's) on a twin of
each model, in the same interleaved rounds: a before → after ratio that the machine's load
cancels out of.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.instrument.recorder import Recorder, build_snapshot
from app.stream.protocol import encode_snapshot

try:
    from torch.utils.tensorboard import SummaryWriter
except ImportError as missing:  # pragma: no cover - depends on the extra
    raise SystemExit(
        "bench/snapshot_cost.py compares against TensorBoard, a benchmark-only extra: "
        "`.venv/bin/pip install -e '.[bench]'` (or `pip install tensorboard`)."
    ) from missing


def mlp(*widths: int) -> nn.Module:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# name, model, batch size
MODELS: list[tuple[str, Callable[[], nn.Module], int]] = [
    ("Linear(10, 1), batch 1", lambda: nn.Linear(10, 1), 1),
    ("MLP 2-8-8-1, batch 10", lambda: mlp(2, 8, 8, 1), 10),
    ("MLP 784-256-256-10, batch 64", lambda: mlp(784, 256, 256, 10), 64),
    ("MLP 1024-2048-2048-10, batch 64", lambda: mlp(1024, 2048, 2048, 10), 64),
]


ROOT = Path(__file__).resolve().parents[1]


def recorder_of(commit: str, folder: Path) -> ModuleType:
    """The recorder module as it was at `commit`, importing that commit's statistics module."""
    modules = {}
    for name in ("stats", "recorder"):
        source = subprocess.run(
            ["git", "show", f"{commit}:app/instrument/{name}.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        source = source.replace("from app.instrument.stats import", "from before_stats import")
        path = folder / f"before_{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"before_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"before_{name}"] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["recorder"]


class Case:
    """One model with Adam, trained a few steps so that every field has data."""

    def __init__(
        self, make: Callable[[], nn.Module], batch: int, recorder: type[Recorder] = Recorder
    ) -> None:
        torch.manual_seed(0)
        self.model = make()
        first = next(self.model.parameters())
        last = list(self.model.parameters())[-1]
        self.inputs = torch.randn(batch, first.shape[1])
        self.targets = torch.randn(batch, last.shape[0])
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.parameters = list(self.model.named_parameters())
        self.recorder = recorder(self.parameters)
        self.recorder.attach(self.optimizer)
        # values and gradients only: an optimizer that has never stepped holds no state
        self.stateless = torch.optim.SGD(self.model.parameters(), lr=0.0)
        for _ in range(3):
            self.step()

    def step(self) -> None:
        self.optimizer.zero_grad()
        loss = nn.functional.mse_loss(self.model(self.inputs), self.targets)
        loss.backward()
        self.optimizer.step()

    def full(self) -> tuple[float, int]:
        """Seconds of one full snapshot (the step excluded), and its frame's bytes."""
        self.recorder.arm()
        hooks_before = self.recorder.hook_seconds
        self.step()
        hooks = self.recorder.hook_seconds - hooks_before
        started = time.perf_counter()
        snapshot = self.recorder.snapshot(self.optimizer)
        frame = encode_snapshot(snapshot.header, snapshot.data)
        return hooks + time.perf_counter() - started, len(frame)

    def values_and_grads(self) -> float:
        started = time.perf_counter()
        with torch.no_grad():
            snapshot = build_snapshot(self.parameters, self.stateless, {})
        encode_snapshot(snapshot.header, snapshot.data)
        return time.perf_counter() - started

    def tensorboard(self, writer: SummaryWriter, step: int) -> float:
        started = time.perf_counter()
        for name, p in self.parameters:
            writer.add_histogram(name, p, step)
            if p.grad is not None:
                writer.add_histogram(f"{name}.grad", p.grad, step)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--before", help="a commit whose full snapshot to measure alongside")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as logs:
        writer = SummaryWriter(logs)
        old = None if args.before is None else recorder_of(args.before, Path(logs)).Recorder
        for name, make, batch in MODELS:
            case = Case(make, batch)
            twin = None if old is None else Case(make, batch, old)
            full, grads, board, sizes, earlier = [], [], [], [], []
            for i in range(args.repeats + 1):
                first = twin is not None and i % 2 == 1  # the older one first every other round
                if first and twin is not None:
                    then = twin.full()[0]
                seconds, size = case.full()
                if not first and twin is not None:
                    then = twin.full()[0]
                vg = case.values_and_grads()
                tb = case.tensorboard(writer, i)
                # untimed: TensorBoard's writer thread would otherwise take the GIL from the next
                # round's measurements
                writer.flush()
                if i:  # the first round warms caches and allocators up
                    full.append(seconds)
                    grads.append(vg)
                    board.append(tb)
                    sizes.append(size)
                    if twin is not None:
                        earlier.append(then)
            rows.append(
                (
                    name,
                    sum(p.numel() for p in case.model.parameters()),
                    statistics.median(full),
                    statistics.median(grads),
                    statistics.median(board),
                    max(sizes),
                    statistics.median(earlier) if earlier else None,
                )
            )
        writer.close()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread, median of {args.repeats}, "
        f"{os.cpu_count()} cores, load average {load} (other processes slow all columns alike)"
    )
    before = "" if args.before is None else f" (before: {args.before})"
    print(
        f"| model | parameters | full ms{before} | values+grads ms | TensorBoard ms "
        "| full / TB | values+grads / TB | bytes a frame |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, numel, full_s, vg_s, tb_s, size, then_s in rows:
        full = (
            f"{full_s * 1e3:.2f}" if then_s is None else f"{then_s * 1e3:.1f} → {full_s * 1e3:.1f}"
        )
        print(
            f"| {name} | {numel:,} | {full} | {vg_s * 1e3:.2f} | {tb_s * 1e3:.2f} "
            f"| {full_s / tb_s:.2f} | {vg_s / tb_s:.2f} | {size:,} |"
        )


if __name__ == "__main__":
    main()
