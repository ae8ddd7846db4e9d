"""Bytes a frame do not grow with the model: a tensor over VIEW_LIMIT elements travels as a fixed
4096-element view and a 64-bin histogram, whatever its size."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from app.instrument.recorder import Recorder
from app.instrument.stats import HISTOGRAM_BINS, VIEW_LIMIT
from app.stream.protocol import encode_snapshot


def frame_of(*widths: int) -> tuple[int, int]:
    """The encoded size of an armed Adam step's full snapshot of an MLP, and its parameter count."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    recorder = Recorder(list(model.named_parameters()))
    recorder.attach(optimizer)
    inputs, targets = torch.randn(4, widths[0]), torch.randn(4, widths[-1])
    for _ in range(2):
        recorder.arm()
        optimizer.zero_grad()
        nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
    snapshot = recorder.snapshot(optimizer)
    return len(encode_snapshot(snapshot.header, snapshot.data)), sum(
        p.numel() for p in model.parameters()
    )


def test_a_6m_parameter_frame_is_the_size_of_a_small_models() -> None:
    # the same layers, 6.3M parameters against 14k: every weight sampled in both
    large, large_numel = frame_of(1024, 2048, 2048, 10)
    small, small_numel = frame_of(80, 80, 80, 10)
    assert large_numel > 6_000_000 and small_numel < 15_000
    # value, grad, update, predicted, exp_avg, exp_avg_sq: six fields of at most a view and a
    # histogram each, per tensor; the large model's 2048-element biases travel whole
    fields = 6
    bound = sum(
        fields * 4 * (min(n, VIEW_LIMIT) + (HISTOGRAM_BINS if n > VIEW_LIMIT else 0))
        for n in (1024 * 2048, 2048, 2048 * 2048, 2048, 2048 * 10, 10)
    )
    assert large - small < bound  # bounded by the protocol, not by 6.3M
    assert large < 3 * small
