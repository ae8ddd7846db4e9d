"""/healthz latency while a run trains at full speed: median, p99 and max over N requests.

    .venv/bin/python bench/healthz_latency.py [--requests 2000]

The server runs as `python -m app`; the training loop runs in its worker process, so the event
loop that answers /healthz should not feel it. The same requests against an idle server are the
baseline, in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import Server, free_port


def latencies(port: int, requests: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    found = []
    for _ in range(requests):
        started = time.perf_counter()
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        found.append((time.perf_counter() - started) * 1000)
    connection.close()
    return found


def call(port: int, method: str, path: str, body: object = None) -> object:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, payload, {"Content-Type": "application/json"})
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return f"{statistics.median(values):.2f} | {p99:.2f} | {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data", free_port())
        server.start()
        try:
            idle = latencies(server.port, args.requests)
            run_id = call(server.port, "GET", "/api/runs")[0]["id"]  # type: ignore[index]
            call(server.port, "PUT", f"/api/runs/{run_id}/pace", {"steps_per_second": None})
            call(server.port, "POST", f"/api/runs/{run_id}/commands/start")
            time.sleep(2.0)
            busy = latencies(server.port, args.requests)
            steps = call(server.port, "GET", f"/api/runs/{run_id}")["step"]  # type: ignore[index]
        finally:
            server.stop()
    print(
        f"{args.requests} sequential GET /healthz on one keep-alive connection; "
        f"the run reached step {steps:,}"
    )
    print("| server | median ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- |")
    print(f"| idle | {summary(idle)} |")
    print(f"| training at full speed | {summary(busy)} |")


if __name__ == "__main__":
    main()
