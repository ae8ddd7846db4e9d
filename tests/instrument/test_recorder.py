"""Every streamed number against a hand-written loop that computes it itself (the oracle)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from app.contract.snapshot import Tensor
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import SGDConfig
from app.instrument.recorder import Recorder, Snapshot
from app.instrument.stats import HISTOGRAM_BINS, STAT_NAMES, VIEW_LIMIT
from app.stream.protocol import decode_snapshot, encode_snapshot, json_safe
from tests.engine.oracle import CASES, OptimizerCase, OracleStep, oracle_for
from tests.instrument.decode import as_floats, entry_of, read_fields

DATA = {"seed": 5, "n_samples": 100, "batch_size": 32}
PLAIN_SGD = OptimizerCase(
    "sgd-plain", SGDConfig(lr=0.1, momentum=0.0), torch.optim.SGD, {"lr": 0.1}, frozenset()
)


def close(actual: torch.Tensor | None, expected: torch.Tensor, what: str) -> None:
    assert actual is not None, f"{what} was not streamed"
    torch.testing.assert_close(actual, expected.to(torch.float32), atol=1e-6, rtol=1e-6, msg=what)


def recorded(case: OptimizerCase) -> tuple[TrainingLoop, Recorder]:
    loop = TrainingLoop(ExperimentConfig(optimizer=case.config, **DATA))
    recorder = Recorder(loop.parameters())
    recorder.attach(loop.optimizer)
    return loop, recorder


def check_against_oracle(snapshot: Snapshot, expected: OracleStep, case: OptimizerCase) -> None:
    header, data = snapshot.header, snapshot.data
    fields = read_fields(header, data)
    assert set(fields) == {"weight", "bias"}
    for name, streamed in fields.items():
        close(streamed["value"], expected.after[name], f"{name}.value")
        close(streamed["grad"], expected.grad[name], f"{name}.grad")
        close(streamed["update"], expected.after[name] - expected.before[name], f"{name}.update")
        state = {field.removeprefix("state.") for field in streamed if field.startswith("state.")}
        assert state == case.state_keys, name
        for key in case.state_keys:
            close(streamed[f"state.{key}"], expected.state[name][key], f"{name}.state.{key}")
        scalars = {
            key: float(value)
            for key, value in expected.state[name].items()
            if key not in case.state_keys and value is not None
        }
        assert entry_of(header, name)["state_scalars"] == pytest.approx(scalars, abs=1e-6)


@pytest.mark.parametrize("case", [PLAIN_SGD, *CASES], ids=lambda case: case.id)
def test_streamed_tensors_equal_the_oracle(case: OptimizerCase) -> None:
    loop, recorder = recorded(case)
    oracle = oracle_for(loop.config, case)
    for step in range(1, 16):
        armed = step in (1, 2) or step % 4 == 0  # unarmed steps in between must not matter
        if armed:
            recorder.arm()
        loop.run_step()
        expected = oracle.step()
        if armed:
            check_against_oracle(recorder.snapshot(loop.optimizer), expected, case)
    if case.torch_class is not torch.optim.SGD:
        header = recorder.snapshot(loop.optimizer).header
        assert entry_of(header, "weight")["state_scalars"]["step"] == 15


def test_plain_sgd_update_is_minus_lr_times_grad() -> None:
    loop, recorder = recorded(PLAIN_SGD)
    for _ in range(5):
        recorder.arm()
        loop.run_step()
        snapshot = recorder.snapshot(loop.optimizer)
        for name, fields in read_fields(snapshot.header, snapshot.data).items():
            grad = fields["grad"]
            assert grad is not None
            close(fields["update"], -0.1 * grad, f"{name}.update")
            # plain SGD keeps no state; the ledger's prediction is what step() produced
            assert set(fields) == {"value", "grad", "update", "predicted"}
            close(fields["predicted"], fields["value"], f"{name}.predicted")


def test_snapshot_survives_the_wire() -> None:
    case = CASES[2]  # Adam: state tensors and a scalar step
    loop, recorder = recorded(case)
    oracle = oracle_for(loop.config, case)
    for _ in range(3):
        recorder.arm()
        loop.run_step()
        expected = oracle.step()
    snapshot = recorder.snapshot(loop.optimizer)

    header, data = decode_snapshot(encode_snapshot(snapshot.header, snapshot.data))

    assert header["tensors"] == json.loads(json.dumps(json_safe(snapshot.header["tensors"])))
    np.testing.assert_array_equal(as_floats(data), as_floats(snapshot.data))
    # what crossed the wire is the contract's Tensor, numbers and all
    tensors = [Tensor.model_validate(entry) for entry in header["tensors"]]
    check_against_oracle(Snapshot(tensors, bytes(data)), expected, case)


def test_snapshot_before_any_step() -> None:
    loop, recorder = recorded(CASES[0])
    header = recorder.snapshot(loop.optimizer).header
    for entry in header["tensors"]:
        assert entry["fields"]["grad"] is None and entry["fields"]["update"] is None
        assert entry["fields"]["value"] is not None
        assert set(entry["fields"]) == {"value", "grad", "update"}  # no momentum buffer yet
        assert entry["numel"] == math.prod(entry["shape"]) and entry["sampled"] is False
    assert [e["shape"] for e in header["tensors"]] == [[1, 10], [1]]


def expected_stats(values: torch.Tensor) -> dict[str, float]:
    """In float64, over the finite elements; std is the population std, as the stats module documents."""
    flat = values.reshape(-1).double()
    finite = flat[torch.isfinite(flat)]
    return {
        "mean": finite.mean().item(),
        "std": finite.std(correction=0).item(),
        "min": finite.min().item(),
        "max": finite.max().item(),
        "norm": finite.norm().item(),
        "nan": float(torch.isnan(flat).sum()),
        "inf": float(torch.isinf(flat).sum()),
    }


def snapshot_of(
    params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor] | None = None
) -> Snapshot:
    named = [(name, nn.Parameter(values)) for name, values in params.items()]
    for name, param in named:
        if grads and name in grads:
            param.grad = grads[name]
    optimizer = torch.optim.SGD([p for _, p in named], lr=0.1)
    recorder = Recorder(named)
    recorder.attach(optimizer)
    return recorder.snapshot(optimizer)


def test_stats_of_every_field() -> None:
    generator = torch.Generator().manual_seed(0)
    value = 3 + 2 * torch.randn(7, 9, generator=generator)
    grad = torch.randn(7, 9, generator=generator)
    header = snapshot_of({"w": value}, {"w": grad}).header
    fields = entry_of(header, "w")["fields"]
    for field, tensor in (("value", value), ("grad", grad)):
        stats = fields[field]["stats"]
        assert list(stats) == list(STAT_NAMES)
        assert stats == pytest.approx(expected_stats(tensor), rel=1e-5, abs=1e-6), field


def test_stats_leave_out_and_count_non_finite_elements() -> None:
    generator = torch.Generator().manual_seed(1)
    value = torch.randn(50, generator=generator)
    value[[3, 17, 18]] = math.nan
    value[[5, 40]] = math.inf
    value[44] = -math.inf
    snapshot = snapshot_of({"w": value, "dead": torch.full((4,), math.nan)})
    fields = read_fields(snapshot.header, snapshot.data)

    stats = entry_of(snapshot.header, "w")["fields"]["value"]["stats"]
    assert stats["nan"] == 3 and stats["inf"] == 3
    assert all(math.isfinite(stats[name]) for name in ("mean", "std", "min", "max", "norm"))
    assert stats == pytest.approx(expected_stats(value), rel=1e-5, abs=1e-6)
    streamed = fields["w"]["value"]
    assert streamed is not None
    torch.testing.assert_close(streamed, value, equal_nan=True)  # NaN and ±Inf travel as they are

    dead = entry_of(snapshot.header, "dead")["fields"]["value"]["stats"]
    assert dead["nan"] == 4 and dead["inf"] == 0 and math.isnan(dead["mean"])

    # strict JSON: the non-finite numbers go as names, which Number() reads back in a browser
    message = encode_snapshot(snapshot.header, snapshot.data)
    header, _ = decode_snapshot(message)
    text = json.dumps(json_safe(snapshot.header), allow_nan=False)
    json.loads(text, parse_constant=refuse)
    stats_on_wire = entry_of(header, "dead")["fields"]["value"]["stats"]
    assert stats_on_wire["mean"] == "NaN"
    assert stats_on_wire["min"] == "Infinity" and stats_on_wire["max"] == "-Infinity"


def refuse(constant: str) -> Any:
    raise AssertionError(f"{constant} is not JSON")


def test_large_tensors_are_sampled_with_a_histogram() -> None:
    numel = 10_000
    generator = torch.Generator().manual_seed(2)
    noisy = torch.randn(100, 120, generator=generator)
    noisy.view(-1)[[7, 700, 7000, 11_000, 11_999]] = math.nan
    noisy.view(-1)[[1, 2, 3]] = math.inf
    params = {
        "ramp": torch.arange(numel, dtype=torch.float32),  # each element is its own index
        "noisy": noisy,
        "edge": torch.randn(VIEW_LIMIT, generator=generator),  # exactly at the limit: whole
    }
    snapshot = snapshot_of(params)
    floats = as_floats(snapshot.data)
    fields = read_fields(snapshot.header, snapshot.data)

    ramp = entry_of(snapshot.header, "ramp")
    assert ramp["sampled"] is True and ramp["numel"] == numel and ramp["shape"] == [numel]
    indices = fields["ramp"]["value"]
    assert indices is not None and indices.shape == (VIEW_LIMIT,)
    assert indices[0] == 0 and indices[-1] == numel - 1
    assert bool((indices[1:] > indices[:-1]).all())  # evenly spaced, in order, no repeats
    spacing = (numel - 1) / (VIEW_LIMIT - 1)
    assert torch.allclose(indices, torch.arange(VIEW_LIMIT) * spacing, atol=0.5 + 1e-3, rtol=0)

    edge = entry_of(snapshot.header, "edge")
    assert edge["sampled"] is False and edge["fields"]["value"]["histogram"] is None
    whole = fields["edge"]["value"]
    assert whole is not None and torch.equal(whole, params["edge"])

    for name, values in params.items():
        entry = entry_of(snapshot.header, name)
        record = entry["fields"]["value"]
        assert record["stats"] == pytest.approx(expected_stats(values), rel=1e-5, abs=1e-6)
        if not entry["sampled"]:
            continue
        offset, length = record["histogram"]
        assert length == HISTOGRAM_BINS
        counts = floats[offset : offset + length]
        finite = values[torch.isfinite(values)].double().numpy()
        assert counts.sum() == finite.size  # every finite element, none of the others
        reference, _ = np.histogram(finite, bins=HISTOGRAM_BINS, range=(finite.min(), finite.max()))
        assert np.abs(counts - reference).max() <= 2  # bin edges may round the other way


def test_unarmed_steps_take_no_copy() -> None:
    loop, recorder = recorded(CASES[0])
    recorder.arm()
    loop.run_step()
    assert not recorder.armed  # one arm, one capture
    assert recorder.hook_seconds > 0.0
    updates = recorder.updates
    captured = {p: u.clone() for p, u in updates.items()}
    assert set(updates) == {p for _, p in loop.parameters()}

    recorder.hook_seconds = 0.0
    for _ in range(3):
        loop.run_step()
    assert recorder.hook_seconds == 0.0
    assert recorder.updates is updates
    for param, update in updates.items():
        assert torch.equal(update, captured[param])


def test_attach_and_detach_manage_the_hooks() -> None:
    loop, recorder = recorded(CASES[0])
    first = loop.optimizer
    assert len(first._optimizer_step_pre_hooks) == 1
    assert len(first._optimizer_step_post_hooks) == 1
    recorder.arm()
    loop.run_step()
    assert recorder.updates

    second = torch.optim.Adam([p for _, p in loop.parameters()], lr=0.01)
    recorder.attach(second)  # moving to a new optimizer unhooks the old one
    assert not first._optimizer_step_pre_hooks and not first._optimizer_step_post_hooks
    assert len(second._optimizer_step_pre_hooks) == 1
    assert len(second._optimizer_step_post_hooks) == 1
    assert recorder.updates == {}  # updates of the old optimizer are gone

    recorder.detach()
    assert not second._optimizer_step_pre_hooks and not second._optimizer_step_post_hooks
    recorder.arm()
    second.step()
    assert recorder.updates == {}
    recorder.detach()  # twice is harmless
