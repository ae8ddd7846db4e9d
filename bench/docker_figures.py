"""Figures for the Docker image: build time, image size, `docker run` to healthy, `docker stop` to exit.

    .venv/bin/python bench/docker_figures.py            # cold build (--no-cache), then a cached one
    .venv/bin/python bench/docker_figures.py --cached   # only a build that may use the cache

It builds the working tree (through .dockerignore, as `docker build .` would), starts the image a
few times and prints one table. By default it builds with `TORCH_INDEX_URL=` (empty), so pip takes
torch from its configuration: the offline machines' local CPU wheel. Pass
`--torch-index-url https://download.pytorch.org/whl/cpu` to measure a build from the real index.
Times are wall-clock seconds on this machine; a cold build fetches apt, npm and PyPI packages.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OFFLINE_BASE = REPO_ROOT.parent / "shared" / "tools" / "docker-offline-base"
BASE_IMAGE = "python:3.11-slim"


def docker(*args: str, timeout: float = 120.0) -> str:
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        sys.exit(f"docker {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return result.stdout.strip()


def timed_build(tag: str, torch_index_url: str, context: Path, *, cold: bool = False) -> float:
    args = ["build", "--force-rm", "--build-arg", f"TORCH_INDEX_URL={torch_index_url}", "-t", tag]
    if cold:
        args.append("--no-cache")
    started = time.monotonic()
    docker(*args, str(context), timeout=3600)
    return time.monotonic() - started


def edited_copy(destination: Path) -> Path:
    """The working tree as git sees it, with one line added to app/: a typical code change."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    )
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    init = destination / "app" / "__init__.py"
    init.write_text(init.read_text() + f"# bench {uuid.uuid4().hex}\n")
    return destination


def state(container: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(
        docker("inspect", "--format", "{{json .State}}", container)
    )
    return result


def request(url: str, token: str, method: str = "GET") -> urllib.request.Request:
    return urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {token}"})


def answers(url: str, token: str) -> bool:
    try:
        with urllib.request.urlopen(request(url, token), timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_and_stop(tag: str) -> tuple[float, float, float, int]:
    """One container's life: seconds to /healthz answering, to `healthy`, and from stop to exit."""
    # a token of our own, so that the requests below need not wait for the log to print one
    token = secrets.token_urlsafe(32)
    started = time.monotonic()
    container = docker(
        "run", "--detach", "--publish", "127.0.0.1::8000", "--env", f"STEPSCOPE_TOKEN={token}", tag
    )
    try:
        base = "http://" + docker("port", container, "8000/tcp").splitlines()[0]
        answering = healthy = None
        while healthy is None and time.monotonic() - started < 120:
            if answering is None and answers(f"{base}/healthz", token):
                answering = time.monotonic() - started
            current = state(container)
            health = current.get("Health")
            if isinstance(health, dict) and health.get("Status") == "healthy":
                healthy = time.monotonic() - started
            elif not current["Running"]:
                sys.exit(f"the container exited:\n{docker('logs', container)}")
            time.sleep(0.05)
        if answering is None or healthy is None:
            sys.exit("the container did not become healthy in 120 s")
        # stop with a run going and its worker process live, the case that takes longest
        with urllib.request.urlopen(request(f"{base}/api/runs", token), timeout=5) as response:
            run_id = json.load(response)[0]["id"]
        start = request(f"{base}/api/runs/{run_id}/commands/start", token, method="POST")
        urllib.request.urlopen(start, timeout=5).close()
        time.sleep(1.0)
        stopping = time.monotonic()
        docker("stop", "--time", "30", container, timeout=60)
        stopped = time.monotonic() - stopping
        exit_code = state(container)["ExitCode"]
        assert isinstance(exit_code, int)
        return answering, healthy, stopped, exit_code
    finally:
        subprocess.run(["docker", "rm", "--force", "--volumes", container], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cached", action="store_true", help="skip the cold (--no-cache) build")
    parser.add_argument("--runs", type=int, default=3, help="containers to start and stop")
    parser.add_argument("--torch-index-url", default="", help="empty: pip's own configuration")
    parser.add_argument("--keep", action="store_true", help="keep the image (tag stepscope:bench)")
    options = parser.parse_args()

    if OFFLINE_BASE.is_file():
        subprocess.run(["bash", str(OFFLINE_BASE)], check=True, capture_output=True)
    tag = "stepscope:bench" if options.keep else f"stepscope-bench:{uuid.uuid4().hex[:12]}"
    index = options.torch_index_url
    figures: list[tuple[str, str]] = []
    try:
        if not options.cached:
            seconds = timed_build(tag, index, REPO_ROOT, cold=True)
            figures.append(("build, cold (--no-cache)", f"{seconds:.1f} s"))
        seconds = timed_build(tag, index, REPO_ROOT)
        figures.append(("build, cached, nothing changed", f"{seconds:.1f} s"))
        with tempfile.TemporaryDirectory() as scratch:
            seconds = timed_build(f"{tag}-edit", index, edited_copy(Path(scratch)))
            subprocess.run(["docker", "rmi", "--force", f"{tag}-edit"], capture_output=True)
        figures.append(("build, cached, after an edit in app/", f"{seconds:.1f} s"))
        size = int(docker("image", "inspect", "--format", "{{.Size}}", tag))
        base = int(docker("image", "inspect", "--format", "{{.Size}}", BASE_IMAGE))
        figures.append(("image size", f"{size / 1e9:.3f} GB ({size / 2**20:.0f} MiB)"))
        figures.append((f"  of which {BASE_IMAGE}", f"{base / 1e9:.3f} GB"))
        figures.append(("  of which Stepscope's layers", f"{(size - base) / 1e9:.3f} GB"))

        lives = [start_and_stop(tag) for _ in range(options.runs)]
        for label, index in (
            ("docker run to /healthz answering", 0),
            ("docker run to health status healthy", 1),
            ("docker stop to exit, run in progress", 2),
        ):
            values = [life[index] for life in lives]
            shown = ", ".join(f"{value:.2f}" for value in values)
            figures.append((label, f"{statistics.median(values):.2f} s median ({shown})"))
        figures.append(("exit codes after docker stop", ", ".join(str(life[3]) for life in lives)))
    finally:
        if not options.keep:
            subprocess.run(["docker", "rmi", "--force", tag], capture_output=True)

    width = max(len(label) for label, _ in figures)
    base_id = docker("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE)
    print(f"Docker figures (base {BASE_IMAGE}, {base_id[:19]}; {options.runs} containers)")
    for label, value in figures:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
