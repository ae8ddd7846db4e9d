"""Helpers shared by the tests that run the real server as a user would."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """`python -m app` on a free port, as a user would start it."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.data_dir, self.port, self.env = data_dir, port, env or {}
        self.args = args or []  # more command-line arguments, e.g. --experiments PATH
        self.log = data_dir.parent / f"server-{port}.log"  # its stdout and stderr
        self.url = f"http://127.0.0.1:{port}/"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            # a process group of its own with its workers: `kill` takes them all at once, as a
            # crash or an OOM kill of the container does
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not come up in 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            finally:
                with contextlib.suppress(ProcessLookupError):  # (a worker left behind)
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process = None

    def kill(self) -> None:
        """kill -9 of the server and its workers: no shutdown, nothing saved or flushed."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None


def call(server: Server, path: str, method: str = "GET", body: object = None) -> Any:
    """One JSON request to the real server, as a program would send it (no Origin, no cookie)."""
    request = urllib.request.Request(
        server.url + path.lstrip("/"),
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def ready_run(server: Server, config: dict[str, Any]) -> str:
    """Create a run of `config` on the real server and wait until its worker has built the loop
    (a failed worker fails the test with its reason)."""
    run_id: str = call(server, "api/runs", "POST", config)["id"]
    deadline = time.monotonic() + 60
    while not (run := call(server, f"api/runs/{run_id}"))["ready"]:
        assert run["state"] != "failed", run["reason"]
        assert time.monotonic() < deadline, "the worker did not get ready"
        time.sleep(0.1)
    return run_id


def stalled_websocket(server: Server, run_id: str) -> socket.socket:
    """A client that opens a run's websocket with a tiny receive buffer and then reads nothing: the
    slow browser tab every fan-out must survive."""
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    stalled.sendall(
        (
            f"GET /ws/runs/{run_id} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return stalled


def wait_for_connections(server: Server, count: int, limit: float) -> None:
    """Until the server counts exactly `count` open websockets (GET /api/server)."""
    deadline = time.monotonic() + limit
    while (now := call(server, "/api/server")["connections"]) != count:
        assert time.monotonic() < deadline, f"{now} connections, never {count}"
        time.sleep(0.05)


def assert_same_tree(found: Any, expected: Any, where: str = "state") -> None:
    """Equal down to every tensor's bits (and every hyperparameter in param_groups)."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(found, torch.Tensor) and found.dtype == expected.dtype, where
        assert torch.equal(found, expected), where
    elif isinstance(expected, dict):
        assert found.keys() == expected.keys(), where
        for key in expected:
            assert_same_tree(found[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list | tuple):
        assert len(found) == len(expected), where
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            assert_same_tree(a, b, f"{where}[{i}]")
    else:
        assert found == expected, where
