"""The pure summaries, alone: stats, histogram and sampling."""

from __future__ import annotations

import math

import pytest
import torch

from app.instrument.stats import (
    HISTOGRAM_BINS,
    STAT_NAMES,
    VIEW_LIMIT,
    histogram,
    sample_indices,
    tensor_stats,
    view_of,
)


def test_tensor_stats_against_torch() -> None:
    flat = torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 4 - 1
    stats = dict(zip(STAT_NAMES, tensor_stats(flat).tolist(), strict=True))
    reference = flat.double()
    assert stats == pytest.approx(
        {
            "mean": reference.mean().item(),
            "std": reference.std(correction=0).item(),
            "min": reference.min().item(),
            "max": reference.max().item(),
            "norm": reference.norm().item(),
            "nan": 0.0,
            "inf": 0.0,
        },
        rel=1e-5,
        abs=1e-6,
    )


def test_histogram_of_a_constant_tensor_is_one_full_bin() -> None:
    flat = torch.full((100,), 2.5)
    counts = histogram(flat, tensor_stats(flat))
    assert counts.shape == (HISTOGRAM_BINS,)
    assert counts.sum() == 100 and counts.max() == 100


def test_histogram_puts_the_extremes_in_the_end_bins() -> None:
    flat = torch.tensor([-1.0, 3.0, math.nan, math.inf, -math.inf])
    counts = histogram(flat, tensor_stats(flat))
    assert counts[0] == 1 and counts[-1] == 1 and counts.sum() == 2


def test_histogram_of_an_all_nan_tensor_is_empty() -> None:
    flat = torch.full((10,), math.nan)
    assert histogram(flat, tensor_stats(flat)).sum() == 0


def test_small_tensors_travel_whole() -> None:
    flat = torch.randn(VIEW_LIMIT)
    assert view_of(flat) is flat


@pytest.mark.parametrize(
    "numel",
    [4096 * 4097, 50257 * 768],  # a 4096x4097 weight; GPT-2's token embedding
)
def test_sampling_stays_in_range_for_huge_tensors(numel: int) -> None:
    indices = sample_indices(numel, torch.device("cpu"))
    assert indices.dtype == torch.int64 and indices.shape == (VIEW_LIMIT,)
    assert indices[0] == 0
    assert indices[-1] == numel - 1  # fails today: it is numel
    view = view_of(torch.zeros(1).expand(numel))  # an expanded view: no memory spent
    assert view.shape == (VIEW_LIMIT,)
