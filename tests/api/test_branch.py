"""Rewind and branch over REST (issue 12): a branch goes on from its parent's step exactly as the
parent did, or with a new learning rate exactly as a hand-written torch loop does."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from app.engine.experiments import ExperimentConfig
from app.settings import Settings
from tests.engine.oracle import Oracle

PARENT = {
    "experiment": "seed-linear",
    "steps_per_second": None,
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
}
FORK, END = 5, 12

pytestmark = pytest.mark.slow  # each spawns two workers: ~7 s


def wait_for(client: TestClient, run_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run: dict[str, Any] = client.get(f"/api/runs/{run_id}").json()
        if done(run):
            return run
        assert time.monotonic() < deadline, f"the run never got there: {run}"
        time.sleep(0.02)


def step_to(client: TestClient, run_id: str, step: int) -> None:
    wait_for(client, run_id, lambda run: run["ready"])
    now = client.get(f"/api/runs/{run_id}").json()["step"]
    for _ in range(step - now):
        assert client.post(f"/api/runs/{run_id}/commands/step").status_code == 200
    wait_for(client, run_id, lambda run: run["step"] == step)


def losses(client: TestClient, run_id: str) -> list[float]:
    found: list[float] = client.get(f"/api/runs/{run_id}/scalars").json()["loss"]
    return found


def saved_state(client: TestClient, settings: Settings, run_id: str) -> dict[str, Any]:
    """A checkpoint of the run now, read back from its file."""
    response = client.post(f"/api/runs/{run_id}/checkpoints")
    assert response.status_code == 201, response.text
    step = response.json()["step"]
    path = settings.checkpoints / run_id / f"step-{step:012d}.pt"
    state: dict[str, Any] = torch.load(path, weights_only=True)
    return state


@pytest.fixture
def parent(client: TestClient) -> str:
    response = client.post("/api/runs", json=PARENT)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    step_to(client, run_id, END)
    return run_id


def branch(client: TestClient, run_id: str, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/runs/{run_id}/branch", json=body)
    assert response.status_code == 201, response.text
    child: dict[str, Any] = response.json()
    return child


def test_a_branch_with_the_same_settings_retraces_its_parent_bit_for_bit(
    client: TestClient, settings: Settings, parent: str
) -> None:
    child = branch(client, parent, step=FORK)
    assert child["branch"] == {"run": parent, "step": FORK}
    assert child["step"] == FORK and child["id"] != parent
    step_to(client, child["id"], END)
    expected, found = losses(client, parent), losses(client, child["id"])
    assert len(found) == END
    assert found == expected  # the parent's up to the fork (copied), then its own: the same
    mine, theirs = saved_state(client, settings, child["id"]), saved_state(client, settings, parent)
    for name, tensor in theirs["model"].items():
        assert torch.equal(mine["model"][name], tensor), name
    for index, kept in theirs["optimizer"]["torch"]["state"].items():
        for key, tensor in kept.items():
            assert torch.equal(mine["optimizer"]["torch"]["state"][index][key], tensor), key
    assert torch.equal(mine["rng"]["torch"], theirs["rng"]["torch"])
    # the parent knows its branch
    assert client.get(f"/api/runs/{parent}").json()["branches"] == [
        {"run": child["id"], "step": FORK}
    ]
    lineage = client.get(f"/api/runs/{parent}/branches").json()
    assert lineage["children"] == [{"run": child["id"], "step": FORK}]
    assert lineage["kept"] == [0, END]


def test_a_branch_with_a_new_lr_is_the_hand_written_loop_with_that_lr(
    client: TestClient, parent: str
) -> None:
    new = {"name": "sgd", "lr": 0.01, "momentum": 0.9}
    child = branch(client, parent, step=FORK, optimizer=new)
    step_to(client, child["id"], END)
    # by hand: torch.optim.SGD from the seed for FORK steps, then lr 0.01 in its param_groups
    # (momentum buffers kept, as in any training script), to END
    oracle = Oracle(ExperimentConfig.model_validate(PARENT), torch.optim.SGD, lr=0.05, momentum=0.9)
    expected = oracle.losses(FORK)
    for group in oracle.optimizer.param_groups:
        group["lr"] = 0.01
    expected += oracle.losses(END - FORK)
    assert losses(client, child["id"]) == expected
    assert losses(client, parent)[FORK:] != expected[FORK:]  # the lr changed something
    run = client.get(f"/api/runs/{child['id']}").json()
    assert run["config"]["optimizer"]["lr"] == 0.01


def test_a_step_with_no_state_is_refused_with_the_steps_there_are(
    client: TestClient, parent: str
) -> None:
    response = client.post(f"/api/runs/{parent}/branch", json={"step": END + 3})
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["field"] == "step"
    assert f"the run is at step {END}" in problem["msg"]
    unknown = client.post("/api/runs/nope/branch", json={"step": 1})
    assert unknown.status_code == 404


def test_a_stopped_run_branches_from_its_checkpoints_only(client: TestClient) -> None:
    response = client.post("/api/runs", json=PARENT)
    parent = response.json()["id"]
    step_to(client, parent, 8)
    assert client.post(f"/api/runs/{parent}/commands/stop").status_code == 200
    wait_for(client, parent, lambda run: run["state"] == "stopped" and run["checkpoint"])
    # no worker keeps its latest steps now: step 5 is nowhere, step 8 is on disk (saved at stop)
    refused = client.post(f"/api/runs/{parent}/branch", json={"step": 5})
    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert "no live worker" in problem["msg"] and "checkpoints are of steps 8" in problem["msg"]
    child = branch(client, parent, step=8)
    step_to(client, child["id"], END)
    oracle = Oracle(ExperimentConfig.model_validate(PARENT), torch.optim.SGD, lr=0.05, momentum=0.9)
    assert losses(client, child["id"]) == oracle.losses(END)
    lineage = client.get(f"/api/runs/{child['id']}/branches").json()
    assert lineage["parent"] == {"run": parent, "step": 8}


def test_pages_asking_for_a_live_runs_branches_at_once_all_get_the_answer(
    client: TestClient, parent: str
) -> None:
    """Each GET …/branches of a live run asks its worker which steps it keeps; several pages
    asking at once share one answer (each used to replace the last one's: a 409 after 15 s)."""
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.get(f"/api/runs/{parent}/branches"), range(8)))
    assert [answer.status_code for answer in answers] == [200] * 8
    kept = {str(answer.json()["kept"]) for answer in answers}
    assert len(kept) == 1 and "None" not in kept


def test_a_branch_refused_for_want_of_room_leaves_no_checkpoint_behind(
    settings: Settings, parent: str, client: TestClient
) -> None:
    """At the cap of live runs a branch is refused (429), and the checkpoint it was to start from,
    written under the new run's id, goes too: no file of a run that never was."""
    for _ in range(settings.max_runs - 1):
        assert client.post("/api/runs", json={"steps_per_second": None}).status_code == 201
    kept = settings.data_dir / "checkpoints"
    folders = {path.name for path in kept.glob("*")}
    refused = client.post(f"/api/runs/{parent}/branch", json={"step": FORK})
    assert refused.status_code == 429, refused.text
    assert {path.name for path in kept.glob("*") if any(path.iterdir())} <= folders
