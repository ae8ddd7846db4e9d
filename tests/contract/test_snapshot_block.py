"""docs/protocol.md, the snapshot's data block: every float lies under exactly one documented view
(a field's `view` or `histogram`, or a span of `views`), NaN/Inf counts are integers, and `std` is the population form."""

from __future__ import annotations

import json
import math
import multiprocessing
from typing import Any

import pytest
import torch
from torch import nn

from app.contract.snapshot import SnapshotHeader, Tensor
from app.engine.experiments import ExperimentConfig
from app.instrument.recorder import Recorder
from app.runs.worker import Session
from app.stream.protocol import decode_snapshot, to_json


def snapshot_after_adam_steps() -> tuple[list[Tensor], bytes, dict[str, nn.Parameter]]:
    generator = torch.Generator().manual_seed(1)
    params = {
        "small": nn.Parameter(torch.randn(3, 4, generator=generator)),
        "large": nn.Parameter(torch.randn(80, 70, generator=generator)),  # sampled: 5600 > 4096
    }
    optimizer = torch.optim.Adam(params.values(), lr=0.1)  # state tensors and a scalar `step`
    recorder = Recorder(list(params.items()))
    recorder.attach(optimizer)
    for _ in range(2):
        optimizer.zero_grad()
        sum((p**2).sum() for p in params.values()).backward()  # type: ignore[union-attr]
        optimizer.step()
    with torch.no_grad():
        params["small"].view(-1)[[0, 5]] = math.nan
        params["small"].view(-1)[7] = -math.inf
    snapshot = recorder.snapshot(optimizer)
    return snapshot.tensors, snapshot.data, params


def test_every_float_of_the_data_block_is_under_exactly_one_view() -> None:
    tensors, data, _ = snapshot_after_adam_steps()
    floats = len(data) // 4
    covered = [0] * floats
    for tensor in tensors:
        assert tensor.state_scalars == {"step": 2.0}  # in the header, not in the block
        for field in tensor.fields.values():
            assert field is not None
            spans = [field.view] + ([field.histogram] if field.histogram else [])
            assert (field.histogram is not None) is tensor.sampled
            for offset, length in spans:
                for i in range(offset, offset + length):
                    covered[i] += 1
    assert covered == [1] * floats


def test_counts_are_integers_and_std_is_the_population_form() -> None:
    tensors, _, params = snapshot_after_adam_steps()
    small = next(t for t in tensors if t.name == "small")
    value = small.fields["value"]
    assert value is not None
    on_wire = json.loads(to_json(value.stats))
    assert on_wire["nan"] == 2 and on_wire["inf"] == 1
    assert isinstance(on_wire["nan"], int) and isinstance(on_wire["inf"], int)
    finite = params["small"].detach().reshape(-1)
    finite = finite[torch.isfinite(finite)]
    population = torch.std(finite, correction=0).item()
    sample = torch.std(finite, correction=1).item()
    assert math.isclose(value.stats.std, population, rel_tol=1e-5)
    assert not math.isclose(value.stats.std, sample, rel_tol=1e-3)


def view_spans(views: dict[str, Any]) -> list[tuple[int, int]]:
    """Every span of a snapshot's `views`, as docs/protocol.md lists them."""
    spans: list[tuple[int, int]] = []
    if views["plane"]:
        spans.append(views["plane"]["output"])
        spans += [unit["values"] for unit in views["plane"]["units"]]
    for link in (views["network"] or {}).get("links", []):
        spans += [span for span in (link["value"], link["grad"], link["update"]) if span]
    if views["filters"]:
        spans.append(views["filters"]["values"])
    return spans


@pytest.mark.parametrize("experiment", ["spiral", "digits", "sine"])
def test_with_pictures_every_float_is_still_under_exactly_one_span(experiment: str) -> None:
    sent, received = multiprocessing.Pipe()
    session = Session(ExperimentConfig(experiment=experiment), sent)
    for _ in range(3):
        session.record(session.full_step())
    session.recorder.arm()
    session.record(session.full_step())
    session.send_snapshot()
    frame = None
    while received.poll():
        message = received.recv()
        if message.kind == "snapshot":
            frame = message.frame
    assert frame is not None
    header, data = decode_snapshot(frame)
    SnapshotHeader.model_validate(header)
    spans = view_spans(header["views"])
    assert spans, "a pictured experiment's snapshot has views"
    for tensor in header["tensors"]:
        for field in tensor["fields"].values():
            if field is not None:
                spans += [field["view"]] + ([field["histogram"]] if field["histogram"] else [])
    covered = [0] * len(data)
    for offset, length in spans:
        for i in range(offset, offset + length):
            covered[i] += 1
    assert covered == [1] * len(data)
