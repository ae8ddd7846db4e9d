"""The runs list, rename and delete over REST (docs/protocol.md, "REST"): every run with its
name, start, step, latest loss and disk use; names refused with a reason; a deleted run's rows
gone from every table of the history."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.store.history import History
from tests.conftest import Stream, new_run, step_n

TABLES = ("runs", "scalars", "race", "logged", "snapshots", "events")


def ended_run(settings: Settings) -> str:
    """A run of an earlier server process, read from the history alone (no worker to start)."""
    History(settings.database).add_run(
        "ended", "seed-linear", {"experiment": "seed-linear"}, "stopped"
    )
    return "ended"


def rows_of(settings: Settings, run_id: str) -> dict[str, int]:
    with sqlite3.connect(settings.database) as db:
        return {
            table: db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} = ?",
                (run_id,),
            ).fetchone()[0]
            for table in TABLES
        }


def test_the_list_has_every_run_with_its_name_start_steps_loss_and_disk_use(
    client: TestClient, settings: Settings
) -> None:
    before = time.time()
    run_id = new_run(client, experiment="seed-linear")
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, 5)
    # a run of an earlier server process, read back from the history file alone
    History(settings.database).add_run("earlier", "circle", {"experiment": "circle"}, "stopped")
    History(settings.database).append_scalars("earlier", 1, [0.9, 0.7, 0.5])
    listed = {run["id"]: run for run in client.get("/api/runs").json()}
    live, earlier = listed[run_id], listed["earlier"]
    assert live["step"] == 5 and live["loss"] == stream.losses[5]
    assert before <= live["started_at"] <= time.time()
    assert live["name"] is None and live["state"] == "paused"
    assert earlier["step"] == 3 and earlier["loss"] == 0.5 and earlier["experiment"] == "circle"
    # the live run has snapshots and health points besides its 5 losses: it takes more room
    assert live["disk_bytes"] > earlier["disk_bytes"] > 0
    assert client.get(f"/api/runs/{run_id}").json()["disk_bytes"] is None  # the list's only


def test_a_rename_is_kept_and_listed(client: TestClient) -> None:
    run_id = new_run(client)
    renamed = client.patch(f"/api/runs/{run_id}", json={"name": "  lr 0.1, batch 8  "})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "lr 0.1, batch 8"  # the spaces around it dropped
    assert client.get(f"/api/runs/{run_id}").json()["name"] == "lr 0.1, batch 8"
    assert [r["name"] for r in client.get("/api/runs").json()] == ["lr 0.1, batch 8"]
    assert client.patch(f"/api/runs/{run_id}", json={"name": None}).json()["name"] is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": ""}, "at least 1 character"),
        ({"name": "   "}, "not a space"),
        ({"name": "x" * 81}, "at most 80 characters"),
        ({"name": "two\nlines"}, "control characters"),
        ({"name": 12}, "valid string"),
        ({}, "Field required"),
    ],
)
def test_a_bad_name_is_refused_with_a_reason(
    client: TestClient, settings: Settings, body: dict[str, Any], words: str
) -> None:
    run_id = ended_run(settings)
    response = client.patch(f"/api/runs/{run_id}", json=body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "name" and words in problem["msg"], problem
    assert client.get(f"/api/runs/{run_id}").json()["name"] is None


def test_an_unknown_run_is_404_for_rename_delete_and_export(client: TestClient) -> None:
    assert client.patch("/api/runs/nope", json={"name": "x"}).status_code == 404
    assert client.delete("/api/runs/nope").status_code == 404
    assert client.get("/api/runs/nope/export?format=csv").status_code == 404


@pytest.mark.slow  # a worker steps a real run
def test_a_live_run_is_refused_then_deleted_once_stopped(
    client: TestClient, settings: Settings
) -> None:
    run_id = new_run(client, experiment="circle")
    other = new_run(client)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        step_n(client, Stream(ws), run_id, 3)
    refused = client.delete(f"/api/runs/{run_id}")
    assert refused.status_code == 409
    assert refused.json() == {"detail": "cannot delete a run that is paused: stop it first"}
    kept = rows_of(settings, run_id)
    assert kept["scalars"] == 3 and kept["snapshots"] > 0 and kept["events"] > 0
    client.post(f"/api/runs/{run_id}/commands/stop")
    # at once: the delete waits for the worker to hand over its last rows and exit
    response = client.delete(f"/api/runs/{run_id}")
    assert response.status_code == 204 and response.content == b""
    assert rows_of(settings, run_id) == dict.fromkeys(TABLES, 0)
    assert client.get(f"/api/runs/{run_id}").status_code == 404
    assert client.delete(f"/api/runs/{run_id}").status_code == 404
    assert [r["id"] for r in client.get("/api/runs").json()] == [other]


@pytest.mark.slow  # a worker steps a real run
def test_a_deleted_runs_checkpoints_go_too_and_count_in_its_disk_use(
    client: TestClient, settings: Settings
) -> None:
    run_id = new_run(client, experiment="circle")
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        step_n(client, Stream(ws), run_id, 3)
    assert client.post(f"/api/runs/{run_id}/checkpoints").status_code == 201
    folder = settings.checkpoints / run_id
    saved = sum(f.stat().st_size for f in folder.iterdir())
    assert saved > 0
    history_share = History(settings.database).disk_use()[run_id]
    (listed,) = client.get("/api/runs").json()
    assert listed["disk_bytes"] == history_share + saved
    client.post(f"/api/runs/{run_id}/commands/stop")
    assert client.delete(f"/api/runs/{run_id}").status_code == 204
    assert not folder.exists()
