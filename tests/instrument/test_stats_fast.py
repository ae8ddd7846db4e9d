"""The summaries' fast paths against torch: the moments of a tensor without NaN or Inf come from
sums around its minimum (one sweep, shared with the histogram), and must be within float32's
precision of torch's float64 mean, std and norm; a tensor with NaN or Inf gets the same numbers as
its finite elements alone; the histogram must be `torch.histc` of the tensor's finite elements,
exactly, across the sweep's chunks."""

from __future__ import annotations

import math

import pytest
import torch

from app.instrument.stats import (
    CHUNK,
    HISTOGRAM_BINS,
    SHIFT_LIMIT,
    Scratch,
    bounds_of,
    histogram,
    summarize,
    tensor_stats,
)


def tensors(seed: int) -> list[torch.Tensor]:
    """Random tensors of awkward sizes, scales and shapes of distribution."""
    generator = torch.Generator().manual_seed(seed)
    found = []
    for numel in (1, 2, 7, 64, 1000, 4097, 65_537, 2 * CHUNK + 3):
        scale = 10 ** float(torch.randint(-8, 8, (), generator=generator))
        normal = torch.randn(numel, generator=generator) * scale
        skewed = (normal / scale).exp() * scale  # lognormal
        found += [normal, skewed, (normal * 3).round(), torch.rand(numel, generator=generator)]
    return found


