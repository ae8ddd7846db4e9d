"""The Docker image, built from a clean clone and driven from outside, as a deployment would be.

The image is built once for the module from a `git clone` of this repository (committed HEAD, as
CI sees it), with `--build-arg TORCH_INDEX_URL=`: the PyTorch CPU index is out of reach on these
machines, and pip's configuration in the base image supplies the CPU wheel. Containers publish the
server on a loopback port that Docker picks, and everything is removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO_ROOT = Path(__file__).resolve().parents[2]
OFFLINE_BASE = REPO_ROOT.parent / "shared" / "tools" / "docker-offline-base"
HEALTHY_WITHIN = 120.0  # seconds from `docker run` to the health status `healthy`, at most
STOP_WITHIN = 10.0  # Docker's default grace period: after it, `docker stop` kills
FRAMES_WITHIN = 30.0  # seconds to wait for the websocket frames of a started run

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]


def docker(*args: str, timeout: float = 120.0, check: bool = True) -> str:
    """Run a docker command and return its stdout; on failure, show what it printed."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{output}")
    return result.stdout.strip()


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def prepare_engine() -> None:
    """A Docker engine and a `python:3.11-slim` base, offline where need be."""
    if OFFLINE_BASE.is_file():
        # through bash: shared/ may be checked out without execute bits
        result = subprocess.run(
            ["bash", str(OFFLINE_BASE)], capture_output=True, text=True, timeout=900, check=False
        )
        assert result.returncode == 0, f"{OFFLINE_BASE} failed:\n{result.stdout}{result.stderr}"
    elif not engine_answers():
        pytest.skip(f"no Docker engine answers and {OFFLINE_BASE} is not there to start one")


@dataclass
class Container:
    id: str

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(
            docker("inspect", "--format", "{{json .State}}", self.id)
        )
        return state

    def base_url(self) -> str:
        """Where the server is published on this machine (the port changes with each start)."""
        address = docker("port", self.id, "8000/tcp").splitlines()[0]
        return f"http://{address}"

    def token(self) -> str:
        """The token the server printed in the URL to open (a new one at each start)."""
        urls = re.findall(r"open (http://\S+)", self.logs())
        assert urls, f"no URL to open in the log:\n{self.logs()}"
        token = re.search(r"[?&]token=([^&\s]+)", urls[-1])
        assert token, (
            f"the URL to open has no token, yet the server listens on all interfaces: {urls[-1]}"
        )
        return token.group(1)

    def client(self) -> httpx.Client:
        """A client of the published server that presents the token, as a program would."""
        return httpx.Client(base_url=self.base_url(), headers=self.auth(), timeout=10)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def logs(self) -> str:
        result = subprocess.run(
            ["docker", "logs", self.id], capture_output=True, text=True, timeout=30, check=False
        )
        return result.stdout + result.stderr

    def wait_healthy(self) -> float:
        """Seconds until Docker's health check reports `healthy`; fails if it never does."""
        started = time.monotonic()
        while time.monotonic() - started < HEALTHY_WITHIN:
            state = self.state()
            health = state.get("Health", {}).get("Status")
            if health == "healthy":
                return time.monotonic() - started
            if not state["Running"] or health == "unhealthy":
                break
            time.sleep(0.25)
        pytest.fail(f"container not healthy (state {self.state()}); its log:\n{self.logs()}")

    def exec(self, *command: str) -> str:
        return docker("exec", self.id, *command, timeout=60)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    prepare_engine()
    clone = tmp_path_factory.mktemp("clone") / "stepscope"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True, timeout=120)
    tag = f"stepscope-test:{uuid.uuid4().hex[:12]}"
    try:
        docker(
            "build",
            "--force-rm",
            "--build-arg",
            "TORCH_INDEX_URL=",
            "-t",
            tag,
            str(clone),
            timeout=1500,
        )
        yield tag
    finally:
        docker("rmi", "--force", tag, check=False)


def start_container(image: str) -> Container:
    # -p 127.0.0.1::8000: a free loopback port, chosen by Docker, so parallel runs cannot collide
    return Container(docker("run", "--detach", "--publish", "127.0.0.1::8000", image))


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[Container]:
    """One server for the checks that leave it running; the stop test starts its own."""
    running = start_container(image)
    try:
        running.wait_healthy()
        yield running
    finally:
        docker("rm", "--force", "--volumes", running.id, check=False)


def test_becomes_healthy_and_requires_the_printed_token(container: Container) -> None:
    assert container.state()["Health"]["Status"] == "healthy"
    # Inside the container the server listens on all interfaces: without the token, nothing but
    # the health probe, which says "ok" and no more (the image's own health check holds no token).
    for path in ("/api/server", "/api/runs", "/"):
        refused = httpx.get(f"{container.base_url()}{path}", timeout=10)
        assert refused.status_code == 401, (path, refused.text)
    probe = httpx.get(f"{container.base_url()}/healthz", timeout=10)
    assert probe.status_code == 200 and probe.json() == {"status": "ok"}
    with container.client() as client:
        assert client.get("/api/server").json()["live_runs"] >= 0


def test_runs_as_a_user_with_cpu_only_torch(container: Container) -> None:
    assert container.exec("id", "-u") != "0"
    cuda = container.exec("python", "-c", "import torch; print(torch.cuda.is_available())")
    assert cuda == "False"


