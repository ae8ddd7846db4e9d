"""What a worker reports, persisted on a reader thread and applied on the event loop.

Each run has a reader thread that receives the worker's messages and writes them to the history (so
SQLite never runs on the event loop), then hands each to the event loop, which updates the run and
publishes one encoded frame to the hub. A built-in run's thread reads its worker's pipe; an attached
script's reads what its websocket received (app/runs/attached.py). Both go through `deliver`, so a
script's scalars, snapshots and acknowledgements are kept and shown exactly as a worker's are.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from app.contract.attach import Detach, Dropped, Logged, ScriptMessage
from app.contract.branch import Rewound
from app.contract.checkpoint import SaveReason
from app.contract.events import Evaluations, Health, OptimizerMark, Reset, Scalars
from app.contract.events import Logged as LoggedEvent
from app.contract.worker import (
    Ack,
    Alerted,
    Checkpointed,
    Evaluated,
    Failed,
    HealthMeasured,
    OptimizerChanged,
    Ready,
    ScalarsBatch,
    SnapshotFrame,
    WorkerMessage,
)
from app.runs.nonfinite import where
from app.runs.publish import publish, publish_status
from app.runs.run import Run
from app.runs.spawn import exit_reason
from app.runs.state import Command, Happening, IllegalTransition, RunState, allows
from app.store.history import History
from app.stream.hub import Frame, FrameKind, Hub
from app.stream.protocol import encode_event

STOP_GRACE = 3.0  # seconds a worker gets to flush and exit before it is terminated

# What a run's worker reports: a worker process's messages, or an attached script's.
Report = WorkerMessage | ScriptMessage


class Relay:
    def __init__(self, history: History, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        self.history, self.hub, self._loop = history, hub, loop

    def start(self, run: Run, frames: Connection) -> None:
        threading.Thread(
            target=self._read, args=(run, frames), name=f"relay-{run.id}", daemon=True
        ).start()

    def _read(self, run: Run, frames: Connection) -> None:
        """The reader thread: persist each message, then hand it to the event loop."""
        while True:
            try:
                message = frames.recv()
            except (EOFError, OSError):
                break
            self.deliver(run, message)
        if run.process is not None:
            run.process.join(timeout=STOP_GRACE)
        frames.close()
        self.to_loop(self._on_exit, run)

    def deliver(self, run: Run, message: Report) -> None:
        """On the run's reader thread: persist the message, then apply it on the event loop (the
        order of a run's messages is kept: one thread persists them, and the loop runs its
        callbacks in the order they were handed over)."""
        self._persist(run, message)
        self.to_loop(self._apply, run, message)

    def to_loop(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop closed during shutdown
            self._loop.call_soon_threadsafe(callback, *args)

    def _persist(self, run: Run, message: Report) -> None:
        history = self.history
        match message:
            case ScalarsBatch():
                history.append_scalars(
                    run.id, message.first_step, message.loss, message.race, message.path
                )
            case SnapshotFrame(step=step, frame=frame):
                history.put_snapshot(run.id, step, frame)
            case Evaluated(point=point):
                history.add_evaluation(run.id, point)
            case HealthMeasured(point=point):
                # a running loop's points are thinned on disk; a command's are all kept
                history.add_health(run.id, point, thin=run.state is RunState.RUNNING)
            case Ack(command=Command.RESET):
                history.clear_progress(run.id)
            case OptimizerChanged(step=step, optimizer=config, fresh=fresh, previous=previous):
                detail = {
                    "optimizer": config.model_dump(),
                    "fresh": fresh,
                    "previous": previous.model_dump(),
                }
                # (the config itself was stored when the change was accepted: RunManager)
                history.add_event(run.id, step, "optimizer", detail)
            case Alerted(alert=alert):
                history.add_alert(run.id, alert)
            case Failed(reason=reason) if allows(run.state, Happening.FAIL):
                history.set_state(run.id, RunState.FAILED, reason)
            case Logged(first_step=first_step, values=values):
                history.append_logged(run.id, first_step, values)

    def _apply(self, run: Run, message: Report) -> None:
        """On the event loop: update the run and tell the browsers."""
        run.heard_at = time.monotonic()
        match message:
            case Ready():
                run.ready = True
                publish_status(self.hub, run)
            case ScalarsBatch():
                run.step = message.first_step + len(message.loss) - 1
                run.loss = message.loss[-1]
                event = Scalars.model_construct(
                    first_step=message.first_step,
                    loss=message.loss,
                    t0=message.t0,
                    t1=message.t1,
                    history=False,
                    race=message.race,
                    path=message.path,
                )
                frame = Frame(
                    FrameKind.SCALARS,
                    encode_event(event),
                    first_step=message.first_step,
                    last_step=run.step,
                )
                self.hub.publish(run.id, frame)
            case SnapshotFrame(frame=frame):
                self.hub.publish(run.id, Frame(FrameKind.SNAPSHOT, frame))
            case Evaluated(point=point):
                publish(self.hub, run, Evaluations.model_construct(points=[point], history=False))
            case HealthMeasured(point=point):
                publish(self.hub, run, Health.model_construct(points=[point], history=False))
            case Ack(command=command):
                if run.unanswered:
                    run.unanswered.popleft()
                run.step, run.phase = message.step, message.phase
                if command is Command.RESET:
                    run.loss = None
                    publish(self.hub, run, Reset.model_construct(), resets=True)
                # `acknowledged` tells clients the worker has carried the command out: after a
                # pause, no scalars past this step will follow.
                publish_status(self.hub, run, acknowledged=command)
            case OptimizerChanged(step=step, optimizer=config, fresh=fresh, previous=previous):
                mark = OptimizerMark.model_construct(
                    step=step, optimizer=config, fresh=fresh, previous=previous
                )
                publish(self.hub, run, mark)
                publish_status(self.hub, run)
            case Alerted(alert=alert):
                publish(self.hub, run, alert)
                if alert.paused and allows(run.state, Happening.ALERT):
                    # (a pause the server accepted first has already paused it: nothing to do)
                    run.advance(Happening.ALERT, f"alert: {alert.detail}, {where(alert)}")
                    run.step, run.phase = message.at_step, message.phase
                    self.history.set_state(run.id, run.state, run.reason)
                    publish_status(self.hub, run)
            case Failed(reason=reason) if allows(run.state, Happening.FAIL):
                run.advance(Happening.FAIL, reason)
                publish_status(self.hub, run)
            case Rewound(into=into):  # the answer a branch awaits (app/runs/branch.py)
                answered = run.rewinding.pop(into, None)
                if answered is not None and not answered.done():
                    answered.set_result(message)
            case Checkpointed(checkpoint=info, why=why, refused=refused):
                if info is not None:
                    run.checkpoint = info
                    # a pause's or stop's is written before its acknowledgement, whose status
                    # carries it: no status of its own between the snapshot and the ack
                    if why in (SaveReason.DEMAND, SaveReason.PERIODIC):
                        publish_status(self.hub, run)
                if why is SaveReason.DEMAND:  # the answer an on-demand save awaits
                    waiting, run.saving = run.saving, []
                    for future in waiting:
                        if future.done():
                            continue
                        if info is None:
                            future.set_exception(IllegalTransition(f"no checkpoint: {refused}"))
                        else:
                            future.set_result(info)
            case Logged() | Dropped() | Detach():
                self._apply_script(run, message)

    def _apply_script(self, run: Run, message: Logged | Dropped | Detach) -> None:
        """What only an attached script reports: its other scalars, what it dropped, its end."""
        attached = run.attached
        if attached is None:
            return
        match message:
            case Logged(first_step=first_step, values=values):
                last = first_step + max(map(len, values.values()), default=0) - 1
                run.step = max(run.step, last)
                new = [name for name in values if name not in attached.logged]
                if new:  # a status first: the page learns a name before its values
                    attached.logged = [*attached.logged, *new]
                    self.history.set_config(run.id, attached.model_dump())
                    publish_status(self.hub, run)
                event = LoggedEvent.model_construct(
                    first_step=first_step, values=values, history=False
                )
                publish(self.hub, run, event)
            case Dropped(snapshots=snapshots, scalars=scalars):
                attached.dropped_snapshots, attached.dropped_scalars = snapshots, scalars
                self.history.set_config(run.id, attached.model_dump())
                publish_status(self.hub, run)
            case Detach(reason=reason):
                if allows(run.state, Happening.DETACH):
                    run.advance(Happening.DETACH, reason)
                    self.history.set_state(run.id, run.state, run.reason)
                    publish_status(self.hub, run)
                if run.script is not None:
                    run.script.close(1000, "detached")

    def _on_exit(self, run: Run) -> None:
        if allows(run.state, Happening.EXIT):
            code = None if run.process is None else run.process.exitcode
            run.advance(Happening.EXIT, exit_reason(code))
            self.history.set_state(run.id, run.state, run.reason)
            publish_status(self.hub, run)
        run.exited.set()
