"""The NaN/Inf alert through the server: a diverging run pauses itself, the stream says why and
where, a reload replays the alert, and the switch turns it off."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient

from tests.api.test_stream_contract import kinds, validate
from tests.conftest import Stream, new_run

DIVERGING = {"name": "sgd", "lr": 10, "momentum": 0.9}


def test_a_diverging_run_pauses_itself_at_its_first_non_finite_value(client: TestClient) -> None:
    run_id = new_run(client, optimizer=DIVERGING)
    assert client.get(f"/api/runs/{run_id}").json()["alerts"] == {"nonfinite": True}
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        client.post(f"/api/runs/{run_id}/commands/start")
        alert = stream.until(lambda m: m["type"] == "alert")
        paused = stream.next()
        health = stream.next()
        shown = stream.next()
        after = stream.drain()
    for message in [alert, paused, health, shown, *after]:
        validate(message)
    assert alert["kind"] == "nonfinite" and alert["paused"] is True
    # seed-linear at lr 10: the squared error overflows first, while the parameters, and so
    # the predictions, are still finite
    assert (alert["tensor"], alert["phase"]) == ("loss", "loss")
    assert paused["run"]["state"] == "paused" and paused["acknowledged"] is None
    assert paused["run"]["reason"] == (
        f"alert: the loss is Infinity, after the loss phase of step {alert['step']}"
    )
    assert alert["detail"] == "the loss is Infinity"
    # every loss before the alert's step came, all finite; none of its step or after
    assert sorted(stream.losses) == list(range(1, alert["step"]))
    assert all(math.isfinite(loss) for loss in stream.losses.values())
    # then the health point and snapshot of where it stopped, and nothing else
    assert (health["type"], health["points"][-1]["step"]) == ("health", alert["step"] - 1)
    assert (shown["type"], shown["step"], shown["phase"]) == ("snapshot", alert["step"] - 1, "loss")
    assert shown["loss"] == "Infinity" and after == []
    run = client.get(f"/api/runs/{run_id}").json()
    assert (run["state"], run["step"], run["phase"]) == ("paused", alert["step"] - 1, "loss")
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        replay = Stream(ws).drain()
    assert kinds(replay) == ["hello", "scalars", "alert", "health", "snapshot"]
    assert replay[2] == {**alert, "history": True}


def test_with_the_alert_switched_off_nan_streams_as_data(client: TestClient) -> None:
    run_id = new_run(client, optimizer=DIVERGING)
    switched = client.put(f"/api/runs/{run_id}/alerts", json={"nonfinite": False})
    assert switched.status_code == 200 and switched.json()["alerts"] == {"nonfinite": False}
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        client.post(f"/api/runs/{run_id}/commands/start")
        stream.until(lambda m: m["type"] == "scalars" and "NaN" in m["loss"])
        client.post(f"/api/runs/{run_id}/commands/pause")
        stream.acknowledged("pause")
    assert "alert" not in kinds(stream.events)
    assert client.put(f"/api/runs/{run_id}/alerts", json={"nonfinite": "x"}).status_code == 422