def poisoned(flat: torch.Tensor, seed: int) -> torch.Tensor:
    """A copy with a few NaN, +Inf and −Inf elements at random places."""
    generator = torch.Generator().manual_seed(seed)
    poisoned = flat.clone()
    for value in (math.nan, math.inf, -math.inf):
        where = torch.randint(0, flat.numel(), (max(1, flat.numel() // 100),), generator=generator)
        poisoned[where] = value
    return poisoned


def moments_in_float64(flat: torch.Tensor) -> list[float]:
    exact = flat.double()
    return [exact.mean().item(), exact.std(correction=0).item(), exact.norm().item()]


def assert_moments(flat: torch.Tensor, found: list[float]) -> None:
    """mean within 1e-6 of the spread (or of its size), std and norm within 1e-5 relative: sums
    around the minimum lose up to log₂(1 + SHIFT_LIMIT²) ≈ 6 bits of float32's 24 to cancellation
    (~4e-6 at worst), and the mean travels as float32."""
    mean, std, norm = moments_in_float64(flat)
    assert abs(found[0] - mean) <= 1e-6 * max(std, abs(mean)) + 1e-30, (found, mean)
    assert found[1] == pytest.approx(std, rel=1e-5, abs=1e-30), (found, std)
    assert found[2] == pytest.approx(norm, rel=1e-5, abs=1e-30), (found, norm)


@pytest.mark.parametrize("seed", range(3))
def test_the_moments_are_torchs_in_float64(seed: int) -> None:
    for flat in tensors(seed):
        stats = tensor_stats(flat).tolist()
        assert stats[2:4] == [flat.min().item(), flat.max().item()]
        assert stats[5:] == [0, 0]
        assert_moments(flat, [stats[0], stats[1], stats[4]])


def awkward(name: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    normal = torch.randn(3 * CHUNK + 11, generator=generator)
    return {
        # far from zero, tiny spread: x − min must not lose it
        "offset": 1000 + normal * 1e-3,
        # Adam's exp_avg_sq: squares, heavy-tailed, all positive
        "squares": (normal * 1e-3) ** 2,
        # a ratio of normals: tails many σ out on both sides
        "cauchy": normal / torch.randn(normal.numel(), generator=generator).clamp(min=1e-3),
        # one element far below the bulk: the mean is past SHIFT_LIMIT σ above the minimum, so
        # the moments take their second sweep around the mean
        "outlier": torch.cat([normal, torch.tensor([-1e4])]),
        "constant": torch.full((CHUNK + 5,), -2.75),
        "two values": torch.tensor([3.0, 5.0]).repeat(CHUNK),
    }[name]


@pytest.mark.parametrize(
    "name", ["offset", "squares", "cauchy", "outlier", "constant", "two values"]
)
def test_awkward_tensors_keep_their_moments(name: str) -> None:
    flat = awkward(name)
    low, high = bounds_of([flat])[0]
    moments, counts = summarize(flat, low, high, Scratch())
    assert_moments(flat, moments.tolist())
    assert counts is not None
    assert torch.equal(counts, torch.histc(flat, bins=HISTOGRAM_BINS, min=low, max=high))
    if name == "outlier":  # the case the second sweep is for
        mean, std, _ = moments_in_float64(flat)
        assert mean - low > SHIFT_LIMIT * std
    if name == "constant":
        assert moments[1].item() == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_a_tensor_with_nan_or_inf_has_its_finite_elements_numbers(seed: int) -> None:
    for flat in tensors(seed):
        bad = poisoned(flat, seed)
        finite = bad[torch.isfinite(bad)]
        if finite.numel() == 0:
            continue
        masked = tensor_stats(bad)
        alone = tensor_stats(finite)
        assert torch.equal(masked[:5], alone[:5]), (bad.numel(), masked, alone)


@pytest.mark.parametrize("seed", range(3))
def test_tensors_with_nan_or_inf_take_the_masked_path_and_are_right(seed: int) -> None:
    for flat in tensors(seed):
        bad = poisoned(flat, seed)
        finite = bad[torch.isfinite(bad)].double()
        stats = tensor_stats(bad).tolist()
        assert stats[5] == torch.isnan(bad).sum().item()
        assert stats[6] == torch.isinf(bad).sum().item()
        assert stats[5] + stats[6] > 0
        if finite.numel() == 0:
            continue
        assert stats[2] == finite.min().item() and stats[3] == finite.max().item()
        assert_moments(finite.float(), [stats[0], stats[1], stats[4]])


def test_bounds_are_nan_for_a_nan_and_infinite_for_an_inf() -> None:
    found = bounds_of(
        [torch.tensor([1.0, math.nan, 2.0]), torch.tensor([1.0, math.inf]), torch.tensor([-2.0, 3])]
    )
    assert math.isnan(found[0][0]) and math.isnan(found[0][1])
    assert found[1] == (1.0, math.inf) and found[2] == (-2.0, 3.0)


@pytest.mark.parametrize("seed", range(3))
def test_the_histogram_is_histc_of_the_finite_elements(seed: int) -> None:
    scratch = Scratch()
    for flat in tensors(seed):
        for candidate in (flat, poisoned(flat, seed + 1)):
            finite = candidate[torch.isfinite(candidate)]
            counts = histogram(candidate, tensor_stats(candidate), scratch)
            if finite.numel() == 0:
                assert counts.sum() == 0
                continue
            low, high = finite.min().item(), finite.max().item()
            expected = torch.histc(finite, bins=HISTOGRAM_BINS, min=low, max=high)
            assert torch.equal(counts, expected), (candidate.numel(), counts, expected)


def test_a_constant_tensor_follows_histcs_convention() -> None:
    flat = torch.full((5000,), 2.5)
    counts = histogram(flat, tensor_stats(flat))
    assert torch.equal(counts, torch.histc(flat, bins=HISTOGRAM_BINS, min=2.5, max=2.5))
    assert counts[HISTOGRAM_BINS // 2] == 5000


def test_values_on_bin_edges_land_where_histc_puts_them() -> None:
    # every edge of the 64 bins from −1 to 1, and its float32 neighbours on either side
    edges = torch.linspace(-1, 1, HISTOGRAM_BINS + 1)
    flat = torch.cat([edges, edges.nextafter(edges + 1), edges.nextafter(edges - 1)])
    flat = flat.clamp(-1, 1)
    counts = histogram(flat, tensor_stats(flat))
    assert torch.equal(counts, torch.histc(flat, bins=HISTOGRAM_BINS, min=-1.0, max=1.0))


@pytest.mark.parametrize("scale", [1e-40, 1e-37, 1e30, 1e37])
def test_tiny_and_huge_ranges_are_histc_too(scale: float) -> None:
    # a width whose 64th is subnormal (1e-40, 1e-37) takes the multiply-then-divide path
    flat = torch.rand(10_000, generator=torch.Generator().manual_seed(1)) * scale
    counts = histogram(flat, tensor_stats(flat))
    low, high = flat.min().item(), flat.max().item()
    if scale < 1e36:
        assert torch.equal(counts, torch.histc(flat, bins=HISTOGRAM_BINS, min=low, max=high))
        return
    # histc's own (x − min)·64 overflows float32 past a range of 2**128 / 64 and it then puts
    # most elements in bin 0; the histogram does not overflow, and is histc's of the tensor scaled
    # by 2**−100 (exact: a power of two), where histc does not overflow either
    assert torch.histc(flat, bins=HISTOGRAM_BINS, min=low, max=high)[0] > 1000  # histc's overflow
    shrink = 2.0**-100
    expected = torch.histc(flat * shrink, bins=HISTOGRAM_BINS, min=low * shrink, max=high * shrink)
    assert torch.equal(counts, expected)


@pytest.mark.parametrize("numel", [3, 4096])
def test_a_small_tensor_far_from_zero_keeps_its_spread(numel: int) -> None:
    # a tensor that travels whole takes var_mean, not the sweep: the spread of 1000 ± 0.001
    # must survive it (a float32 Σx² − n·mean² would lose it entirely)
    flat = 1000 + torch.randn(numel, generator=torch.Generator().manual_seed(3)) * 1e-3
    stats = tensor_stats(flat).tolist()
    assert_moments(flat, [stats[0], stats[1], stats[4]])
