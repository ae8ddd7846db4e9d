"""The REST API and the stream, driven through the real app (lifespan, worker processes, SQLite)."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.engine.experiments import ExperimentConfig
from app.settings import Settings
from tests.conftest import Stream, new_run, step_n
from tests.engine.oracle import run_oracle


def field(header: dict[str, Any], data: Any, tensor: str, name: str) -> torch.Tensor:
    entry = next(t for t in header["tensors"] if t["name"] == tensor)
    offset, length = entry["fields"][name]["view"]
    values = np.asarray(data[offset : offset + length], dtype=np.float32)
    return torch.from_numpy(values.copy()).reshape(entry["shape"])


def test_healthz_and_catalogue(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    names = [o["name"] for o in client.get("/api/optimizers").json()]
    assert {"sgd", "adam", "rmsprop"} <= set(names)
    sgd = next(o for o in client.get("/api/optimizers").json() if o["name"] == "sgd")
    lr = next(h for h in sgd["hyperparameters"] if h["name"] == "lr")
    assert lr["minimum"] == 0 and lr["exclusive_minimum"] and lr["maximum"] == 10
    experiments = client.get("/api/experiments").json()
    assert experiments[0]["title"] == "Seed: Linear(10, 1)"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/runs/{run_id}/commands/{command}" in paths


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        ({"optimizer": {"name": "sgd", "lr": -1}}, "greater than 0"),
        ({"optimizer": {"name": "sgd", "lr": "NaN"}}, "finite number"),
        ({"optimizer": {"name": "lion"}}, "does not match any of the expected tags"),
        ({"batch_size": 0}, "greater than or equal to 1"),
        ({"model_path": "/etc/passwd"}, "Extra inputs are not permitted"),
        ({"optimizer": {"name": "sgd", "nesterov": True, "momentum": 0}}, "nesterov"),
    ],
)
def test_bad_config_is_refused_with_a_message(
    client: TestClient, config: dict[str, Any], complaint: str
) -> None:
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422
    assert complaint in response.text


def test_bad_command_unknown_run_and_illegal_transition(client: TestClient) -> None:
    run_id = new_run(client)
    response = client.post(f"/api/runs/{run_id}/commands/explode")
    assert response.status_code == 422 and "start" in response.text
    assert client.post("/api/runs/nope/commands/start").status_code == 404
    response = client.post(f"/api/runs/{run_id}/commands/pause")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "cannot pause a run that is idle; pause needs one of: running"
    )


def test_start_streams_frames_and_pause_stops_them(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        hello = stream.next()
        assert hello["type"] == "hello" and hello["protocol"] == 1
        assert client.post(f"/api/runs/{run_id}/commands/start").json()["state"] == "running"
        stream.until(lambda m: m["type"] == "scalars" and m["first_step"] + len(m["loss"]) > 200)
        stream.until(lambda m: m["type"] == "snapshot")
        client.post(f"/api/runs/{run_id}/commands/pause")
        paused_at = stream.acknowledged("pause")["run"]["step"]
        assert max(stream.losses) == paused_at
        time.sleep(1.0)
        later = stream.drain()
        assert not [m for m in later if m["type"] == "scalars"]
        assert client.get(f"/api/runs/{run_id}").json()["step"] == paused_at
        # every step's loss arrived, in order, none missing
        assert sorted(stream.losses) == list(range(1, paused_at + 1))
        losses = [stream.losses[s] for s in range(1, paused_at + 1)]
        assert all(math.isfinite(x) for x in losses)
        assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 10


def test_step_advances_exactly_one_and_reset_returns_to_zero(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 3)
        assert sorted(stream.losses) == [1, 2, 3]
        assert (
            client.get(f"/api/runs/{run_id}").json() | {"step": 3}
            == client.get(f"/api/runs/{run_id}").json()
        )
        first = dict(stream.losses)
        client.post(f"/api/runs/{run_id}/commands/reset")
        status = stream.acknowledged("reset")
        assert status["run"]["step"] == 0 and status["run"]["state"] == "idle"
        assert any(m["type"] == "reset" for m in stream.events)
        stream.losses.clear()
        step_n(client, stream, run_id, 3)
        assert stream.losses == first  # the same seed gives the same curve again


@pytest.mark.parametrize(
    ("optimizer", "torch_class", "hyperparameters"),
    [
        ({"name": "sgd", "lr": 0.05, "momentum": 0.0}, torch.optim.SGD, {"lr": 0.05}),
        (
            {"name": "sgd", "lr": 0.05, "momentum": 0.9},
            torch.optim.SGD,
            {"lr": 0.05, "momentum": 0.9},
        ),
        ({"name": "adam", "lr": 0.05}, torch.optim.Adam, {"lr": 0.05}),
        (
            {"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": True},
            torch.optim.RMSprop,
            {"lr": 0.01, "momentum": 0.5, "centered": True},
        ),
    ],
)
def test_streamed_numbers_match_a_hand_written_loop(
    client: TestClient,
    optimizer: dict[str, Any],
    torch_class: type[torch.optim.Optimizer],
    hyperparameters: dict[str, Any],
) -> None:
    steps = 7
    run_id = new_run(client, optimizer=optimizer)
    oracle = run_oracle(ExperimentConfig(), torch_class, steps, **hyperparameters)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, steps)
    assert [stream.losses[s] for s in range(1, steps + 1)] == pytest.approx(
        [o.loss for o in oracle], rel=1e-6
    )
    header, data = stream.snapshots[-1]
    assert header["step"] == steps
    last = oracle[-1]
    for name in ("weight", "bias"):
        close = {"rtol": 1e-6, "atol": 1e-6}
        torch.testing.assert_close(field(header, data, name, "value"), last.after[name], **close)
        torch.testing.assert_close(field(header, data, name, "grad"), last.grad[name], **close)
        update = field(header, data, name, "update")
        torch.testing.assert_close(update, last.after[name] - last.before[name], **close)
        if optimizer == {"name": "sgd", "lr": 0.05, "momentum": 0.0}:
            torch.testing.assert_close(update, -0.05 * last.grad[name], **close)
        for key, expected in last.state.get(name, {}).items():
            entry = next(t for t in header["tensors"] if t["name"] == name)
            if expected is None:  # plain SGD's momentum_buffer: nothing to stream
                assert f"state.{key}" not in entry["fields"]
            elif expected.shape == last.after[name].shape:
                torch.testing.assert_close(
                    field(header, data, name, f"state.{key}"), expected, **close
                )
            else:
                assert entry["state_scalars"][key] == pytest.approx(float(expected))


def test_two_clients_see_the_same_stream(client: TestClient) -> None:
    run_id = new_run(client)
    with (
        client.websocket_connect(f"/ws/runs/{run_id}") as ws_a,
        client.websocket_connect(f"/ws/runs/{run_id}") as ws_b,
    ):
        a, b = Stream(ws_a), Stream(ws_b)
        client.post(f"/api/runs/{run_id}/commands/start")  # pressed in "one tab"
        for stream in (a, b):
            stream.until(lambda m: m["type"] == "status" and m["run"]["state"] == "running")
        a.until(lambda m: m["type"] == "scalars" and m["first_step"] + len(m["loss"]) > 50)
        client.post(f"/api/runs/{run_id}/commands/pause")
        for stream in (a, b):
            stream.acknowledged("pause")
        assert a.losses == b.losses and len(a.losses) > 0


def test_late_client_gets_the_history_then_live(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        step_n(client, Stream(ws), run_id, 5)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        late = Stream(ws)
        assert late.next()["type"] == "hello"
        history = late.next()
        assert history["type"] == "scalars" and history["first_step"] == 1
        assert len(history["loss"]) == 5
        health = late.next()  # the health points of the five steps
        assert [point["step"] for point in health["points"]] == [1, 2, 3, 4, 5]
        assert late.next()["type"] == "snapshot"  # the latest state, straight away


def test_optimizer_change_live(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 2)
        response = client.put(f"/api/runs/{run_id}/optimizer", json={"name": "sgd", "lr": 0.2})
        assert response.status_code == 200 and response.json()["config"]["optimizer"]["lr"] == 0.2
        event = stream.until(lambda m: m["type"] == "optimizer")
        assert event["fresh"] is False and event["step"] == 2
        assert (event["previous"]["lr"], event["optimizer"]["lr"]) == (0.01, 0.2)  # what changed
        client.put(f"/api/runs/{run_id}/optimizer", json={"name": "adam"})
        event = stream.until(lambda m: m["type"] == "optimizer")
        assert event["fresh"] is True and event["optimizer"]["name"] == "adam"
        assert event["previous"]["name"] == "sgd"
        client.post(f"/api/runs/{run_id}/commands/step")
        stream.until(lambda m: m["type"] == "snapshot" and m["step"] == 3)
        header = stream.snapshots[-1][0]
        assert header["optimizer"]["name"] == "adam"
        weight = next(t for t in header["tensors"] if t["name"] == "weight")
        assert "state.exp_avg" in weight["fields"] and weight["state_scalars"]["step"] == 1
        bad = client.put(f"/api/runs/{run_id}/optimizer", json={"name": "adam", "lr": 0})
        assert bad.status_code == 422
    # the marks replay from the history with what each one replaced
    marks = client.get(f"/api/runs/{run_id}/scalars").json()["events"]
    assert [(m["previous"]["name"], m["optimizer"]["name"]) for m in marks] == [
        ("sgd", "sgd"),
        ("sgd", "adam"),
    ]


def test_an_accepted_optimizer_change_is_kept_at_once(settings: Settings) -> None:
    """The stored config is the accepted one even if the server stops before the worker reports
    the change: "a new run with the same configuration" must not get the old optimizer."""
    from app.main import create_app

    with TestClient(create_app(settings)) as client:
        run_id = new_run(client)
        client.put(f"/api/runs/{run_id}/optimizer", json={"name": "sgd", "lr": 0.3})
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/api/runs/{run_id}").json()["config"]["optimizer"]["lr"] == 0.3


def test_divergence_streams_nan_and_inf_without_breaking(client: TestClient) -> None:
    run_id = new_run(client, optimizer={"name": "sgd", "lr": 10, "momentum": 0.9})
    # the NaN/Inf alert would pause it at the first Inf (tests/api/test_alerts.py)
    client.put(f"/api/runs/{run_id}/alerts", json={"nonfinite": False})
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        client.post(f"/api/runs/{run_id}/commands/start")
        stream.until(lambda m: m["type"] == "scalars" and "NaN" in m["loss"])
        stream.until(lambda m: m["type"] == "snapshot" and m["loss"] == "NaN")
        header, _ = stream.snapshots[-1]
        weight = next(t for t in header["tensors"] if t["name"] == "weight")
        assert (
            weight["fields"]["value"]["stats"]["nan"] + weight["fields"]["value"]["stats"]["inf"]
            > 0
        )
        client.post(f"/api/runs/{run_id}/commands/pause")
        stream.acknowledged("pause")
    assert client.get("/healthz").json()["status"] == "ok"
    exported = client.get(f"/api/runs/{run_id}/scalars").json()
    assert "NaN" in exported["loss"]


def test_websocket_answers_bad_messages_and_unknown_runs(client: TestClient) -> None:
    run_id = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        ws.send_text("not json")
        assert stream.until(lambda m: m["type"] == "error")["message"].startswith("unknown message")
        ws.send_text("x" * 10_000)
        assert "under 4096 bytes" in stream.until(lambda m: m["type"] == "error")["message"]
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/runs/nope") as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 4404


def test_history_survives_a_server_restart(settings: Settings) -> None:
    from app.main import create_app

    with TestClient(create_app(settings)) as client:
        run_id = new_run(client)
        with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
            step_n(client, Stream(ws), run_id, 4)
    with TestClient(create_app(settings)) as client:
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["state"] == "stopped" and run["step"] == 4
        with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
            stream = Stream(ws)
            stream.next()
            assert len(stream.next()["loss"]) == 4
