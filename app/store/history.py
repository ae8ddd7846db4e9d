"""The run history, one SQLite file per data directory.

Written from each run's reader thread and read from the event loop, so every thread gets its own
connection; WAL mode lets readers go on while a writer commits.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.contract.events import Alert, OptimizerMark, OwnPath, RaceSeries
from app.contract.health import HealthPoint
from app.contract.views import Evaluation

# A (re)sync replays at most this many health points, evenly spread over the run with its latest
# last: a page draws a few hundred columns, an hour at 2 points a second is 7,200 of them, and a
# point is ~10 kB (spiral, wide-mlp), so 300 are ~3 MB, which a client stalled mid-resync holds.
HEALTH_REPLAY = 300
# On disk a run keeps at most about one health point per HEALTH_KEEP_EVERY seconds, and always its
# latest: a point that comes sooner replaces the one before it (if that one also came too soon).
# Live pages get every point (up to 2 a second); at ~10 kB a point, keeping them all grew the
# database by 72 MB an hour on the wide MLP, and a reload draws a few hundred columns anyway.
HEALTH_KEEP_EVERY = 5.0

# Why a run is `interrupted` (mark_interrupted).
INTERRUPTED_REASON = "the server stopped while the run was live"

# In the race table, the run's own path (surface-2d) is kept beside its racers (0, 1, …).
OWN_PATH = -1

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    step INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    name TEXT
);
CREATE TABLE IF NOT EXISTS scalars (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    loss REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS race (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    racer INTEGER NOT NULL,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    loss REAL,
    w REAL,
    b REAL,
    PRIMARY KEY (run_id, racer, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logged (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    latest INTEGER NOT NULL,
    message BLOB NOT NULL,
    PRIMARY KEY (run_id, latest, step)
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class RunRecord:
    id: str
    experiment: str
    config: dict[str, Any]
    state: str
    reason: str | None
    step: int
    created_at: float
    name: str | None = None  # a name a person gave the run (rename); None: never named


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # per run: when the latest point kept for good was written, and the row of a point
        # written since then that the next early point replaces (add_health)
        self._health_tail: dict[str, tuple[float, int | None]] = {}
        with self._write() as db:
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
            if "name" not in columns:  # a file written before runs could be renamed
                db.execute("ALTER TABLE runs ADD COLUMN name TEXT")

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0)
            # Deleting a run must give its pages back to the file system: a new file frees them
            # on `incremental_vacuum` (reclaim). It must be set before anything is written, WAL
            # mode included; in a file made before, it changes nothing until the first delete's
            # VACUUM converts it.
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode is durable across application crashes, which is what we need.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        with db:  # one transaction, committed on success
            yield db

    def close(self) -> None:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # runs

    def add_run(self, run_id: str, experiment: str, config: dict[str, Any], state: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO runs (id, experiment, config, state, created_at) VALUES (?, ?, ?, ?, ?)",
                (run_id, experiment, json.dumps(config), state, time.time()),
            )

    def set_state(self, run_id: str, state: str, reason: str | None = None) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE runs SET state = ?, reason = ? WHERE id = ?", (state, reason, run_id)
            )

    def set_config(self, run_id: str, config: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(config), run_id))

    def mark_interrupted(self, live_states: Sequence[str]) -> None:
        """Runs whose worker died with a previous server process are `interrupted`: Start
        continues one from its latest checkpoint (RunManager)."""
        marks = ",".join("?" * len(live_states))
        with self._write() as db:
            db.execute(
                f"UPDATE runs SET state = 'interrupted', reason = '{INTERRUPTED_REASON}'"
                f" WHERE state IN ({marks})",
                tuple(live_states),
            )

    def run(self, run_id: str) -> RunRecord | None:
        row = (
            self._connection()
            .execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?",
                (run_id,),
            )
            .fetchone()
        )
        return None if row is None else _record(row)

    def runs(self) -> list[RunRecord]:
        rows = self._connection().execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created_at DESC"
        )
        return [_record(row) for row in rows]

    def rename(self, run_id: str, name: str | None) -> bool:
        """Give the run a name (None: none); False when there is no such run."""
        with self._write() as db:
            changed = db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
        return changed.rowcount > 0

    def last_losses(self) -> dict[str, float]:
        """Each run's loss of its latest step that has one (NaN stays NaN); runs with none are
        left out. One probe of the (run_id, step) key per run."""
        db = self._connection()
        found = {}
        for (run_id,) in db.execute("SELECT id FROM runs").fetchall():
            row = db.execute(
                "SELECT loss FROM scalars WHERE run_id = ? ORDER BY step DESC LIMIT 1", (run_id,)
            ).fetchone()
            if row is not None:
                found[run_id] = _number(row[0])
        return found

    def disk_use(self) -> dict[str, int]:
        """Each run's share of the file, in bytes: every table's and index's pages (SQLite's
        dbstat), split among the runs by their rows (scalars, race, logged, runs) or by the
        bytes of their rows' messages (snapshots, events, whose rows differ in size a
        thousandfold). Free pages are nobody's. Scans each table once: tens of milliseconds
        per million rows."""
        db = self._connection()
        owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master").fetchall())
        table_bytes: dict[str, int] = {}
        try:
            pages = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        except sqlite3.OperationalError:  # an SQLite built without dbstat: unknown (null)
            return {}
        for name, size in pages:
            table = owner.get(name, name)
            table_bytes[table] = table_bytes.get(table, 0) + size
        use: dict[str, float] = {}
        for table, weight in _DISK_WEIGHTS.items():
            rows = db.execute(
                f"SELECT {'id' if table == 'runs' else 'run_id'}, {weight} FROM {table}"
                f" GROUP BY {'id' if table == 'runs' else 'run_id'}"
            ).fetchall()
            total = sum(w for _, w in rows)
            for run_id, w in rows:
                if total:
                    use[run_id] = use.get(run_id, 0.0) + table_bytes.get(table, 0) * w / total
        return {run_id: round(size) for run_id, size in use.items()}

    def delete_run(self, run_id: str) -> bool:
        """Forget the run: its row, curve, racers, logged scalars, snapshots and events, then
        give the freed pages back to the file system. False when there is no such run."""
        self._health_tail.pop(run_id, None)
        with self._write() as db:
            for table in ("scalars", "race", "logged", "snapshots", "events"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            gone = db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0
        if gone:
            self.reclaim()
        return gone

    def reclaim(self) -> None:
        """Shrink the file by its free pages. A file made before auto_vacuum was set is rebuilt
        once by VACUUM (seconds for a file of tens of MB, while writers wait: their timeout is
        30 s), which leaves it in incremental mode; after that only free pages move."""
        db = self._connection()
        if db.execute("PRAGMA auto_vacuum").fetchone()[0] != _INCREMENTAL:
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("VACUUM")
        else:
            # Each step of the statement frees one page, and the sqlite3 module's execute() steps a
            # statement that returns no rows once: executescript() runs it to the end.
            db.executescript("PRAGMA incremental_vacuum;")
        # In WAL mode the file is truncated when the log is copied back into it.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # scalars

    def append_scalars(
        self,
        run_id: str,
        first_step: int,
        losses: Sequence[float],
        race: Sequence[RaceSeries] | None = None,
        path: OwnPath | None = None,
    ) -> None:
        rows = [(run_id, first_step + i, loss) for i, loss in enumerate(losses)]
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO scalars VALUES (?, ?, ?)", rows)
            db.execute(
                "UPDATE runs SET step = ? WHERE id = ?", (first_step + len(losses) - 1, run_id)
            )
            if path is not None:  # the run's own (w, b): racer OWN_PATH, with no loss of its own
                db.executemany(
                    "INSERT OR REPLACE INTO race VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, OWN_PATH, first_step + i, "", None, w, b)
                        for i, (w, b) in enumerate(zip(path.w, path.b, strict=True))
                    ],
                )
            for racer, series in enumerate(race or ()):
                db.executemany(
                    "INSERT OR REPLACE INTO race VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, racer, first_step + i, series.name, loss, w, b)
                        for i, (loss, w, b) in enumerate(
                            zip(series.loss, series.w, series.b, strict=True)
                        )
                    ],
                )

    def losses(self, run_id: str, after: int = 0, upto: int | None = None) -> list[float]:
        """Losses of steps after..upto; SQLite stores NaN as NULL, which we read back as NaN."""
        rows = self._connection().execute(
            "SELECT step, loss FROM scalars WHERE run_id = ? AND step > ? AND step <= ?"
            " ORDER BY step",
            (run_id, after, upto if upto is not None else 2**62),
        )
        return [_number(loss) for _, loss in rows]

    def loss_runs(
        self, run_id: str, after: int = 0, upto: int | None = None
    ) -> list[tuple[int, list[float]]]:
        """The losses of steps after..upto as runs of consecutive steps, each (first step, losses).
        The server's own runs have one run (a loss every step); an attached script may log its
        loss at some steps only, and a step it did not log has no loss, not a NaN."""
        db = self._connection()
        upper = upto if upto is not None else 2**62
        first, last, count = db.execute(
            "SELECT MIN(step), MAX(step), COUNT(*) FROM scalars"
            " WHERE run_id = ? AND step > ? AND step <= ?",
            (run_id, after, upper),
        ).fetchone()
        if count == 0:
            return []
        if last - first + 1 == count:
            # One run of consecutive steps (the server's own runs): the losses alone, without a
            # step-by-step check in Python; a million of them is a resync that opens a long run.
            losses = db.execute(
                "SELECT loss FROM scalars WHERE run_id = ? AND step > ? AND step <= ?"
                " ORDER BY step",
                (run_id, after, upper),
            )
            return [(first, [math.nan if loss is None else loss for (loss,) in losses])]
        rows = db.execute(
            "SELECT step, loss FROM scalars WHERE run_id = ? AND step > ? AND step <= ?"
            " ORDER BY step",
            (run_id, after, upto if upto is not None else 2**62),
        )
        runs: list[tuple[int, list[float]]] = []
        for step, loss in rows:
            if runs and step == runs[-1][0] + len(runs[-1][1]):
                runs[-1][1].append(_number(loss))
            else:
                runs.append((step, [_number(loss)]))
        return runs

    def race(self, run_id: str, after: int = 0, upto: int | None = None) -> list[RaceSeries] | None:
        """Each racer's losses and (w, b) of steps after..upto, aligned with `losses()`; None for
        a run without racers. NaN comes back as NaN, as with losses."""
        rows = self._connection().execute(
            "SELECT racer, name, loss, w, b FROM race WHERE run_id = ? AND racer >= 0"
            " AND step > ? AND step <= ? ORDER BY racer, step",
            (run_id, after, upto if upto is not None else 2**62),
        )
        found: dict[int, RaceSeries] = {}
        for racer, name, loss, w, b in rows:
            series = found.setdefault(racer, RaceSeries(name=name, loss=[], w=[], b=[]))
            series.loss.append(_number(loss))
            series.w.append(_number(w))
            series.b.append(_number(b))
        if not found:
            return None
        return [found[racer] for racer in sorted(found)]

    def own_path(self, run_id: str, after: int = 0, upto: int | None = None) -> OwnPath | None:
        """The run's own (w, b) of steps after..upto (surface-2d), aligned with `losses()`."""
        rows = (
            self._connection()
            .execute(
                "SELECT w, b FROM race WHERE run_id = ? AND racer = ? AND step > ? AND step <= ?"
                " ORDER BY step",
                (run_id, OWN_PATH, after, upto if upto is not None else 2**62),
            )
            .fetchall()
        )
        if not rows:
            return None
        return OwnPath(w=[_number(w) for w, _ in rows], b=[_number(b) for _, b in rows])

    def scalar_series(self, run_id: str) -> dict[str, tuple[list[int], list[float]]]:
        """Every scalar series of the run with the steps it has values at, for export: "loss",
        each racer's "race/<name>/loss", an attached script's "logged/<name>", and the
        evaluations' "evaluation/<metric>" (train_loss, validation_loss, …: those it has)."""
        db = self._connection()
        series: dict[str, tuple[list[int], list[float]]] = {}

        def add(tag: str, step: int, value: float | None) -> None:
            steps, values = series.setdefault(tag, ([], []))
            steps.append(step)
            values.append(_number(value))

        for step, loss in db.execute(
            "SELECT step, loss FROM scalars WHERE run_id = ? ORDER BY step", (run_id,)
        ):
            add("loss", step, loss)
        for name, step, loss in db.execute(
            "SELECT name, step, loss FROM race WHERE run_id = ? AND racer >= 0"
            " ORDER BY racer, step",
            (run_id,),
        ):
            add(f"race/{name}/loss", step, loss)
        for name, step, value in db.execute(
            "SELECT name, step, value FROM logged WHERE run_id = ? ORDER BY name, step", (run_id,)
        ):
            add(f"logged/{name}", step, value)
        for point in self.evaluations(run_id):
            for metric, value in point.model_dump(exclude={"step"}).items():
                if isinstance(value, int | float):
                    add(f"evaluation/{metric}", point.step, value)
        return series

    # scalars an attached script logged besides the loss

    def append_logged(
        self, run_id: str, first_step: int, values: dict[str, list[float | None]]
    ) -> None:
        """Keep each name's values of steps first_step, first_step + 1, …; a None (that step
        logged no value of that name) keeps no row, and a step logged again replaces its value."""
        rows = [
            (run_id, name, first_step + i, value)
            for name, series in values.items()
            for i, value in enumerate(series)
            if value is not None
        ]
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO logged VALUES (?, ?, ?, ?)", rows)

    def logged(
        self, run_id: str, after: int = 0, upto: int | None = None
    ) -> dict[str, list[float | None]] | None:
        """Per name, the values of steps after + 1 … the last step logged (at most upto), in the
        order the names were first logged; None where a step has no value of that name, NaN for a
        non-finite one that SQLite kept as NULL; None when nothing was logged."""
        rows = (
            self._connection()
            .execute(
                "SELECT name, step, value FROM logged WHERE run_id = ? AND step > ? AND step <= ?"
                " ORDER BY step, name",
                (run_id, after, upto if upto is not None else 2**62),
            )
            .fetchall()
        )
        if not rows:
            return None
        length = rows[-1][1] - after
        found: dict[str, list[float | None]] = {}
        for name, step, value in rows:
            series = found.get(name)
            if series is None:
                series = found[name] = [None] * length
            series[step - after - 1] = _number(value)
        return found

    # snapshots and events

    def put_snapshot(self, run_id: str, step: int, message: bytes) -> None:
        """Keep the latest snapshot, and an archive that thins out with age (steps 1, 2, 4, 8, ...)."""
        with self._write() as db:
            db.execute("DELETE FROM snapshots WHERE run_id = ? AND latest = 1", (run_id,))
            db.execute("INSERT INTO snapshots VALUES (?, ?, 1, ?)", (run_id, step, message))
            archived = db.execute(
                "SELECT MAX(step) FROM snapshots WHERE run_id = ? AND latest = 0", (run_id,)
            ).fetchone()[0]
            if archived is None or step >= 2 * max(archived, 1):
                db.execute(
                    "INSERT OR REPLACE INTO snapshots VALUES (?, ?, 0, ?)", (run_id, step, message)
                )

    def latest_snapshot(self, run_id: str) -> bytes | None:
        row = (
            self._connection()
            .execute("SELECT message FROM snapshots WHERE run_id = ? AND latest = 1", (run_id,))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def add_event(self, run_id: str, step: int, kind: str, detail: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?)", (run_id, step, kind, json.dumps(detail))
            )

    def events(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._connection().execute(
            "SELECT step, kind, detail FROM events WHERE run_id = ? ORDER BY rowid", (run_id,)
        )
        return [{"step": step, "kind": kind, **json.loads(detail)} for step, kind, detail in rows]

    def optimizer_marks(self, run_id: str) -> list[OptimizerMark]:
        """The run's optimizer changes, in order. A mark written by an older version that no
        longer validates is passed on as it was stored rather than breaking the stream."""
        marks = []
        for event in self.events(run_id):
            if event.pop("kind") != "optimizer":
                continue
            try:
                marks.append(OptimizerMark.model_validate(event))
            except ValueError:
                marks.append(OptimizerMark.model_construct(**event))
        return marks

    def add_alert(self, run_id: str, alert: Alert) -> None:
        detail = alert.model_dump(mode="json", exclude={"v", "type", "step", "history"})
        self.add_event(run_id, alert.step, "alert", detail)

    def alerts(self, run_id: str) -> list[Alert]:
        """The run's alerts, in the order they were raised, as the stream replays them."""
        rows = self._connection().execute(
            "SELECT step, detail FROM events WHERE run_id = ? AND kind = 'alert' ORDER BY rowid",
            (run_id,),
        )
        return [
            Alert.model_validate({**json.loads(detail), "step": step, "history": True})
            for step, detail in rows
        ]

    def add_evaluation(self, run_id: str, point: Evaluation) -> None:
        detail = point.model_dump()
        self.add_event(run_id, detail.pop("step"), "evaluation", detail)

    def evaluations(self, run_id: str) -> list[Evaluation]:
        """The run's training and validation metrics, in step order."""
        rows = self._connection().execute(
            "SELECT step, detail FROM events WHERE run_id = ? AND kind = 'evaluation'"
            " ORDER BY step, rowid",
            (run_id,),
        )
        return [
            Evaluation.model_construct(step=step, **json.loads(detail)) for step, detail in rows
        ]

    def add_health(
        self, run_id: str, point: HealthPoint, now: float | None = None, thin: bool = True
    ) -> None:
        """Keep a health point. A running loop's points (`thin`) are kept at about one per
        HEALTH_KEEP_EVERY seconds of `now` (monotonic), the latest always; a command's point (a
        Step, a phase, a pause), which a learner asked for, is always kept."""
        now = time.monotonic() if now is None else now
        if not thin:
            self._health_tail[run_id] = (-math.inf, None)  # the next point is kept too
        detail = point.model_dump()
        step, text = detail.pop("step"), json.dumps(detail)
        kept_at, provisional = self._health_tail.get(run_id, (-math.inf, None))
        with self._write() as db:
            if now - kept_at < HEALTH_KEEP_EVERY and provisional is not None:
                db.execute(
                    "UPDATE events SET step = ?, detail = ? WHERE rowid = ?",
                    (step, text, provisional),
                )
                return
            row = db.execute(
                "INSERT INTO events VALUES (?, ?, 'health', ?)", (run_id, step, text)
            ).lastrowid
        if now - kept_at < HEALTH_KEEP_EVERY:
            self._health_tail[run_id] = (kept_at, row)  # replaced by the next early point
        else:
            self._health_tail[run_id] = (now, None)

    def health_points(self, run_id: str, limit: int = HEALTH_REPLAY) -> list[HealthPoint]:
        """The run's health points in step order: all of them, or `limit` spread evenly over the
        run (the first and the latest among them) when it has more."""
        db = self._connection()
        rows = db.execute(
            "SELECT rowid FROM events WHERE run_id = ? AND kind = 'health' ORDER BY step, rowid",
            (run_id,),
        ).fetchall()
        if len(rows) > limit:
            last = len(rows) - 1
            rows = [rows[round(i * last / (limit - 1))] for i in range(limit)]
        points = []
        for (rowid,) in rows:
            step, detail = db.execute(
                "SELECT step, detail FROM events WHERE rowid = ?", (rowid,)
            ).fetchone()
            points.append(HealthPoint.model_validate({**json.loads(detail), "step": step}))
        return points

    def cut_after(self, run_id: str, step: int) -> None:
        """A run resumed from its checkpoint of `step` trains the steps after it again: what the
        history holds of them (recorded before a crash or a stop) goes, so the curve has no step
        twice. (PERSIST: app/runs/manager.py resume.)"""
        with self._write() as db:
            self._health_tail.pop(run_id, None)
            for table in ("scalars", "race", "logged", "snapshots"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ? AND step > ?", (run_id, step))
            db.execute(
                "DELETE FROM events WHERE run_id = ? AND step > ? AND kind NOT IN (?, ?)",
                (run_id, step, *LINEAGE_EVENTS),
            )
            db.execute("UPDATE runs SET step = ? WHERE id = ?", (step, run_id))

    def clear_progress(self, run_id: str) -> None:
        """A reset starts the run again from its seed: its curve, snapshots and marks go."""
        with self._write() as db:
            self._health_tail.pop(run_id, None)
            for table in ("scalars", "race", "logged", "snapshots"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            db.execute(
                "DELETE FROM events WHERE run_id = ? AND kind NOT IN (?, ?)",
                (run_id, *LINEAGE_EVENTS),
            )
            db.execute("UPDATE runs SET step = 0 WHERE id = ?", (run_id,))


_RUN_COLUMNS = "id, experiment, config, state, reason, step, created_at, name"
# The lineage of branches (app/runs/branch.py): an event in the parent's history naming each child
# and one in the child's naming its parent. A parent cut back to a checkpoint, or reset, keeps
# them: its branches still exist, and its curve is the same up to their forks.
PARENT_EVENT, CHILD_EVENT = "branch", "branch_of"
LINEAGE_EVENTS = (PARENT_EVENT, CHILD_EVENT)
_INCREMENTAL = 2  # PRAGMA auto_vacuum's value for INCREMENTAL
# How disk_use splits a table's bytes among runs: rows alike in size by count, the messages by size.
_DISK_WEIGHTS = {
    "runs": "COUNT(*)",
    "scalars": "COUNT(*)",
    "race": "COUNT(*)",
    "logged": "COUNT(*)",
    "snapshots": "SUM(length(message))",
    "events": "SUM(length(detail))",
}


def _record(row: tuple[Any, ...]) -> RunRecord:
    run_id, experiment, config, state, reason, step, created_at, name = row
    return RunRecord(run_id, experiment, json.loads(config), state, reason, step, created_at, name)


def _number(value: float | None) -> float:
    return float("nan") if value is None else value
