"""A run's history written for other tools: a table of every step's scalars (CSV, JSON) and
TensorBoard event files (scalars and histograms) in a tar.gz. Pure: in, the history's series and
health points; out, text or bytes.

The events are TensorBoard's own protobuf messages written by its own `RecordWriter` (the framing
and CRC that `EventFileWriter` uses), so that what TensorBoard reads is what its library wrote.
Not `EventFileWriter` itself: it hands each event to a writer thread, and that handoff cost six
times the writing (~90 µs an event against ~15, BENCHMARKS.md).
"""

from __future__ import annotations

import csv
import io
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.contract.health import Distribution, HealthPoint

Series = Mapping[str, tuple[Sequence[int], Sequence[float]]]
Column = list[float | None]


def scalar_table(series: Series) -> tuple[list[int], dict[str, Column]]:
    """Every step that has a value of any series, ascending, and each series' value at each of
    them (None where it has none: an evaluation every 50 steps, a script's sparse log)."""
    if not series:
        return [], {}
    steps = sorted(set().union(*(set(s) for s, _ in series.values())))
    row: Callable[[int], int]
    if steps[-1] - steps[0] + 1 == len(steps):  # a value every step (the server's own runs)
        first = steps[0]
        row = first.__rsub__  # step - first
    else:
        row = {step: i for i, step in enumerate(steps)}.__getitem__
    columns: dict[str, Column] = {}
    for tag, (series_steps, values) in series.items():
        column: Column = [None] * len(steps)
        for step, value in zip(series_steps, values, strict=True):
            column[row(step)] = value
        columns[tag] = column
    return steps, columns


def csv_text(steps: Sequence[int], columns: Mapping[str, Column]) -> str:
    """A header (step, then the series' tags), then a row a step: an empty cell where a series
    has no value; non-finite values as nan, inf and -inf (as Python, pandas and numpy read them);
    every float written in full (repr: it reads back to the same float)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["step", *columns])
    writer.writerows(zip(steps, *columns.values(), strict=True))
    return out.getvalue()


def tensorboard_archive(
    run_id: str, series: Series, health: Sequence[HealthPoint], wall_time: float
) -> bytes:
    """The run as TensorBoard event files in a tar.gz with one folder, run-<id>/: per step one
    event with each series' value (the tags of `scalar_table`); per health point one event with
    each tensor's gradient norm and update ratio ("health/<tensor>/grad_norm", …) and each
    recorded distribution as a histogram ("<tensor>/<field>", 64 buckets). Every event carries
    the run's start as its wall time: the history keeps steps, not when each one ran."""
    # imported here: tensorboard (and its protobuf modules) loads only when someone exports
    from tensorboard.summary.writer.record_writer import RecordWriter

    steps, columns = scalar_table(series)
    with tempfile.TemporaryDirectory(prefix="stepscope-export-") as temporary:
        folder = Path(temporary) / f"run-{run_id}"
        folder.mkdir()
        # "tfevents" in the name is how TensorBoard finds event files in a folder
        with (folder / f"events.out.tfevents.{int(wall_time)}.stepscope").open("wb") as file:
            writer = RecordWriter(file)
            for event in _events(steps, columns, health, wall_time):
                writer.write(event.SerializeToString())
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            tar.add(folder, arcname=folder.name)
        return archive.getvalue()


def _events(
    steps: Sequence[int],
    columns: Mapping[str, Column],
    health: Sequence[HealthPoint],
    wall_time: float,
) -> Iterator[Any]:
    """The file's events: its version first, a step's scalars, then each health point's."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    yield Event(wall_time=wall_time, file_version="brain.Event:2")
    for i, step in enumerate(steps):
        values = [
            Summary.Value(tag=tag, simple_value=column[i])
            for tag, column in columns.items()
            if column[i] is not None
        ]
        yield Event(wall_time=wall_time, step=step, summary=Summary(value=values))
    for point in health:
        values = []
        for layer in point.layers:
            for name, value in (
                ("grad_norm", layer.grad_norm),
                ("update_ratio", layer.update_ratio),
            ):
                if value is not None:
                    tag = f"health/{layer.tensor}/{name}"
                    values.append(Summary.Value(tag=tag, simple_value=value))
            for distribution in layer.distributions:
                tag = f"{layer.tensor}/{distribution.field}"
                values.append(Summary.Value(tag=tag, histo=_histogram(distribution)))
        yield Event(wall_time=wall_time, step=point.step, summary=Summary(value=values))


def _histogram(distribution: Distribution) -> object:
    """A recorded distribution as TensorBoard's HistogramProto: bucket k holds the elements up to
    its right edge low + (k + 1)·width. A constant tensor's bins span low − 1 .. high + 1, as
    torch.histc made them. The sum and sum of squares are the bins' centres' (the elements
    themselves are not kept); NaN and Inf elements were not binned and are not counted."""
    from tensorboard.compat.proto.summary_pb2 import HistogramProto

    bins = len(distribution.counts)
    low, high = distribution.low, distribution.high
    if high <= low:
        low, high = low - 1.0, high + 1.0
    width = (high - low) / bins
    centres = [low + (k + 0.5) * width for k in range(bins)]
    counts = distribution.counts
    return HistogramProto(
        min=distribution.low,
        max=distribution.high,
        num=sum(counts),
        sum=sum(c * x for c, x in zip(counts, centres, strict=True)),
        sum_squares=sum(c * x * x for c, x in zip(counts, centres, strict=True)),
        bucket_limit=[low + (k + 1) * width for k in range(bins)],
        bucket=[float(c) for c in counts],
    )
