"""Threat: a worker that raises, crashes, is killed for memory or hangs. Its run is marked failed
with the reason; the server and the other runs go on."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.contract.worker import SetOptimizer
from app.engine.optimizers import AdamConfig
from app.main import create_app
from app.runs.manager import RunManager
from app.runs.spawn import send
from app.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path, default_run=False, allowed_hosts=["testserver"], command_timeout=2.0
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def eventually(condition: Callable[[], bool], limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.05)


def ready_run(client: TestClient) -> tuple[str, int]:
    """A run whose worker has built its model; its id and the worker's process id."""
    runs: RunManager = client.app.state.runs  # type: ignore[attr-defined]
    run_id = client.post("/api/runs", json={"steps_per_second": None}).json()["id"]
    eventually(lambda: runs.get(run_id).ready)
    process = runs.get(run_id).process
    assert process is not None and process.pid is not None
    return run_id, process.pid


def failed_reason(client: TestClient, run_id: str) -> str:
    eventually(lambda: client.get(f"/api/runs/{run_id}").json()["state"] == "failed")
    reason: str = client.get(f"/api/runs/{run_id}").json()["reason"]
    return reason


def still_serving(client: TestClient, other: str) -> None:
    """The server answers and another run still trains."""
    assert client.get("/healthz").json()["status"] == "ok"
    before = client.get(f"/api/runs/{other}").json()["step"]
    client.post(f"/api/runs/{other}/commands/step")
    eventually(lambda: client.get(f"/api/runs/{other}").json()["step"] == before + 1)


def test_a_worker_that_raises(client: TestClient) -> None:
    victim, _ = ready_run(client)
    other, _ = ready_run(client)
    runs: RunManager = client.app.state.runs  # type: ignore[attr-defined]
    # A setting the worker cannot carry out (the server would have refused it): torch raises
    # inside the worker process.
    bad = SetOptimizer.model_construct(optimizer=AdamConfig.model_construct(lr=-1.0))
    send(runs.get(victim), bad)
    assert "Invalid learning rate" in failed_reason(client, victim)
    still_serving(client, other)
    # the failure is in the history too
    assert client.get("/api/runs").json()[1]["state"] == "failed"


@pytest.mark.parametrize(
    ("signal_number", "words"),
    [(signal.SIGSEGV, "segmentation fault"), (signal.SIGKILL, "run out of memory")],
)
def test_a_worker_that_crashes_or_is_killed(
    client: TestClient, signal_number: int, words: str
) -> None:
    victim, pid = ready_run(client)
    other, _ = ready_run(client)
    client.post(f"/api/runs/{victim}/commands/start")
    time.sleep(0.3)
    os.kill(pid, signal_number)
    assert words in failed_reason(client, victim)
    still_serving(client, other)
    response = client.post(f"/api/runs/{victim}/commands/start")
    assert response.status_code == 409  # a failed run takes no more commands


def test_a_worker_that_hangs(client: TestClient) -> None:
    victim, pid = ready_run(client)
    other, _ = ready_run(client)
    os.kill(pid, signal.SIGSTOP)  # frozen: it will never answer
    try:
        client.post(f"/api/runs/{victim}/commands/step")
        assert "did not carry out 'step' within 2 s" in failed_reason(client, victim)
        eventually(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid))
    finally:
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGCONT)
    still_serving(client, other)


def test_a_worker_that_hangs_while_running(client: TestClient) -> None:
    victim, pid = ready_run(client)
    client.post(f"/api/runs/{victim}/commands/start")
    time.sleep(0.3)
    os.kill(pid, signal.SIGSTOP)
    try:
        assert "stopped responding" in failed_reason(client, victim)
    finally:
        if os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGCONT)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] in ("Z", "X")
    except FileNotFoundError:
        return True
