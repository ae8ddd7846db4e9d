"""Pure tensor summaries, computed on the tensor's own device without a host sync.

Every function here returns tensors, so that a caller can stack all of a snapshot's numbers and
cross to the host once. Non-finite elements are counted, and left out of the other statistics, so a
single NaN never hides the shape of the rest.
"""

from __future__ import annotations

import torch

STAT_NAMES = ("mean", "std", "min", "max", "norm", "nan", "inf")
HISTOGRAM_BINS = 64
# Tensors up to this many elements travel whole; larger ones as this many evenly spaced samples.
VIEW_LIMIT = 4096


def tensor_stats(flat: torch.Tensor) -> torch.Tensor:
    """mean, std, min, max, L2 norm over finite elements, then the NaN and Inf counts."""
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


def histogram(flat: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
    """Counts of finite elements in HISTOGRAM_BINS equal bins from min to max.

    scatter_add into a fixed-size tensor rather than torch.histc: histc needs its range as Python
    floats, which would be a host sync per tensor.
    """
    minimum, maximum = stats[2], stats[3]
    finite = torch.isfinite(flat)
    width = torch.clamp(maximum - minimum, min=torch.finfo(flat.dtype).tiny)
    position = torch.where(finite, (flat - minimum) / width * HISTOGRAM_BINS, 0.0)
    bins = position.long().clamp(0, HISTOGRAM_BINS - 1)
    counts = torch.zeros(HISTOGRAM_BINS, device=flat.device, dtype=flat.dtype)
    return counts.scatter_add_(0, bins, finite.to(flat.dtype))


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
