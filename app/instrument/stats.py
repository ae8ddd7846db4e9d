"""Pure tensor summaries, computed on the tensor's own device.

Every function here returns tensors, so that a caller can stack all of a snapshot's numbers and
cross to the host once. Non-finite elements are counted, and left out of the other statistics, so a
single NaN never hides the shape of the rest.

Speed: a tensor whose min and max are finite holds no NaN or ±Inf (`aminmax` propagates NaN), so
its statistics need no masks; they are then the masked path's numbers bit for bit (the same
operations on the same values; tests/instrument/test_stats_fast.py). A caller learns every tensor's
`bounds` in one host round trip first (`bounds_of`). Large temporaries go through a reusable
`Scratch`: a fresh 16 MB tensor costs more in page faults than the arithmetic done in it.
"""

from __future__ import annotations

import math

import numpy as np
import torch

STAT_NAMES = ("mean", "std", "min", "max", "norm", "nan", "inf")
HISTOGRAM_BINS = 64
# Tensors up to this many elements travel whole; larger ones as this many evenly spaced samples.
VIEW_LIMIT = 4096


class Scratch:
    """Work buffers kept between snapshots, grown to the largest tensor seen, one per dtype."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}

    def take(self, numel: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """A 1-D tensor of `numel` elements whose contents are garbage."""
        buffer = self._buffers.get((dtype, device))
        if buffer is None or buffer.numel() < numel:
            buffer = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[(dtype, device)] = buffer
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
        return _finite_stats(flat, scratch or Scratch())
    return _masked_stats(flat)


def finite_moments(flat: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """mean, std and L2 norm of a tensor without NaN or Inf: `_masked_stats`'s operations without
    the masks, which would select every element, so the same numbers. (Its min and max are the
    bounds the caller already holds, its NaN and Inf counts zero.)"""
    count = flat.numel()
    mean = flat.sum() / count
    centred = torch.sub(flat, mean, out=scratch.take(count, flat.dtype, flat.device))
    std = (centred.square_().sum() / count).sqrt()
    return torch.stack([mean, std, flat.norm()])


def _finite_stats(flat: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """`tensor_stats` of a tensor without NaN or Inf."""
    mean, std, norm = finite_moments(flat, scratch)
    minimum, maximum = torch.aminmax(flat)
    zero = torch.zeros((), device=flat.device)
    return torch.stack([mean, std, minimum, maximum, norm, zero, zero])


def _masked_stats(flat: torch.Tensor) -> torch.Tensor:
    finite = torch.isfinite(flat)
    count = finite.sum()
    zeroed = torch.where(finite, flat, 0.0)
    mean = zeroed.sum() / count
    centred = torch.where(finite, flat - mean, 0.0)
    std = (centred.square().sum() / count).sqrt()
    minimum = torch.where(finite, flat, torch.inf).min()
    maximum = torch.where(finite, flat, -torch.inf).max()
    norm = zeroed.norm()
    nans = torch.isnan(flat).sum()
    infs = torch.isinf(flat).sum()
    return torch.stack([mean, std, minimum, maximum, norm, nans.float(), infs.float()])


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
    low, high = np.float32(minimum), np.float32(maximum)  # float32 arithmetic, as on the device
    if low == high:
        low, high = low - np.float32(1), high + np.float32(1)
    width = high - low
    position = torch.sub(flat, float(low), out=scratch.take(flat.numel(), flat.dtype, flat.device))
    if width / np.float32(HISTOGRAM_BINS) >= np.finfo(np.float32).tiny:
        # dividing by width / 64 (exact: a power of two) is multiplying by 64 then dividing by width
        position.div_(float(width / np.float32(HISTOGRAM_BINS)))
    else:
        position.mul_(HISTOGRAM_BINS).div_(float(width))
    bins = scratch.take(flat.numel(), torch.uint8, flat.device).copy_(position)
    bins.clamp_(max=HISTOGRAM_BINS - 1)
    return torch.bincount(bins, minlength=HISTOGRAM_BINS).to(flat.dtype)


def sample_indices(numel: int, device: torch.device) -> torch.Tensor:
    """round(linspace(0, numel - 1, VIEW_LIMIT)) in integers: a float32 linspace rounds its last
    index past the end above 2**24 elements (a 50257×768 embedding, say)."""
    steps = torch.arange(VIEW_LIMIT, device=device) * (numel - 1)
    return (steps + (VIEW_LIMIT - 1) // 2) // (VIEW_LIMIT - 1)


def view_of(flat: torch.Tensor) -> torch.Tensor:
    """The tensor itself when small, else VIEW_LIMIT evenly spaced elements of it."""
    if flat.numel() <= VIEW_LIMIT:
        return flat
    return flat[sample_indices(flat.numel(), flat.device)]
