"""Find the Stepscope server a script attaches to, or start one.

The address is `server=`, else STEPSCOPE_URL, else http://127.0.0.1:8000. With nothing answering
there and the address on this machine, a server is started as a child process in its own session:
it outlives the script (its pid is printed), so the run's page stays readable after training.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from app.settings import is_loopback

DEFAULT_URL = "http://127.0.0.1:8000"
START_TIMEOUT = 60.0  # seconds a started server may take to answer /healthz


def _say(text: str) -> None:
    print(f"stepscope: {text}", file=sys.stderr, flush=True)


def split_address(address: str) -> tuple[str, str | None]:
    """The base URL (scheme://host:port/), and the token when the address carries one (the URL
    the server prints when exposed ends in ?token=…)."""
    parts = urllib.parse.urlsplit(address if "://" in address else f"http://{address}")
    token = urllib.parse.parse_qs(parts.query).get("token", [None])[0]
    path = parts.path.rstrip("/") + "/"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", "")), token


def websocket_url(base: str) -> str:
    scheme = "wss" if base.startswith("https:") else "ws"
    return f"{scheme}:{base.split(':', 1)[1]}ws/attach"


def healthy(base: str, token: str | None, timeout: float = 1.0) -> bool:
    request = urllib.request.Request(base + "healthz")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


def data_dir() -> Path:
    """Where a started server keeps its history: STEPSCOPE_DATA_DIR, else ~/.stepscope."""
    return Path(os.environ.get("STEPSCOPE_DATA_DIR") or Path.home() / ".stepscope")


def start_server(base: str) -> subprocess.Popen[bytes] | None:
    """`python -m app` on the address's port, in its own session (a Ctrl-C of the script does not
    reach it); None when it did not come up."""
    parts = urllib.parse.urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8000
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"server-{port}.log"
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "--host",
                host,
                "--port",
                str(port),
                "--data-dir",
                str(folder),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            _say(f"the server it started exited ({child.returncode}); see {log_path}")
            return None
        if healthy(base, None, timeout=0.5):
            _say(
                f"started a server at {base} (pid {child.pid}, log {log_path}); it keeps "
                "running after this script"
            )
            return child
        time.sleep(0.1)  # (a process coming up: there is nothing to wait on but its port)
    _say(f"the server it started did not answer in {START_TIMEOUT:.0f} s; see {log_path}")
    return None


def find_or_start(address: str, token: str | None, start: bool = True) -> str | None:
    """The base URL of a server that answers, or None (then the script trains unobserved)."""
    base, _ = split_address(address)
    if healthy(base, token):
        return base
    host = urllib.parse.urlsplit(base).hostname or ""
    if not start or not is_loopback(host):
        _say(f"no server answers at {base}")
        return None
    return base if start_server(base) is not None else None
