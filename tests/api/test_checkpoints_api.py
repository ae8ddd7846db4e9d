"""Checkpoints over REST and Start as resume, in one server process (the kill -9 test restarts a
real one: tests/runs/test_kill9.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Stream, step_n


def wait_for(client: TestClient, run_id: str, check: Any, limit: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while not check(run := client.get(f"/api/runs/{run_id}").json()):
        assert time.monotonic() < deadline, run
        time.sleep(0.02)
    found: dict[str, Any] = run
    return found


def losses(client: TestClient, run_id: str) -> list[float]:
    found: list[float] = client.get(f"/api/runs/{run_id}/scalars").json()["loss"]
    return found


def test_save_on_demand_and_refusals(client: TestClient) -> None:
    run_id = client.post("/api/runs", json={"steps_per_second": None}).json()["id"]
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 3)
        saved = client.post(f"/api/runs/{run_id}/checkpoints")
        assert saved.status_code == 201, saved.text
        assert saved.json()["step"] == 3 and saved.json()["why"] == "demand"
        assert saved.json()["bytes"] > 1000
        assert client.get(f"/api/runs/{run_id}").json()["checkpoint"]["step"] == 3
        # in the middle of a step there is no step boundary to keep
        client.post(f"/api/runs/{run_id}/commands/phase")
        stream.acknowledged("phase")
        refused = client.post(f"/api/runs/{run_id}/checkpoints")
        assert refused.status_code == 409
        assert "in the middle of step 4" in refused.json()["detail"]
        listed = client.get(f"/api/runs/{run_id}/checkpoints").json()
        assert [c["step"] for c in listed] == [3]
        # a reset starts from the seed again: the checkpoints of the old steps go
        client.post(f"/api/runs/{run_id}/commands/reset")
        stream.acknowledged("reset")
        assert client.get(f"/api/runs/{run_id}/checkpoints").json() == []
    assert client.post("/api/runs/nope/checkpoints").status_code == 404


@pytest.mark.slow
def test_pause_and_stop_save_and_start_continues_a_stopped_run(client: TestClient) -> None:
    run_id = client.post("/api/runs", json={"steps_per_second": None}).json()["id"]
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 4)
        client.post(f"/api/runs/{run_id}/commands/start")
        wait_for(client, run_id, lambda run: run["step"] > 50)
        client.post(f"/api/runs/{run_id}/commands/pause")
        stream.acknowledged("pause")
        paused = client.get(f"/api/runs/{run_id}").json()
        assert paused["checkpoint"]["step"] == paused["step"]
        assert paused["checkpoint"]["why"] == "pause"
        for _ in range(3):
            client.post(f"/api/runs/{run_id}/commands/step")
        client.post(f"/api/runs/{run_id}/commands/stop")
        stopped = wait_for(client, run_id, lambda run: run["checkpoint"]["why"] == "stop")
    assert stopped["state"] == "stopped"
    at = stopped["checkpoint"]["step"]
    assert at == paused["step"] + 3
    before = losses(client, run_id)
    assert len(before) == at
    # not live: no checkpoint on demand
    assert client.post(f"/api/runs/{run_id}/checkpoints").status_code == 409

    started = client.post(f"/api/runs/{run_id}/commands/start")
    assert started.status_code == 200, started.text
    assert (started.json()["state"], started.json()["step"]) == ("running", at)
    wait_for(client, run_id, lambda run: run["step"] > at + 20)
    client.post(f"/api/runs/{run_id}/commands/pause")
    after = losses(client, run_id)
    assert after[:at] == before and len(after) > at + 20


@pytest.mark.slow
def test_start_after_a_crash_goes_back_to_the_checkpoint_and_trains_the_same_steps(
    client: TestClient,
) -> None:
    """Steps recorded after the latest checkpoint are cut back and trained again: the same
    losses come, and the curve has each step once."""
    run_id = client.post("/api/runs", json={"steps_per_second": None}).json()["id"]
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 5)
        assert client.post(f"/api/runs/{run_id}/checkpoints").json()["step"] == 5
        for _ in range(4):
            client.post(f"/api/runs/{run_id}/commands/step")
        stream.until(lambda m: m["type"] == "status" and m["run"]["step"] == 9)
        recorded = losses(client, run_id)
        assert len(recorded) == 9
        manager = client.app.state.runs  # type: ignore[attr-defined]
        manager.get(run_id).process.kill()  # the worker dies: no stop, no save
        failed = wait_for(client, run_id, lambda run: run["state"] == "failed")
    assert failed["checkpoint"]["step"] == 5

    started = client.post(f"/api/runs/{run_id}/commands/start").json()
    assert (started["state"], started["step"]) == ("running", 5)
    assert losses(client, run_id) == recorded[:5]
    wait_for(client, run_id, lambda run: run["step"] >= 12)
    client.post(f"/api/runs/{run_id}/commands/pause")
    again = losses(client, run_id)
    assert again[:9] == recorded  # bit for bit the same losses for steps 6..9


def test_start_on_a_run_whose_checkpoint_is_unreadable_is_refused_with_the_reason(
    client: TestClient,
) -> None:
    run_id = client.post("/api/runs", json={"steps_per_second": None}).json()["id"]
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        step_n(client, Stream(ws), run_id, 2)
        client.post(f"/api/runs/{run_id}/commands/stop")
        wait_for(client, run_id, lambda run: (run["checkpoint"] or {}).get("why") == "stop")
    folder = client.app.state.settings.data_dir / "checkpoints" / run_id  # type: ignore[attr-defined]
    for saved in folder.glob("*.pt"):
        saved.write_bytes(b"not a checkpoint")  # a disk that lost it, or a hand edit
    started = client.post(f"/api/runs/{run_id}/commands/start")
    assert started.status_code == 409, started.text
    assert "cannot be read" in started.json()["detail"]
    assert client.get(f"/api/runs/{run_id}").json()["state"] == "stopped"
