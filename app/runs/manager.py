"""The run manager: starts a worker process per run and relays what it reports.

Each run has a reader thread that receives the worker's messages, writes them to the history (so
SQLite never runs on the event loop), and hands them to the event loop, which updates the run and
publishes one encoded frame to the hub. Commands are checked against the run's state machine here,
before they reach the worker, so an illegal one is refused at once with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from app.contract.events import Event, OptimizerMark, Reset, Scalars, Status
from app.contract.run import RunInfo
from app.contract.worker import (
    Ack,
    Control,
    Failed,
    OptimizerChanged,
    Ready,
    ScalarsBatch,
    SetOptimizer,
    SetPace,
    SetTeaching,
    SnapshotFrame,
    WorkerCommand,
    WorkerMessage,
)
from app.engine.experiments import EXPERIMENTS, ExperimentConfig, Teaching
from app.engine.loop import Phase
from app.engine.optimizers import OptimizerConfig
from app.runs.state import (
    LIVE_STATES,
    Command,
    Happening,
    IllegalTransition,
    Move,
    RunState,
    allows,
    next_state,
)
from app.runs.worker import run_worker
from app.store.history import History, RunRecord
from app.stream.hub import Frame, FrameKind, Hub
from app.stream.protocol import encode_event

STOP_GRACE = 3.0  # seconds a worker gets to flush and exit before it is terminated


class UnknownRun(KeyError):
    pass


class TooManyRuns(Exception):
    pass


@dataclass
class Run:
    id: str
    config: ExperimentConfig
    _state: RunState = RunState.IDLE  # changed only by advance(): through the state machine
    step: int = 0
    loss: float | None = None
    phase: Phase | None = None
    ready: bool = False
    reason: str | None = None
    process: BaseProcess | None = field(default=None, repr=False)
    commands: Connection | None = field(default=None, repr=False)
    posted: Any = field(default=None, repr=False)  # commands sent, shared with the worker
    exited: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    # commands sent and not yet acknowledged, with when they were sent (monotonic seconds)
    unanswered: deque[tuple[Command, float]] = field(default_factory=deque, repr=False)
    heard_at: float = field(default_factory=time.monotonic, repr=False)  # last worker message

    @property
    def state(self) -> RunState:
        return self._state

    def advance(self, move: Move, reason: str | None = None) -> None:
        """Change state by a command or a happening; an illegal one raises IllegalTransition."""
        self._state = next_state(self._state, move)
        self.reason = reason

    def info(self) -> RunInfo:
        return RunInfo.model_construct(
            id=self.id,
            experiment=self.config.experiment,
            title=EXPERIMENTS[self.config.experiment].title,
            config=self.config,
            state=self.state,
            reason=self.reason,
            step=self.step,
            loss=self.loss,
            phase=self.phase,
            ready=self.ready,
        )


class RunManager:
    def __init__(
        self, history: History, hub: Hub, max_runs: int = 8, command_timeout: float = 15.0
    ) -> None:
        self.history = history
        self.hub = hub
        self.max_runs = max_runs
        self.command_timeout = command_timeout
        self._watchdog: asyncio.Task[None] | None = None
        self._runs: dict[str, Run] = {}
        # spawn, not fork: a forked child would inherit the server's threads and torch's thread pools
        self._context = multiprocessing.get_context("spawn")
        # Made in the lifespan, so on the event loop that the reader threads hand messages to.
        self._loop = asyncio.get_running_loop()

    # queries

    def get(self, run_id: str) -> Run:
        try:
            return self._runs[run_id]
        except KeyError:
            raise UnknownRun(run_id) from None

    def info(self, run_id: str) -> RunInfo:
        """A run of this server process, or one from the history."""
        if run_id in self._runs:
            return self._runs[run_id].info()
        record = self.history.run(run_id)
        if record is None:
            raise UnknownRun(run_id)
        return record_info(record)

    def all_info(self) -> list[RunInfo]:
        return [self.info(record.id) for record in self.history.runs()]

    def live(self) -> list[Run]:
        return [run for run in self._runs.values() if run.state in LIVE_STATES]

    # control

    def create(self, config: ExperimentConfig) -> Run:
        if len(self.live()) >= self.max_runs:
            raise TooManyRuns(f"at most {self.max_runs} runs can be live at once; stop one first")
        run = Run(id=uuid.uuid4().hex[:12], config=config)
        self.history.add_run(run.id, config.experiment, config.model_dump(), run.state)
        commands, worker_commands = self._context.Pipe(duplex=False)
        worker_frames, frames = self._context.Pipe(duplex=False)
        run.commands = worker_commands
        run.posted = self._context.RawValue("q", 0)
        run.process = self._context.Process(
            target=run_worker,
            args=(config.model_dump_json(), commands, run.posted, frames),
            name=f"stepscope-run-{run.id}",
            daemon=True,
        )
        run.process.start()
        # The child has its own copies now; closing ours lets EOF reach the reader when it exits.
        commands.close()
        frames.close()
        self._runs[run.id] = run
        threading.Thread(
            target=self._relay, args=(run, worker_frames), name=f"relay-{run.id}", daemon=True
        ).start()
        return run

    def command(self, run_id: str, command: Command) -> Run:
        run = self.get(run_id)
        run.advance(command)
        self._send(run, Control(command=command))
        run.unanswered.append((command, time.monotonic()))
        if command is Command.STOP:
            self._loop.call_later(STOP_GRACE, self._end_if_alive, run, "did not stop")
        self.history.set_state(run.id, run.state)
        self._publish_status(run)
        return run

    def change_optimizer(self, run_id: str, optimizer: OptimizerConfig) -> Run:
        run = self._live(run_id, "change the optimizer of")
        run.config = run.config.model_copy(update={"optimizer": optimizer})
        self._send(run, SetOptimizer.model_construct(optimizer=optimizer))
        return run

    def change_teaching(self, run_id: str, teaching: Teaching) -> Run:
        return self._change(run_id, "teaching", teaching, SetTeaching(teaching=teaching))

    def change_pace(self, run_id: str, steps_per_second: float | None) -> Run:
        message = SetPace(steps_per_second=steps_per_second)
        return self._change(run_id, "steps_per_second", steps_per_second, message)

    def _change(self, run_id: str, setting: str, value: Any, message: WorkerCommand) -> Run:
        """A live change the worker applies between steps, with no answer to wait for."""
        run = self._live(run_id, f"change the {setting} of")
        run.config = run.config.model_copy(update={setting: value})
        self._send(run, message)
        self.history.set_config(run.id, run.config.model_dump())
        self._publish_status(run)
        return run

    def start_watchdog(self) -> None:
        self._watchdog = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        """Fail a run whose worker hangs: a command unanswered, or silence while running."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for run in self.live():
                if not run.ready:
                    continue  # still importing torch and building the model
                if run.unanswered:
                    command, sent_at = run.unanswered[0]
                    if now - max(sent_at, run.heard_at) > self.command_timeout:
                        self._fail(
                            run,
                            f"the worker did not carry out '{command}' within "
                            f"{self.command_timeout:g} s and was stopped",
                        )
                elif run.state is RunState.RUNNING and now - run.heard_at > self.command_timeout:
                    self._fail(
                        run,
                        f"the worker stopped responding for {self.command_timeout:g} s "
                        "while running and was stopped",
                    )

    def _fail(self, run: Run, reason: str) -> None:
        run.advance(Happening.FAIL, reason)
        self.history.set_state(run.id, run.state, reason)
        self._publish_status(run)
        if run.process is not None and run.process.is_alive():
            run.process.kill()

    def _end_if_alive(self, run: Run, what: str) -> None:
        if run.process is not None and run.process.is_alive():
            run.reason = f"the worker {what} within {STOP_GRACE:g} s and was killed"
            self.history.set_state(run.id, run.state, run.reason)
            run.process.kill()

    async def stop_all(self) -> None:
        """Stop every live run, letting each worker flush its last scalars, then end them all."""
        for run in self.live():
            run.advance(Happening.SHUTDOWN, "the server shut down")
            with contextlib.suppress(OSError):
                self._send(run, Control(command=Command.STOP))
            self.history.set_state(run.id, run.state, run.reason)
        waits = [asyncio.wait_for(run.exited.wait(), STOP_GRACE) for run in self._runs.values()]
        with contextlib.suppress(TimeoutError):
            await asyncio.gather(*waits, return_exceptions=True)
        for run in self._runs.values():
            if run.process is not None and run.process.is_alive():
                run.process.kill()
        if self._watchdog is not None:
            self._watchdog.cancel()

    # internals

    def _live(self, run_id: str, action: str) -> Run:
        run = self.get(run_id)
        if run.state not in LIVE_STATES:
            raise IllegalTransition(f"cannot {action} a run that is {run.state}")
        return run

    def _send(self, run: Run, message: WorkerCommand) -> None:
        assert run.commands is not None
        with contextlib.suppress(OSError):  # the worker is gone; the relay reports why
            run.commands.send(message)
            run.posted.value += 1  # after the send: the worker polls only once it sees this

    def _publish(self, target: Run, event: Event) -> None:
        self.hub.publish(target.id, Frame(FrameKind.EVENT, encode_event(event)))

    def _publish_status(self, run: Run) -> None:
        self._publish(run, Status.model_construct(run=run.info(), acknowledged=None))

    def _relay(self, run: Run, frames: Connection) -> None:
        """The reader thread: persist each message, then hand it to the event loop."""
        while True:
            try:
                message = frames.recv()
            except (EOFError, OSError):
                break
            self._persist(run, message)
            self._to_loop(self._on_message, run, message)
        if run.process is not None:
            run.process.join(timeout=STOP_GRACE)
        frames.close()
        self._to_loop(self._on_exit, run)

    def _to_loop(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop closed during shutdown
            self._loop.call_soon_threadsafe(callback, *args)

    def _persist(self, run: Run, message: WorkerMessage) -> None:
        match message:
            case ScalarsBatch():
                self.history.append_scalars(run.id, message.first_step, message.loss, message.race)
            case SnapshotFrame(step=step, frame=frame):
                self.history.put_snapshot(run.id, step, frame)
            case Ack(command=Command.RESET):
                self.history.clear_progress(run.id)
            case OptimizerChanged(step=step, optimizer=config, fresh=fresh):
                self.history.add_event(
                    run.id, step, "optimizer", {"optimizer": config.model_dump(), "fresh": fresh}
                )
                self.history.set_config(run.id, run.config.model_dump())
            case Failed(reason=reason) if allows(run.state, Happening.FAIL):
                self.history.set_state(run.id, RunState.FAILED, reason)

    def _on_message(self, run: Run, message: WorkerMessage) -> None:
        run.heard_at = time.monotonic()
        match message:
            case Ready():
                run.ready = True
                self._publish_status(run)
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
                )
                self.hub.publish(
                    run.id,
                    Frame(
                        FrameKind.SCALARS,
                        encode_event(event),
                        first_step=message.first_step,
                        last_step=run.step,
                    ),
                )
            case SnapshotFrame(frame=frame):
                self.hub.publish(run.id, Frame(FrameKind.SNAPSHOT, frame))
            case Ack(command=command):
                if run.unanswered:
                    run.unanswered.popleft()
                run.step, run.phase = message.step, message.phase
                if command is Command.RESET:
                    run.loss = None
                    self.hub.publish(
                        run.id,
                        Frame(FrameKind.EVENT, encode_event(Reset.model_construct()), resets=True),
                    )
                # `acknowledged` tells clients the worker has carried the command out: after a
                # pause, no scalars past this step will follow.
                self._publish(run, Status.model_construct(run=run.info(), acknowledged=command))
            case OptimizerChanged(step=step, optimizer=config, fresh=fresh):
                self._publish(
                    run, OptimizerMark.model_construct(step=step, optimizer=config, fresh=fresh)
                )
                self._publish_status(run)
            case Failed(reason=reason) if allows(run.state, Happening.FAIL):
                run.advance(Happening.FAIL, reason)
                self._publish_status(run)

    def _on_exit(self, run: Run) -> None:
        if allows(run.state, Happening.EXIT):
            code = None if run.process is None else run.process.exitcode
            run.advance(Happening.EXIT, exit_reason(code))
            self.history.set_state(run.id, run.state, run.reason)
            self._publish_status(run)
        run.exited.set()


def exit_reason(code: int | None) -> str:
    """Why a worker process ended, in words."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if -code == signal.SIGKILL:
            return f"the worker process was killed ({name}); the system may have run out of memory"
        if -code == signal.SIGSEGV:
            return f"the worker process crashed ({name}, a segmentation fault)"
        return f"the worker process was ended by {name}"
    return f"the worker process exited unexpectedly (exit code {code})"


def record_info(record: RunRecord) -> RunInfo:
    """What a run from an earlier server process looks like: its history, no worker."""
    experiment = EXPERIMENTS.get(record.experiment)
    return RunInfo.model_construct(
        id=record.id,
        experiment=record.experiment,
        title=experiment.title if experiment else record.experiment,
        config=stored_config(record.config),
        state=RunState(record.state),
        reason=record.reason,
        step=record.step,
        loss=None,
        phase=None,
        ready=False,
    )


def stored_config(config: dict[str, Any]) -> ExperimentConfig:
    """A config as the history kept it. One written by an older version that no longer validates
    is shown as it was stored rather than hiding the run."""
    try:
        return ExperimentConfig.model_validate(config)
    except ValueError:
        return ExperimentConfig.model_construct(**config)
