"""A real server process and a real training script in its own process (tests/attach/scripts/
train.py), steered as the page steers it: through the REST API."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.attach.live import RunStream
from tests.support import Server, call, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "scripts" / "train.py"
ADAM = {
    "name": "adam",
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
    "amsgrad": False,
}


class Script:
    """tests/attach/scripts/train.py as its own process; its stdout lines are read as they come."""

    def __init__(self, out: Path, *args: str) -> None:
        self.out = out
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--out", str(out), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.err = ""
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_out(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.strip())
                self._changed.notify_all()

    def _read_err(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.err += line
                self._changed.notify_all()

    def steps(self) -> list[tuple[int, float, float]]:
        """(step, loss, lr) of every step printed so far."""
        with self._changed:
            rows = [line.split() for line in self.lines if line.startswith("step ")]
        return [(int(n), float(loss), float(lr)) for _, n, loss, lr in rows]

    def count(self) -> int:
        found = self.steps()
        return found[-1][0] if found else 0

    def wait_for(self, condition: Callable[[], Any], limit: float = 60.0) -> Any:
        deadline = time.monotonic() + limit
        with self._changed:
            while not (found := condition()):
                assert self.process.poll() is None or self._readers[0].is_alive(), (
                    f"the script ended: {self.err}"
                )
                left = deadline - time.monotonic()
                assert left > 0, f"the condition never held; stderr: {self.err}"
                self._changed.wait(min(left, 0.5))
            return found

    def finish(self, limit: float = 120.0) -> dict[str, torch.Tensor]:
        assert self.process.wait(timeout=limit) == 0, self.err
        for reader in self._readers:
            reader.join(timeout=10)
        assert self.lines[-1] == "done"
        state: dict[str, torch.Tensor] = torch.load(self.out)
        return state

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data", free_port(), env={"STEPSCOPE_DEFAULT_RUN": "false"})
    running.start()
    yield running
    running.stop()


@pytest.fixture
def scripts(tmp_path: Path) -> Iterator[Callable[..., Script]]:
    started: list[Script] = []

    def start(*args: str) -> Script:
        script = Script(tmp_path / f"final-{len(started)}.pt", *args)
        started.append(script)
        return script

    yield start
    for script in started:
        script.kill()


def run_of(server: Server, script: Script) -> str:
    """The id of the script's run, found by its process id as the page's list shows it."""

    def found() -> str | None:
        for run in call(server, "api/runs"):
            attached = run.get("attached")
            if attached and attached["process"]["pid"] == script.process.pid:
                return str(run["id"])
        return None

    return str(wait(found))


def wait(condition: Callable[[], Any], limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while not (found := condition()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)
    return found


def state_of(server: Server, run_id: str, state: str) -> dict[str, Any]:
    return dict(wait(lambda: (run := call(server, f"api/runs/{run_id}"))["state"] == state and run))


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_pause_holds_the_loop_step_lets_one_through_and_an_lr_edit_lands_first(
    server: Server, scripts: Callable[..., Script]
) -> None:
    script = scripts("--attach", "--server", server.url, "--steps", "1000000")
    run_id = run_of(server, script)
    acks = RunStream(server, run_id)
    script.wait_for(lambda: script.count() >= 20)
    call(server, f"api/runs/{run_id}/commands/pause", "POST")
    k = acks.acked("pause")
    # held inside its next step(): the script has printed exactly the acknowledged steps
    assert script.wait_for(lambda: script.count() >= k) and script.count() == k
    # an edit while held, as the page sends it: the whole config, one field changed
    edited = call(server, f"api/runs/{run_id}/optimizer", "PUT", {**ADAM, "lr": 0.001})
    assert edited["attached"]["optimizer"]["config"]["lr"] == 0.001
    for n in (1, 2):
        call(server, f"api/runs/{run_id}/commands/step", "POST")
        assert acks.acked("step") == k + n
        script.wait_for(lambda n=n: script.count() >= k + n)
    # two round trips later the loop has still taken exactly two steps: it is held
    steps = script.steps()
    assert steps[-1][0] == k + 2, "the loop ran past a step command"
    assert [lr for _, _, lr in steps[-3:]] == [0.01, 0.001, 0.001]  # step k+1 ran with the edit
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    script.wait_for(lambda: script.count() > k + 10)
    call(server, f"api/runs/{run_id}/commands/stop", "POST")
    stopped = state_of(server, run_id, "stopped")
    assert "unobserved" in (stopped["reason"] or "")
    script.wait_for(lambda: script.count() > stopped["step"] + 100)  # it trains on
    acks.close()
    script.kill()


def test_every_logged_loss_arrives_once_in_order_and_the_parameters_are_bit_for_bit(
    server: Server, scripts: Callable[..., Script]
) -> None:
    attached = scripts("--attach", "--server", server.url, "--steps", "3000")
    run_id = run_of(server, attached)
    final = attached.finish()
    stopped = state_of(server, run_id, "stopped")
    assert stopped["reason"] == "the script closed its watch at step 3000"
    # the server closes the connection as soon as it has the Detach: no false alarm for that
    assert "lost the server" not in attached.err, attached.err
    exported = call(server, f"api/runs/{run_id}/scalars")
    assert exported["first_step"] == 1
    assert exported["loss"] == [loss for _, loss, _ in attached.steps()]
    bare = scripts("--steps", "3000")
    assert_same(final, bare.finish())


def test_killing_the_server_mid_run_leaves_the_training_as_it_would_be(
    server: Server, scripts: Callable[..., Script]
) -> None:
    attached = scripts("--attach", "--server", server.url, "--steps", "4000")
    run_id = run_of(server, attached)
    wait(lambda: call(server, f"api/runs/{run_id}")["step"] > 200)
    assert server.process is not None
    server.process.kill()
    final = attached.finish()
    assert "stepscope: lost the server" in attached.err
    bare = scripts("--steps", "4000")
    assert_same(final, bare.finish())


def test_a_paused_script_whose_server_disappears_resumes(
    server: Server, scripts: Callable[..., Script]
) -> None:
    script = scripts("--attach", "--server", server.url, "--steps", "3000")
    run_id = run_of(server, script)
    acks = RunStream(server, run_id)
    script.wait_for(lambda: script.count() >= 20)
    call(server, f"api/runs/{run_id}/commands/pause", "POST")
    k = acks.acked("pause")  # the script holds
    acks.close()
    assert script.wait_for(lambda: script.count() >= k) and script.count() == k
    assert server.process is not None
    server.process.kill()
    final = script.finish()
    assert f"the paused loop resumes at step {k}" in script.err
    bare = scripts("--steps", "3000")
    assert_same(final, bare.finish())


def test_attach_inside_asyncio_run_with_a_subclass_of_adam(
    server: Server, scripts: Callable[..., Script]
) -> None:
    script = scripts(
        "--attach", "--server", server.url, "--steps", "500", "--asyncio", "--subclass"
    )
    run_id = run_of(server, script)
    final = script.finish()
    run = state_of(server, run_id, "stopped")
    optimizer = run["attached"]["optimizer"]
    assert optimizer["torch_class"] == "__main__.MyAdam" and not optimizer["ledger"]
    assert optimizer["config"]["name"] == "adam"
    assert call(server, f"api/runs/{run_id}/scalars")["loss"] == [
        loss for _, loss, _ in script.steps()
    ]
    bare = scripts("--steps", "500")
    assert_same(final, bare.finish())


def test_the_example_starts_a_server_and_its_run_keeps_every_step(tmp_path: Path) -> None:
    """examples/attach.py with nothing listening at STEPSCOPE_URL: attach starts a server, which
    outlives the script and keeps the run readable."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STEPSCOPE_URL": f"http://127.0.0.1:{port}",
        "STEPSCOPE_DATA_DIR": str(tmp_path / "started"),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "attach.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    started = re.search(r"started a server at (\S+) \(pid (\d+)", done.stderr)
    assert started, done.stderr
    pid = int(started.group(2))
    try:
        assert done.returncode == 0, done.stderr
        accuracy = float(done.stdout.strip().splitlines()[-1].rsplit(" ", 1)[1])
        assert accuracy > 0.9  # a real task, learnt
        server = Server(tmp_path / "started", port)
        (run,) = [r for r in call(server, "api/runs") if r["attached"]]
        assert run["title"] == "digits MLP" and run["state"] == "stopped"
        assert run["attached"]["optimizer"]["ledger"]
        exported = call(server, f"api/runs/{run['id']}/scalars")
        assert len(exported["loss"]) == 40 * 47  # every step of 40 epochs of 47 batches
    finally:
        os.kill(pid, signal.SIGTERM)


def test_a_server_with_a_token_takes_a_script_with_it_and_refuses_one_without(
    tmp_path: Path, scripts: Callable[..., Script]
) -> None:
    token = "the-servers-token-0123456789abcdef"
    guarded = Server(
        tmp_path / "guarded",
        free_port(),
        env={"STEPSCOPE_DEFAULT_RUN": "false", "STEPSCOPE_TOKEN": token},
    )
    guarded.start()
    try:
        without = scripts("--attach", "--server", guarded.url, "--steps", "50")
        without.finish()
        assert "could not attach" in without.err and "training goes on unobserved" in without.err
        with_token = scripts(
            "--attach", "--server", f"{guarded.url}?token={token}", "--steps", "50"
        )
        with_token.finish()
        request = urllib.request.Request(
            guarded.url + "api/runs", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            runs = json.load(response)
        (run,) = [r for r in runs if r["attached"]]
        assert run["attached"]["process"]["pid"] == with_token.process.pid
    finally:
        guarded.stop()


def test_a_nan_pauses_the_script_until_the_page_starts_it_again(
    server: Server, scripts: Callable[..., Script]
) -> None:
    script = scripts("--attach", "--server", server.url, "--steps", "3000", "--nan-at", "100")
    run_id = run_of(server, script)
    acks = RunStream(server, run_id)
    paused = state_of(server, run_id, "paused")
    assert "alert" in paused["reason"] and "0.weight.grad" in paused["reason"]
    k = paused["step"]
    # held at the step() after the snapshot that showed it: the count stops there
    call(server, f"api/runs/{run_id}/commands/step", "POST")
    assert acks.acked("step") == k + 1
    assert script.wait_for(lambda: script.count() >= k + 1) and script.count() == k + 1
    call(server, f"api/runs/{run_id}/commands/start", "POST")
    script.finish()
    acks.close()
    assert state_of(server, run_id, "stopped")["step"] == 3000


def test_a_script_that_never_closes_its_watch_detaches_at_exit(
    server: Server, scripts: Callable[..., Script]
) -> None:
    script = scripts("--attach", "--server", server.url, "--steps", "300", "--no-close")
    run_id = run_of(server, script)
    script.finish()
    run = state_of(server, run_id, "stopped")
    assert run["reason"] == "the script exited at step 300"
    assert len(call(server, f"api/runs/{run_id}/scalars")["loss"]) == 300
