"""Pure tensor summaries, computed on the tensor's own device.

Every function here returns tensors, so that a caller can stack all of a snapshot's numbers and
cross to the host once. Non-finite elements are counted, and left out of the other statistics, so a
single NaN never hides the shape of the rest.

Speed: a tensor whose min and max are finite holds no NaN or ±Inf (`aminmax` propagates NaN), so
its statistics need no masks. Then one sweep (`summarize`), chunk by chunk through buffers that
stay in the cache, makes its mean, std, norm and exact histogram from one subtraction per element
(x − min, histc's own first step). A tensor with NaN or Inf takes the same sweep over its finite
elements (tests/instrument/test_stats_fast.py). Large temporaries go through a reusable `Scratch`:
a fresh 16 MB tensor costs more in page faults than the arithmetic done in it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

STAT_NAMES = ("mean", "std", "min", "max", "norm", "nan", "inf")
HISTOGRAM_BINS = 64
# Tensors up to this many elements travel whole; larger ones as this many evenly spaced samples.
VIEW_LIMIT = 4096


class Scratch:
    """Work buffers kept between snapshots, grown to the largest tensor seen, one per dtype."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[torch.dtype, torch.device, int], torch.Tensor] = {}

    def take(
        self, numel: int, dtype: torch.dtype, device: torch.device, slot: int = 0
    ) -> torch.Tensor:
        """A 1-D tensor of `numel` elements whose contents are garbage; another `slot` is another
        buffer, for two temporaries of one dtype in use at once."""
        key = (dtype, device, slot)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.numel() < numel:
            buffer = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[key] = buffer
        return buffer[:numel]


def bounds_of(flats: list[torch.Tensor]) -> list[tuple[float, float]]:
    """Every tensor's (min, max), NaN when it holds a NaN: one host round trip for them all."""
    if not flats:
        return []
    pairs = torch.stack([torch.stack(torch.aminmax(flat)) for flat in flats])
    return [(low, high) for low, high in pairs.tolist()]


def tensor_stats(
    flat: torch.Tensor,
    bounds: tuple[float, float] | None = None,
    scratch: Scratch | None = None,
) -> torch.Tensor:
    """mean, std, min, max, L2 norm over finite elements, then the NaN and Inf counts.

    `bounds` (from `bounds_of`) chooses the path without a host sync of its own."""
    if bounds is None:
        bounds = bounds_of([flat])[0]
    if math.isfinite(bounds[0]) and math.isfinite(bounds[1]):
        return _finite_stats(flat, bounds, scratch or Scratch())
    return _masked_stats(flat, scratch or Scratch())


def _finite_stats(
    flat: torch.Tensor, bounds: tuple[float, float], scratch: Scratch
) -> torch.Tensor:
    """`tensor_stats` of a tensor without NaN or Inf, whose (min, max) the caller holds."""
    mean, std, norm = summarize(flat, *bounds, scratch, binned=False)[0].tolist()
    return torch.tensor([mean, std, *bounds, norm, 0.0, 0.0], device=flat.device)


