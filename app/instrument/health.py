"""A health point from a snapshot: each parameter's distributions, norms and update ratio.

Nothing here touches a parameter again. The recorder's snapshot already holds, per field, the
statistics of the whole tensor (its L2 norm among them) and its elements in the data block: every
element of a tensor of up to 4096, or, for a larger one, 4096 samples and a 64-bin histogram of the
whole tensor. So a norm is read, never recomputed, and only the small tensors' histograms are made
here, over at most 4096 float32 values each, with the recorder's own binning (`torch.histc`'s, see
app/instrument/stats.py): the distributions of a 6.3M-parameter model cost what a small one's do.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from app.contract.health import Distribution, HealthPoint, LayerHealth, Overhead, UnitActivity
from app.contract.snapshot import FieldData
from app.instrument.recorder import Snapshot
from app.instrument.stats import HISTOGRAM_BINS, Scratch, finite_histogram

SKIPPED_FIELDS = ("predicted",)  # the ledger's prediction of `value`: not a tensor of the model


def health_point(
    snapshot: Snapshot,
    step: int,
    units: list[UnitActivity],
    overhead: Overhead,
    scratch: Scratch | None = None,
) -> HealthPoint:
    data = np.frombuffer(snapshot.data, dtype="<f4")
    binning = _Binning(data, scratch or Scratch())
    layers: list[LayerHealth] = []
    squares, graded = 0.0, False
    for tensor in snapshot.tensors:
        fields = tensor.fields
        value, grad, update = fields["value"], fields.get("grad"), fields.get("update")
        assert value is not None  # a parameter always has a value
        value_norm = value.stats.norm
        grad_norm = None if grad is None else grad.stats.norm
        update_norm = None if update is None else update.stats.norm
        if grad_norm is not None:
            squares += grad_norm * grad_norm
            graded = True
        ratio = None
        if update_norm is not None and value_norm > 0.0:
            ratio = update_norm / value_norm
        layers.append(
            LayerHealth.model_construct(
                tensor=tensor.name,
                value_norm=value_norm,
                grad_norm=grad_norm,
                update_norm=update_norm,
                update_ratio=ratio,
                distributions=[
                    binning.distribution(name, field)
                    for name, field in fields.items()
                    if field is not None and name not in SKIPPED_FIELDS
                ],
            )
        )
    binning.count()
    return HealthPoint.model_construct(
        step=step,
        # the per-tensor norms are over finite elements, so this is too (a NaN is the nonfinite
        # alert's to report); summed in float64 on the host, one number per tensor
        grad_norm=math.sqrt(squares) if graded else None,
        layers=layers,
        units=units,
        overhead=overhead,
    )


class _Binning:
    """The distributions of one snapshot. A sampled tensor's counts are the recorder's; those of
    the tensors that travel whole are binned here all at once: one numpy pass over every such
    field's elements, not a dozen torch calls per field (a model of 8 small tensors has 40
    fields: 3 ms of torch overhead against 0.3 ms). The arithmetic is `finite_histogram`'s, in
    float32: position (x − low) / ((high − low) / 64), truncated, x = high in the last bin, a
    constant field over low − 1 .. high + 1; a range so narrow that (high − low) / 64 is
    subnormal goes to `finite_histogram` itself."""

    def __init__(self, data: np.ndarray, scratch: Scratch) -> None:
        self.data, self.scratch = data, scratch
        self._values: list[np.ndarray] = []
        self._lows: list[np.float32] = []
        self._steps: list[np.float32] = []
        self._waiting: list[Distribution] = []

    def distribution(self, name: str, field: FieldData) -> Distribution:
        stats = field.stats
        low, high = stats.min, stats.max
        nonfinite = stats.nan + stats.inf
        made = Distribution.model_construct(
            field=name, low=low, high=high, counts=[0] * HISTOGRAM_BINS, nonfinite=nonfinite
        )
        if field.histogram is not None:
            start, length = field.histogram
            made.counts = self.data[start : start + length].astype(np.int64).tolist()
            return made
        if not (math.isfinite(low) and math.isfinite(high)):  # no finite element at all
            return made
        start, length = field.view
        values = self.data[start : start + length]
        if nonfinite:
            values = values[np.isfinite(values)]
        bottom, top = np.float32(low), np.float32(high)
        if bottom == top:
            bottom, top = bottom - np.float32(1), top + np.float32(1)
        step = (top - bottom) / np.float32(HISTOGRAM_BINS)
        if step < np.finfo(np.float32).tiny:
            counts = finite_histogram(torch.from_numpy(values.copy()), low, high, self.scratch)
            made.counts = counts.to(torch.int64).tolist()
            return made
        self._values.append(values)
        self._lows.append(bottom)
        self._steps.append(step)
        self._waiting.append(made)
        return made

    def count(self) -> None:
        """Bin every waiting field's elements, and fill in their counts."""
        if not self._waiting:
            return
        fields = len(self._waiting)
        lengths = [len(values) for values in self._values]
        owner = np.repeat(np.arange(fields), lengths)
        values = np.concatenate(self._values)
        lows = np.array(self._lows, dtype=np.float32)[owner]
        steps = np.array(self._steps, dtype=np.float32)[owner]
        position = np.subtract(values, lows, dtype=np.float32)
        np.divide(position, steps, out=position)
        bins = np.minimum(position.astype(np.int64), HISTOGRAM_BINS - 1)
        counts = np.bincount(owner * HISTOGRAM_BINS + bins, minlength=fields * HISTOGRAM_BINS)
        for made, row in zip(self._waiting, counts.reshape(fields, HISTOGRAM_BINS), strict=True):
            made.counts = row.tolist()
