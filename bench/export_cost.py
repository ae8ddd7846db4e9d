"""What exporting a long run costs: CSV of `--steps` steps, and TensorBoard event files of
`--tensorboard-steps` steps, written as app/store/export.py writes them (TensorBoard's
RecordWriter in the calling thread) and, interleaved round by round, through TensorBoard's
EventFileWriter (which hands each event to a writer thread).

    .venv/bin/python -m bench.export_cost [--steps 1000000] [--tensorboard-steps 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from app.store.export import csv_text, scalar_table, tensorboard_archive
from app.store.history import History
from bench.history_open import RUN, write_history


def through_event_file_writer(steps: int) -> float:
    """Seconds for `steps` one-scalar events through EventFileWriter, per event."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        writer = EventFileWriter(folder)
        for step in range(1, steps + 1):
            value = Summary.Value(tag="loss", simple_value=1.0 / step)
            writer.add_event(Event(wall_time=0.0, step=step, summary=Summary(value=[value])))
        writer.close()
        return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--tensorboard-steps", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stepscope-bench-") as folder:
        path = Path(folder) / "stepscope.sqlite3"
        write_history(path, options.steps)
        history = History(path)
        started = time.perf_counter()
        series = history.scalar_series(RUN)
        read = time.perf_counter() - started
        steps, columns = scalar_table(series)
        text = csv_text(steps, columns)
        csv_seconds = time.perf_counter() - started
        n = options.tensorboard_steps
        short = {tag: (s[:n], v[:n]) for tag, (s, v) in series.items()}
        ours, theirs = [], []
        for _ in range(options.rounds):
            started = time.perf_counter()
            tensorboard_archive(RUN, short, [], 0.0)
            ours.append((time.perf_counter() - started) / n)
            theirs.append(through_event_file_writer(n))
    print(
        json.dumps(
            {
                "csv_steps": options.steps,
                "csv_seconds": round(csv_seconds, 2),
                "csv_read_seconds": round(read, 2),
                "csv_mb": round(len(text) / 1e6, 1),
                "tensorboard_us_per_step": [round(t * 1e6, 1) for t in ours],
                "event_file_writer_us_per_step": [round(t * 1e6, 1) for t in theirs],
                "median_ratio": round(statistics.median(theirs) / statistics.median(ours), 2),
                "load": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
