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
    scratch = scratch or Scratch()
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
                    distribution(name, field, data, scratch)
                    for name, field in fields.items()
                    if field is not None and name not in SKIPPED_FIELDS
                ],
            )
        )
    return HealthPoint.model_construct(
        step=step,
        # the per-tensor norms are over finite elements, so this is too (a NaN is the nonfinite
        # alert's to report); summed in float64 on the host, one number per tensor
        grad_norm=math.sqrt(squares) if graded else None,
        layers=layers,
        units=units,
        overhead=overhead,
    )


def distribution(name: str, field: FieldData, data: np.ndarray, scratch: Scratch) -> Distribution:
    """The 64-bin histogram of one field: the recorder's, for a sampled tensor; made here from
    the elements in the data block for one that travels whole."""
    stats = field.stats
    low, high = stats.min, stats.max
    nonfinite = stats.nan + stats.inf
    if field.histogram is not None:
        start, length = field.histogram
        counts = data[start : start + length].astype(np.int64).tolist()
    elif not (math.isfinite(low) and math.isfinite(high)):  # no finite element at all
        counts = [0] * HISTOGRAM_BINS
    else:
        start, length = field.view
        values = torch.from_numpy(data[start : start + length].copy())
        if nonfinite:
            values = values[torch.isfinite(values)]
        binned = finite_histogram(values, low, high, scratch)
        counts = binned.to(torch.int64).tolist()
    return Distribution.model_construct(
        field=name, low=low, high=high, counts=counts, nonfinite=nonfinite
    )