def _masked_stats(flat: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """`tensor_stats` of a tensor holding NaN or Inf (rare: the run is usually about to pause):
    the finite path's numbers over its finite elements, and the counts."""
    finite = flat[torch.isfinite(flat)]
    nans = float(torch.isnan(flat).sum())
    infs = float(torch.isinf(flat).sum())
    if finite.numel() == 0:  # mean and std of nothing; min and max the empty reductions' ±Inf
        nan, inf = math.nan, math.inf
        return torch.tensor([nan, nan, inf, -inf, 0.0, nans, infs], device=flat.device)
    stats = _finite_stats(finite, bounds_of([finite])[0], scratch)
    stats[5], stats[6] = nans, infs
    return stats


# Elements per pass of `summarize`'s loop on a CPU: the chunk's temporaries (its positions in
# float32, then as int16 and uint8 bins: 7 bytes an element) stay in a core's 2 MB L2 cache, so the
# ~9 operations on a chunk read it from there; fewer, larger chunks would pay less per-operation
# overhead, smaller ones less cache (2**18 was fastest of 2**15 .. 2**20 on the wide MLP). On a
# GPU the whole tensor is one chunk.
CHUNK = 1 << 18


def summarize(
    flat: torch.Tensor, low: float, high: float, scratch: Scratch, binned: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """mean, std and L2 norm of a tensor without NaN or Inf whose min and max the caller holds,
    and (`binned`) its `finite_histogram`, in one sweep over it.

    The sweep reads each element once, as the histogram's position p = (x − min) / w (w the bin
    width, in float32 as histc computes it), and sums p and p² (each chunk's in float32, torch's
    cascade sum; the chunks' in float64). With K = min: mean = K + w·Σp/n, variance =
    w²·(Σp²/n − (Σp/n)²), ‖x‖² = nK² + 2Kw·Σp + w²·Σp². The variance then loses log₂(1 + d²/σ²)
    bits to cancellation, d = mean − K: ~5 of float32's 24 for a normal tensor of millions
    (d ≈ 5σ), at most ~6 (d ≤ SHIFT_LIMIT·σ), leaving std within ~4e-6 relative of
    √(Σ(x − mean)²/n) in float64 (tests/instrument/test_stats_fast.py holds 1e-5).
    Past d > SHIFT_LIMIT·σ (an outlier far below the bulk) a second sweep, around the mean found,
    makes it exact again; on a GPU, where a sweep is cheap and reading d would be a sync, the
    second sweep always runs. No full-size temporary: the chunk's are in `scratch`."""
    count = flat.numel()
    if not binned and count <= VIEW_LIMIT:
        # a tensor that travels whole: four operations, where the sweep's dozen would cost more
        # than its arithmetic (var_mean accumulates in float64 on a CPU)
        variance, mean = torch.var_mean(flat, correction=0)
        return torch.stack([mean, variance.sqrt(), flat.norm()]), None
    on_cpu = flat.device.type == "cpu"
    binner = _Binner(low, high, count, scratch, flat.device) if binned else None
    # K: the histogram's own min (min − 1 for a constant tensor); unbinned, p = x − K itself
    shift: float | torch.Tensor = float(np.float32(low)) if binner is None else binner.low
    scale = 1.0 if binner is None else binner.scale
    # On a CPU the arithmetic on the sums is done in Python floats (a host read is free there,
    # and a dozen 0-d tensor operations would cost more than a small tensor's sweep).
    first, second = _sweep(flat, shift, binner, scratch)
    total, squares = first * scale, second * (scale * scale)  # Σ(x − K), Σ(x − K)²
    offset = total / count
    variance = squares / count - offset * offset
    if not on_cpu or offset * offset > SHIFT_LIMIT**2 * variance:
        # rounded to float32: the shift subtracted is the one the sums are corrected by
        shift = _float32(shift + offset)
        total, squares = _sweep(flat, shift, None, scratch)
        offset = total / count
        variance = squares / count - offset * offset
    mean = shift + offset
    std = _root(variance)
    norm = _root(squares + 2.0 * shift * total + count * shift * shift)
    if on_cpu:
        moments = torch.tensor([mean, std, norm], dtype=flat.dtype)
    else:
        moments = torch.stack([torch.as_tensor(v, device=flat.device) for v in (mean, std, norm)])
    return moments.to(flat.dtype), None if binner is None else binner.counts()


# How far (in standard deviations) the mean may lie above the minimum before the moments take a
# second sweep around the mean: a normal tensor of 10M elements has its minimum ~5.3σ below.
SHIFT_LIMIT = 8.0

Number = Any  # a float on a CPU, a 0-d float64 tensor on another device


def _float32(value: Number) -> Number:
    if isinstance(value, torch.Tensor):
        return value.to(torch.float32).to(torch.float64)
    return float(np.float32(value))


def _root(value: Number) -> Number:
    """√max(value, 0): a difference of sums may come out a rounding error below 0."""
    if isinstance(value, torch.Tensor):
        return value.clamp(min=0.0).sqrt()
    return math.sqrt(max(value, 0.0))


def _sweep(
    flat: torch.Tensor, shift: Number, binner: _Binner | None, scratch: Scratch
) -> tuple[Number, Number]:
    """(Σp, Σp²) for p = x − shift, divided by the binner's width and binned when there is a
    binner: floats (summed exactly, `math.fsum`) on a CPU, float64 tensors elsewhere."""
    chunk = _chunk(flat)
    work = scratch.take(chunk, flat.dtype, flat.device)
    sums: list[torch.Tensor] = []
    # note: ~9 operations a chunk, so their dispatch (a few µs each) is kept out of the loop
    # where it can be: whole-chunk buffers are sliced once, only the last chunk is shorter
    for piece in torch.split(flat, chunk):
        out = work if piece.numel() == chunk else work[: piece.numel()]
        position = torch.sub(piece, shift, out=out)
        if binner is not None:
            binner.scale_(position)
        sums.append(position.sum())
        if binner is not None:
            binner.add(position)
        sums.append(position.square_().sum())
    pairs = torch.stack(sums).view(-1, 2)
    if flat.device.type == "cpu":
        values = pairs.tolist()
        return math.fsum(v[0] for v in values), math.fsum(v[1] for v in values)
    first, second = pairs.to(torch.float64).sum(dim=0).unbind()
    return first, second


def _chunk(flat: torch.Tensor) -> int:
    return max(1, min(CHUNK if flat.device.type == "cpu" else flat.numel(), flat.numel()))


class _Binner:
    """`finite_histogram`'s counts, accumulated chunk by chunk from positions (x − min) / w."""

    def __init__(
        self, minimum: float, maximum: float, count: int, scratch: Scratch, device: torch.device
    ) -> None:
        low, high = np.float32(minimum), np.float32(maximum)  # float32, as on the device
        if low == high:  # histc's range for a constant tensor: min − 1 to max + 1, so bin 32
            low, high = low - np.float32(1), high + np.float32(1)
        self.low = float(low)
        width = high - low
        # dividing by width / 64 (exact: a power of two) is multiplying by 64 then dividing by
        # width, without the overflow of (x − min) · 64 past 2¹²⁸
        self.tiny = width / np.float32(HISTOGRAM_BINS) < np.finfo(np.float32).tiny
        self.width = float(width)
        self.step = float(width / np.float32(HISTOGRAM_BINS))
        self.scale = float(np.float64(width) / HISTOGRAM_BINS)  # exact: x − min = scale · p
        chunk = max(1, min(CHUNK if device.type == "cpu" else count, count))
        self.wide = scratch.take(chunk, torch.int16, device)
        self.narrow = scratch.take(chunk, torch.uint8, device)
        self.bins = HISTOGRAM_BINS + 1  # position 64 is x = max
        self.parts: list[torch.Tensor] = []  # each chunk's counts

    def scale_(self, above: torch.Tensor) -> None:
        """x − min (float32, as histc subtracts) into the position p, in place."""
        if self.tiny:
            above.mul_(HISTOGRAM_BINS).div_(self.width)
        else:
            above.div_(self.step)

    def add(self, position: torch.Tensor) -> None:
        size = position.numel()
        wide, narrow = self.wide, self.narrow
        if size != wide.numel():
            wide, narrow = wide[:size], narrow[:size]
        # truncation, as histc's; float → int16 → uint8 is 5x faster than float → uint8 in torch
        self.parts.append(torch.bincount(narrow.copy_(wide.copy_(position)), minlength=self.bins))

    def counts(self) -> torch.Tensor:
        """The 64 counts: x = max is at position 64, which histc counts in the last bin."""
        if not self.parts:
            return torch.zeros(HISTOGRAM_BINS, device=self.wide.device)
        total = torch.stack(self.parts).sum(dim=0) if len(self.parts) > 1 else self.parts[0]
        counts = total[:HISTOGRAM_BINS].clone()
        counts[-1] += total[HISTOGRAM_BINS]
        return counts.to(torch.float32)


def histogram(
    flat: torch.Tensor, stats: torch.Tensor, scratch: Scratch | None = None
) -> torch.Tensor:
    """Counts of finite elements in HISTOGRAM_BINS equal bins from min to max: exactly
    `torch.histc(finite, HISTOGRAM_BINS, min, max)`, whose convention for a constant tensor
    (min = max) is the range min − 1 to max + 1, so all in bin 32.

    Reads min, max and the non-finite counts on the host (free on the CPU, one sync on a GPU)."""
    minimum, maximum, nans, infs = stats[[2, 3, 5, 6]].tolist()
    if not math.isfinite(minimum):  # no finite element at all
        return torch.zeros(HISTOGRAM_BINS, device=flat.device, dtype=flat.dtype)
    if nans or infs:
        flat = flat[torch.isfinite(flat)]
    return finite_histogram(flat, minimum, maximum, scratch or Scratch())


def finite_histogram(
    flat: torch.Tensor, minimum: float, maximum: float, scratch: Scratch
) -> torch.Tensor:
    """`histogram` of a tensor without NaN or Inf whose min and max the caller holds.

    `flat` is float32 (the snapshot's dtype). torch.histc's own arithmetic, pos = (x − min) ·
    bins / (max − min) in float32, truncated, x = max in the last bin; histc itself is 3x slower
    than this. One difference: past a range of 2¹²⁸ / 64 (≈ 5e36) histc's (x − min) · 64
    overflows and it piles elements into bin 0; dividing by (max − min) / 64 does not overflow."""
    count = flat.numel()
    binner = _Binner(minimum, maximum, count, scratch, flat.device)
    chunk = _chunk(flat)
    work = scratch.take(chunk, flat.dtype, flat.device)
    for start in range(0, count, chunk):
        piece = flat[start : start + chunk]
        position = torch.sub(piece, binner.low, out=work[: piece.numel()])
        binner.scale_(position)
        binner.add(position)
    return binner.counts().to(flat.dtype)


@functools.lru_cache(maxsize=256)
def sample_indices(numel: int, device: torch.device) -> torch.Tensor:
    """round(linspace(0, numel - 1, VIEW_LIMIT)) in integers: a float32 linspace rounds its last
    index past the end above 2**24 elements (a 50257×768 embedding, say).

    Made once per size and device (a snapshot and an armed step ask for each sampled tensor's):
    the tensor returned is shared, for indexing only."""
    steps = torch.arange(VIEW_LIMIT, device=device) * (numel - 1)
    return (steps + (VIEW_LIMIT - 1) // 2) // (VIEW_LIMIT - 1)


def view_of(flat: torch.Tensor) -> torch.Tensor:
    """The tensor itself when small, else VIEW_LIMIT evenly spaced elements of it."""
    if flat.numel() <= VIEW_LIMIT:
        return flat
    return flat[sample_indices(flat.numel(), flat.device)]
