"""What a run costs in the history file, per step: real runs through the server at full speed.

For each experiment: a fresh data directory, `python -m app` (no default run), one run at Max
speed until it has taken `--steps` steps, stopped, then the file's size (log checkpointed into
it) and each table's share of it (SQLite's dbstat), divided by the steps taken. Snapshots and
health points are kept per second of running (an archive thinning with age, one health point
per 5 s), the losses per step: the figure per step falls as a run gets longer.

    .venv/bin/python -m bench.history_bytes [--steps 20000] [--experiments seed-linear circle]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from tests.support import Server, call, free_port, ready_run


def one_run(experiment: str, steps: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="stepscope-bench-") as folder:
        data = Path(folder) / "data"
        server = Server(data, free_port(), env={"STEPSCOPE_DEFAULT_RUN": "false"})
        server.start()
        try:
            run_id = ready_run(server, {"experiment": experiment, "steps_per_second": None})
            started = time.monotonic()
            call(server, f"api/runs/{run_id}/commands/start", "POST")
            while call(server, f"api/runs/{run_id}")["step"] < steps:
                time.sleep(0.2)
            call(server, f"api/runs/{run_id}/commands/stop", "POST")
            seconds = time.monotonic() - started
            time.sleep(4)  # the worker flushes its last frame and exits (STOP_GRACE is 3 s)
            taken = call(server, f"api/runs/{run_id}")["step"]
        finally:
            server.stop()
        database = data / "stepscope.sqlite3"
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
            tables: dict[str, int] = {}
            for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                table = owner.get(name, name)
                tables[table] = tables.get(table, 0) + size
        size = database.stat().st_size
        return {
            "experiment": experiment,
            "steps": taken,
            "seconds": round(seconds, 1),
            "file_bytes": size,
            "bytes_per_step": round(size / taken, 1),
            "per_step_by_table": {t: round(b / taken, 1) for t, b in sorted(tables.items())},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--experiments", nargs="+", default=["seed-linear", "circle"])
    options = parser.parse_args()
    for experiment in options.experiments:
        result = one_run(experiment, options.steps)
        print(json.dumps({**result, "load": os.getloadavg()}))


if __name__ == "__main__":
    main()