def test_serves_the_page_and_the_vendored_front_end(container: Container) -> None:
    with container.client() as client:
        assert client.get("/").status_code == 200
        # static/vendor/ is not committed: the image's node stage fetched it from the lock file
        chart = client.get("/static/vendor/uPlot.esm.js")
        assert chart.status_code == 200
        assert "uPlot" in chart.text


async def drive_a_run(base: str, auth: dict[str, str]) -> None:
    """Start the default run, follow its frames on the websocket, then pause it."""
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=10) as client:
        runs = (await client.get("/api/runs")).raise_for_status().json()
        run_id = runs[0]["id"]
        ws_url = base.replace("http://", "ws://") + f"/ws/runs/{run_id}"
        async with connect(
            ws_url, additional_headers=auth, open_timeout=10, max_size=None
        ) as socket:

            async def receive() -> str | bytes:
                return await asyncio.wait_for(socket.recv(), FRAMES_WITHIN)

            hello = json.loads(await receive())
            assert hello["type"] == "hello"
            assert hello["run"]["id"] == run_id

            started = (await client.post(f"/api/runs/{run_id}/commands/start")).json()
            assert started["state"] == "running", started
            last_step, live_scalars, snapshots = -1, 0, 0
            while live_scalars < 5 or snapshots < 1:
                message = await receive()
                if isinstance(message, bytes):
                    snapshots += 1
                    continue
                event = json.loads(message)
                if event["type"] != "scalars":
                    continue
                if last_step >= 0:
                    # every step once, in order: no gap and no repeat between frames
                    assert event["first_step"] == last_step + 1, (event, last_step)
                    assert event["loss"], event
                    live_scalars += 1
                last_step = event["first_step"] + len(event["loss"]) - 1
            assert last_step >= 5

            paused = (await client.post(f"/api/runs/{run_id}/commands/pause")).json()
            assert paused["state"] == "paused", paused
            acknowledged: dict[str, Any] = {}
            while not acknowledged:  # the worker's word: no scalars past this step follow
                message = await receive()
                if isinstance(message, str):
                    event = json.loads(message)
                    if event["type"] == "status" and event.get("acknowledged") == "pause":
                        acknowledged = event["run"]
        await asyncio.sleep(0.5)
        run = (await client.get(f"/api/runs/{run_id}")).json()
        assert run["state"] == "paused", run
        assert run["step"] == acknowledged["step"], (run, acknowledged)
        assert run["step"] >= last_step


def test_drives_a_run_from_outside(container: Container) -> None:
    asyncio.run(drive_a_run(container.base_url(), container.auth()))


async def stop_while_watching(server: Container) -> tuple[str, float]:
    """Start the default run and, with its stream open as a browser's would be, `docker stop` the
    container. Returns the run's id and how long `docker stop` took."""
    base, auth = server.base_url(), server.auth()
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=10) as client:
        run_id: str = (await client.get("/api/runs")).json()[0]["id"]
        ws_url = base.replace("http://", "ws://") + f"/ws/runs/{run_id}"
        async with connect(
            ws_url, additional_headers=auth, open_timeout=10, close_timeout=2, max_size=None
        ) as socket:
            (await client.post(f"/api/runs/{run_id}/commands/start")).raise_for_status()
            while True:  # until the run has taken steps
                message = await asyncio.wait_for(socket.recv(), FRAMES_WITHIN)
                if isinstance(message, str) and json.loads(message).get("loss"):
                    break
            started = time.monotonic()
            # a longer grace than Docker's default, so a slow exit shows as slow, not as killed
            await asyncio.to_thread(docker, "stop", "--time", "30", server.id, timeout=60)
            elapsed = time.monotonic() - started
            with pytest.raises(ConnectionClosed):  # the server closed the stream on its way out
                while True:
                    await asyncio.wait_for(socket.recv(), 5)
    return run_id, elapsed


def test_image_is_configured_for_deployment(image: str) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image))
    assert config["User"] not in ("", "root", "0")
    assert "/data" in config["Volumes"]
    assert "/healthz" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"][:2] != ["/bin/sh", "-c"], "CMD in shell form: SIGTERM would miss python"
    assert config["Env"] and any(e.startswith("STEPSCOPE_HOST=0.0.0.0") for e in config["Env"])


def test_sigterm_stops_the_server_cleanly_and_keeps_the_history(image: str) -> None:
    server = start_container(image)
    try:
        server.wait_healthy()
        run_id, elapsed = asyncio.run(stop_while_watching(server))
        state = server.state()
        assert not state["Running"]
        assert not state["OOMKilled"]
        assert state["ExitCode"] in (0, 143), f"exit code {state['ExitCode']}:\n{server.logs()}"
        assert elapsed < STOP_WITHIN, f"docker stop took {elapsed:.1f} s:\n{server.logs()}"
        assert "Application shutdown complete" in server.logs()

        # The same container again, with its /data volume: the run was stopped, not interrupted,
        # and the steps it took were written before the server exited.
        docker("start", server.id)
        server.wait_healthy()
        with server.client() as client:
            run = client.get(f"/api/runs/{run_id}").json()
        assert run["state"] == "stopped", run
        assert run["step"] > 0, run
        docker("stop", server.id, timeout=60)
    finally:
        docker("rm", "--force", "--volumes", server.id, check=False)
