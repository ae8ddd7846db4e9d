"""Training health through the server: health points live and from the history, a diverging run
raising the exploding alert without pausing, and the overhead budget setting."""

from __future__ import annotations

import math

import pytest
import torch
from fastapi.testclient import TestClient

from tests.api.test_stream_contract import kinds, validate
from tests.conftest import Stream, new_run
from tests.instrument.decode import as_floats

DIVERGING = {"name": "sgd", "lr": 10, "momentum": 0.9}


def test_health_points_come_with_each_step_and_again_after_a_reconnect(client: TestClient) -> None:
    run_id = new_run(client, optimizer={"name": "adam", "lr": 0.05})
    live = []
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "status" and m["run"]["ready"])
        for step in (1, 2, 3):
            client.post(f"/api/runs/{run_id}/commands/step")
            health = stream.until(lambda m: m["type"] == "health")
            shown = stream.next()  # the snapshot it was made from comes next
            assert shown["type"] == "snapshot" and health["history"] is False
            (point,) = health["points"]
            assert point["step"] == shown["step"] == step
            check_against_snapshot(point, shown, stream.snapshots[-1][1])
            live.append(point)
        for message in stream.events:
            validate(message)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        replay = Stream(ws).drain()
    assert kinds(replay) == ["hello", "scalars", "health", "snapshot"]
    assert replay[2]["history"] is True and replay[2]["points"] == live
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        client.post(f"/api/runs/{run_id}/commands/reset")
        stream.acknowledged("reset")
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        assert "health" not in kinds(Stream(ws).drain())  # a reset clears them with the curve


def check_against_snapshot(point: dict, header: dict, data: memoryview) -> None:
    """The seed's weight (10 elements) travels whole: its histograms are torch.histc of the very
    elements of the snapshot, and its norms torch.linalg.vector_norm of them."""
    floats = as_floats(data)
    weight = next(t for t in header["tensors"] if t["name"] == "weight")
    layer = next(layer for layer in point["layers"] if layer["tensor"] == "weight")
    assert [d["field"] for d in layer["distributions"]] == [
        "value", "grad", "update", "state.exp_avg", "state.exp_avg_sq",
    ]  # fmt: skip
    values = {}
    for distribution in layer["distributions"]:
        offset, length = weight["fields"][distribution["field"]]["view"]
        elements = torch.from_numpy(floats[offset : offset + length].copy())
        values[distribution["field"]] = elements
        low, high = elements.min().item(), elements.max().item()
        assert (distribution["low"], distribution["high"]) == (low, high)
        assert distribution["counts"] == torch.histc(elements, 64, low, high).int().tolist()
    norm = torch.linalg.vector_norm
    assert layer["value_norm"] == pytest.approx(norm(values["value"]).item(), rel=1e-5)
    assert layer["grad_norm"] == pytest.approx(norm(values["grad"]).item(), rel=1e-5)
    ratio = (norm(values["update"]) / norm(values["value"])).item()
    assert layer["update_ratio"] == pytest.approx(ratio, rel=1e-5)
    assert point["units"] == []  # Linear(10, 1) has no ReLU


def test_a_diverging_run_raises_exploding_before_any_nan_and_goes_on(client: TestClient) -> None:
    # seed-linear under SGD at lr 10: each step multiplies the gradient norm many times over,
    # so by the sixth point it is far past 10x the median of the five before
    run_id = new_run(client, optimizer=DIVERGING)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "status" and m["run"]["ready"])
        norms = []
        for _ in range(8):
            client.post(f"/api/runs/{run_id}/commands/step")
            health = stream.until(lambda m: m["type"] == "health")
            norms.append(health["points"][0]["grad_norm"])
            stream.acknowledged("step")
        alerts = [m for m in stream.events if m["type"] == "alert"]
    assert all(math.isfinite(norm) for norm in norms)
    assert [(a["kind"], a["tensor"], a["step"], a["paused"]) for a in alerts] == [
        ("exploding", "all parameters", 6, False)
    ]
    median = sorted(norms[:5])[2]
    assert norms[5] > 10 * median
    assert alerts[0]["detail"].startswith(f"the gradient norm {norms[5]:.3g} is ")
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "paused"  # by the step commands
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        replay = Stream(ws).drain()
    assert [m for m in replay if m["type"] == "alert"] == [{**alerts[0], "history": True}]


def test_the_budget_is_a_setting_of_the_live_run(client: TestClient) -> None:
    run_id = new_run(client)
    assert client.get(f"/api/runs/{run_id}").json()["instrumentation"] == {"budget": 0.05}
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        stream.until(lambda m: m["type"] == "status" and m["run"]["ready"])
        changed = client.put(f"/api/runs/{run_id}/instrumentation", json={"budget": 0.2})
        assert changed.status_code == 200 and changed.json()["instrumentation"] == {"budget": 0.2}
        status = stream.until(lambda m: m["type"] == "status")
        assert status["run"]["instrumentation"] == {"budget": 0.2}
        client.post(f"/api/runs/{run_id}/commands/step")
        health = stream.until(lambda m: m["type"] == "health")
        assert health["points"][0]["overhead"]["budget"] == 0.2
        # kept across a reset, like the alerts switch
        client.post(f"/api/runs/{run_id}/commands/reset")
        stream.acknowledged("reset")
        client.post(f"/api/runs/{run_id}/commands/step")
        health = stream.until(lambda m: m["type"] == "health")
        assert health["points"][0]["overhead"]["budget"] == 0.2
    for hostile in (0, 0.004, 0.51, -1, 1e308, "x", None, [0.1], "NaN", "Infinity"):
        refused = client.put(f"/api/runs/{run_id}/instrumentation", json={"budget": hostile})
        assert refused.status_code == 422, hostile
        (problem,) = refused.json()["detail"]
        assert problem["field"] == "budget" and problem["msg"], hostile
    assert client.get(f"/api/runs/{run_id}").json()["instrumentation"] == {"budget": 0.2}
    too_small = client.put(f"/api/runs/{run_id}/instrumentation", json={"budget": 0.001})
    assert too_small.json()["detail"][0]["msg"] == "Input should be greater than or equal to 0.005"
    assert client.put("/api/runs/nope/instrumentation", json={"budget": 0.1}).status_code == 404
