"""The run manager: the runs of this server process, and what clients may do with them.

Commands are checked against the run's state machine here, before they reach the worker, so an
illegal one is refused at once with a reason. Starting a worker is `spawn`, what it reports is
handled by `relay`, and a hung worker is caught by `watchdog`. An attached script's run has the
script for its worker (app/runs/attached.py): the same commands and settings reach it, except those
its own loop cannot take (`script_refusal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import time
import uuid
from pathlib import Path
from typing import Any

from app.contract.attach import Attach
from app.contract.attached import AttachedRun
from app.contract.checkpoint import CheckpointInfo
from app.contract.health import Instrumentation
from app.contract.run import AlertSettings, RunInfo
from app.contract.worker import (
    Control,
    SaveCheckpoint,
    SetAlerts,
    SetInstrumentation,
    SetOptimizer,
    SetPace,
    SetTeaching,
    WorkerCommand,
)
from app.engine.checkpoint import config_of
from app.engine.experiments import ExperimentConfig, Teaching
from app.engine.loop import changes_state_layout
from app.engine.optimizers import OptimizerConfig
from app.runs import watchdog
from app.runs.attached import Intake, ScriptLink
from app.runs.branch import lineage
from app.runs.publish import publish_status
from app.runs.relay import STOP_GRACE, Relay
from app.runs.run import ATTACHED, Run, TooManyRuns, UnknownRun, record_info, stored_attached
from app.runs.spawn import kill, send, spawn_worker
from app.runs.state import (
    LIVE_STATES,
    RESUMABLE_STATES,
    Command,
    Happening,
    IllegalTransition,
    RunState,
    allows,
)
from app.runs.worker import Persistence
from app.store.checkpoints import CheckpointStore, Saved, load_file
from app.store.history import History
from app.stream.hub import Hub

__all__ = ["RunManager", "TooManyRuns", "UnknownRun"]

STOPPED_FROM_PAGE = "stopped from the page: the script trains on, unobserved"
_OWN_LOOP = "an attached script's loop is its own"
# What an attached script cannot be asked, and what to do instead.
_SCRIPT_REFUSALS: dict[str, str] = {
    Command.PHASE: f"{_OWN_LOOP}: it runs whole steps, not one phase at a time; pause it and use "
    "step to let exactly one optimizer.step() through",
    Command.RESET: f"{_OWN_LOOP}: the server cannot take it back to step 0; stop watching it and "
    "start the script again",
    "teaching": f"{_OWN_LOOP}: its zero_grad, backward and accumulation are the script's code; "
    "change them there",
    "steps_per_second": f"{_OWN_LOOP}: it trains as fast as it runs; pause it, or step it one "
    "step at a time",
}


class RunManager:
    def __init__(
        self,
        history: History,
        hub: Hub,
        max_runs: int = 8,
        command_timeout: float = 15.0,
        checkpoints: CheckpointStore | None = None,
        checkpoint_every: float = 60.0,
    ) -> None:
        self.history = history
        # where runs keep their checkpoints; None: no checkpoints (and no resume)
        self.checkpoints = checkpoints
        self.checkpoint_every = checkpoint_every
        self.hub = hub
        self.max_runs = max_runs
        self.command_timeout = command_timeout
        self._watchdog: asyncio.Task[None] | None = None
        self._runs: dict[str, Run] = {}
        # Made in the lifespan, so on the event loop that the reader threads hand messages to.
        self._loop = asyncio.get_running_loop()
        self._relay = Relay(history, hub, self._loop)

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
        info = record_info(record)
        info.branch, info.branches = lineage(self.history, run_id)
        latest = None if self.checkpoints is None else self.checkpoints.latest(run_id)
        if latest is not None and info.attached is None:
            info.checkpoint = _checkpoint_info(latest)
        return info

    def all_info(self) -> list[RunInfo]:
        return [self.info(record.id) for record in self.history.runs()]

    async def forget(self, run_id: str) -> None:
        """Let go of a run whose history is about to be deleted (DELETE /api/runs/{id}). A live
        run is refused, not stopped for the caller: deleting is for runs that are over. A
        stopped run whose worker is still handing over what it wrote (its last scalars, its
        checkpoint) is waited for, as long as a stop may take, so that nothing is written after
        the delete."""
        run = self._runs.get(run_id)
        if run is None:
            return
        if run.state in LIVE_STATES:
            raise IllegalTransition(f"cannot delete a run that is {run.state}: stop it first")
        try:
            await asyncio.wait_for(run.exited.wait(), 2 * STOP_GRACE)
        except TimeoutError:
            raise IllegalTransition("the run is still stopping: delete it in a moment") from None
        self._runs.pop(run_id, None)

    def live(self) -> list[Run]:
        return [run for run in self._runs.values() if run.state in LIVE_STATES]

    # control

    def create(self, config: ExperimentConfig) -> Run:
        self._make_room()
        run = Run(id=uuid.uuid4().hex[:12], config=config)
        self.history.add_run(run.id, config.experiment, config.model_dump(), run.state)
        frames = spawn_worker(run, self._persistence(run.id))
        self._runs[run.id] = run
        self._relay.start(run, frames)
        return run

    def create_from_checkpoint(
        self, run_id: str, config: ExperimentConfig, checkpoint: Path, step: int
    ) -> Run:
        """A new run whose worker starts from a checkpoint already saved under its id (a branch:
        app/runs/branch.py), idle at the checkpoint's step."""
        self._make_room()
        run = Run(id=run_id, config=config, step=step)
        self.history.add_run(run.id, config.experiment, config.model_dump(), run.state)
        frames = spawn_worker(run, self._persistence(run.id, checkpoint))
        self._runs[run.id] = run
        self._relay.start(run, frames)
        return run

    def live_worker(self, run_id: str) -> Run | None:
        """The run, when a worker process of this server trains it now; else None."""
        run = self._runs.get(run_id)
        if run is None or run.process is None or run.state not in LIVE_STATES:
            return None
        return run

    def _persistence(self, run_id: str, resume: Path | None = None) -> Persistence | None:
        if self.checkpoints is None:
            return None
        return Persistence(
            root=str(self.checkpoints.root),
            run_id=run_id,
            every=self.checkpoint_every,
            resume=None if resume is None else str(resume),
        )

    # checkpoints and resume

    async def save_checkpoint(self, run_id: str) -> CheckpointInfo:
        """Ask the run's worker for a checkpoint now and wait for it: written at the step boundary
        the loop is at, or refused (mid-step, or no checkpoints kept) with the reason."""
        run = self._live(run_id, "save a checkpoint of")
        if run.attached is not None:
            raise IllegalTransition(
                f"{_OWN_LOOP}: its model and optimizer live in the script; save them there "
                "(torch.save of their state_dict)"
            )
        if self.checkpoints is None:
            raise IllegalTransition("this server keeps no checkpoints")
        future: asyncio.Future[CheckpointInfo] = self._loop.create_future()
        run.saving.append(future)
        send(run, SaveCheckpoint())
        try:
            return await asyncio.wait_for(future, self.command_timeout)
        except TimeoutError:
            raise IllegalTransition(
                f"the worker did not write the checkpoint within {self.command_timeout:g} s"
            ) from None

    def _resumable(self, run_id: str) -> bool:
        """Whether Start on this run means continuing an ended run from its checkpoint."""
        run = self._runs.get(run_id)
        if run is not None:
            return run.state in RESUMABLE_STATES
        record = self.history.run(run_id)
        return record is not None and record.state in RESUMABLE_STATES

    def _resume(self, run_id: str) -> None:
        """Continue an ended run (stopped, interrupted by a dead server, or failed) from its latest
        checkpoint that the history has every step of: a new worker restores it, paused at its
        step, and the history forgets the steps after it (they are trained again, exactly)."""
        record = self.history.run(run_id)
        if record is None:
            raise UnknownRun(run_id)
        if stored_attached(record) is not None:
            raise IllegalTransition(
                f"{_OWN_LOOP}: the server cannot continue it; run the script again"
            )
        old = self._runs.get(run_id)
        if old is not None and not old.exited.is_set():
            if old.unanswered:  # its worker has not yet flushed, saved and acknowledged the stop
                raise IllegalTransition("the run is still stopping: start it again in a moment")
            kill(old)  # it acknowledged: all it had to say is said, only its exit is left
        saved = self._checkpoint_to_resume(run_id, record.step)
        self._make_room()
        try:
            # (on the event loop: mapped, only the config and switches are read of it)
            state = load_file(saved.path, mmap=True)
            config = config_of(state)
        except (OSError, RuntimeError, ValueError, KeyError, pickle.UnpicklingError) as error:
            raise IllegalTransition(
                f"its checkpoint of step {saved.step} cannot be read ({error}): start a new run"
                " with its configuration"
            ) from None
        switches = state.get("switches", {})
        run = Run(id=run_id, config=config, _state=RunState(record.state), step=saved.step)
        run.alerts = AlertSettings(nonfinite=bool(switches.get("nonfinite", True)))
        budget = switches.get("budget")
        if budget is not None:
            run.instrumentation = Instrumentation(budget=budget)
        run.checkpoint = _checkpoint_info(saved)
        run.branch, run.branches = lineage(self.history, run_id)
        run.advance(Happening.RESUME, f"continued from the checkpoint of step {saved.step}")
        # the history holds the steps up to the checkpoint, and the run's config of that moment
        self.history.cut_after(run_id, saved.step)
        self.history.set_config(run_id, config.model_dump())
        self.history.set_state(run_id, run.state, run.reason)
        frames = spawn_worker(run, self._persistence(run_id, saved.path))
        self._runs[run_id] = run
        self._relay.start(run, frames)

    def _checkpoint_to_resume(self, run_id: str, recorded: int) -> Saved:
        """The latest checkpoint whose steps the history has all of. A worker flushes its scalars
        before it writes a checkpoint, but the server may die before it has stored them: then an
        earlier checkpoint continues the curve without a gap (the latest, if none does)."""
        found = [] if self.checkpoints is None else self.checkpoints.list(run_id)
        if not found:
            raise IllegalTransition(
                "the run has no checkpoint to continue from (it ended before its first one was "
                "written): start a new run with its configuration"
            )
        covered = [saved for saved in found if saved.step <= recorded]
        return covered[-1] if covered else found[-1]

    def attach(self, message: Attach, link: ScriptLink) -> Intake:
        """The run of an attached script: running already (its loop is training) and ready (its
        model is built), with the script behind `link` for its worker. The intake it returns
        takes the connection's messages; start it once the script has its Attached."""
        self._make_room()
        attached = AttachedRun(
            process=message.process,
            optimizer=message.optimizer,
            parameters=len(message.parameters),
        )
        run = Run(
            id=uuid.uuid4().hex[:12],
            config=None,
            ready=True,
            instrumentation=message.instrumentation,
            attached=attached,
            script=link,
        )
        run.advance(Command.START)
        self.history.add_run(run.id, ATTACHED, attached.model_dump(), run.state)
        self._runs[run.id] = run
        return Intake(run, link, self._relay, self.detach)

    def detach(self, run: Run, reason: str) -> None:
        """Stop watching an attached script (it trains on): its connection ended, or it sent what
        the server refuses. A Detach, a stop or a refusal that came first keeps its reason."""
        if allows(run.state, Happening.DETACH):
            run.advance(Happening.DETACH, reason)
            self.history.set_state(run.id, run.state, run.reason)
            publish_status(self.hub, run)

    def command(self, run_id: str, command: Command) -> Run:
        if command is Command.START and self._resumable(run_id):
            self._resume(run_id)
        run = self.get(run_id)
        reason = None
        if run.attached is not None:
            _refuse_for_script(command)
            reason = STOPPED_FROM_PAGE if command is Command.STOP else None
        run.advance(command, reason)
        send(run, Control(command=command))
        run.unanswered.append((command, time.monotonic()))
        if command is Command.STOP and run.script is not None:
            # The script acknowledges, unhooks itself and closes; one that does not is let go.
            self._loop.call_later(STOP_GRACE, run.script.close, 1000, "stopped from the page")
        elif command is Command.STOP:
            self._loop.call_later(STOP_GRACE, self._end_if_alive, run, "did not stop")
        self.history.set_state(run.id, run.state)
        publish_status(self.hub, run)
        return run

    def change_optimizer(self, run_id: str, optimizer: OptimizerConfig) -> Run:
        run = self._live(run_id, "change the optimizer of")
        if run.attached is not None:
            return self._change_script_optimizer(run, run.attached, optimizer)
        assert run.config is not None
        run.config = run.config.model_copy(update={"optimizer": optimizer})
        send(run, SetOptimizer.model_construct(optimizer=optimizer))
        # Kept at once, like the other settings: a server that stops before the worker reports the
        # change must not offer the old optimizer as "the same configuration".
        self.history.set_config(run.id, run.config.model_dump())
        return run

    def _change_script_optimizer(
        self, run: Run, attached: AttachedRun, optimizer: OptimizerConfig
    ) -> Run:
        """New hyperparameters for the script's own optimizer, written into its param_groups at
        its next step. Its class is the script's: the page can change only the fields of it."""
        current = attached.optimizer
        if current.config is None:
            raise IllegalTransition(
                f"the script's optimizer is {current.torch_class}, which has no fields Stepscope "
                "knows: its hyperparameters cannot be edited from the page"
            )
        if optimizer.name != current.config.name:
            raise IllegalTransition(
                f"the script's optimizer is {current.torch_class}; its class cannot change from "
                "the page, only its hyperparameters"
            )
        if changes_state_layout(current.config, optimizer):
            # A built-in run starts a fresh optimizer here; the script's cannot be replaced, and
            # its step() would raise KeyError for the state torch never made.
            raise IllegalTransition(
                f"turning on {_new_state_switch(current.config, optimizer)} mid-run needs "
                "optimizer state torch never made for the script's optimizer: restart the script "
                "with it"
            )
        current.config = optimizer
        send(run, SetOptimizer.model_construct(optimizer=optimizer))
        # Kept at once, as a built-in run's config is (change_optimizer).
        self.history.set_config(run.id, attached.model_dump())
        return run

    def change_teaching(self, run_id: str, teaching: Teaching) -> Run:
        return self._change(run_id, "teaching", teaching, SetTeaching(teaching=teaching))

    def change_pace(self, run_id: str, steps_per_second: float | None) -> Run:
        message = SetPace(steps_per_second=steps_per_second)
        return self._change(run_id, "steps_per_second", steps_per_second, message)

    def change_alerts(self, run_id: str, alerts: AlertSettings) -> Run:
        """Which alerts pause the run: kept with the live run, not in its stored config (an
        experiment's config says what is trained, not what is watched)."""
        run = self._live(run_id, "change the alerts of")
        run.alerts = alerts
        send(run, SetAlerts(alerts=alerts))
        publish_status(self.hub, run)
        return run

    def change_instrumentation(self, run_id: str, instrumentation: Instrumentation) -> Run:
        """The overhead budget: a setting of the live run, like its alerts (kept across a reset,
        not in the stored config)."""
        run = self._live(run_id, "change the instrumentation budget of")
        run.instrumentation = instrumentation
        send(run, SetInstrumentation(instrumentation=instrumentation))
        publish_status(self.hub, run)
        return run

    def _change(self, run_id: str, setting: str, value: Any, message: WorkerCommand) -> Run:
        """A live change the worker applies between steps, with no answer to wait for."""
        run = self._live(run_id, f"change the {setting} of")
        if run.config is None:
            raise IllegalTransition(_SCRIPT_REFUSALS[setting])
        run.config = run.config.model_copy(update={setting: value})
        send(run, message)
        self.history.set_config(run.id, run.config.model_dump())
        publish_status(self.hub, run)
        return run

    def _make_room(self) -> None:
        if len(self.live()) >= self.max_runs:
            raise TooManyRuns(f"at most {self.max_runs} runs can be live at once; stop one first")

    def _live(self, run_id: str, action: str) -> Run:
        run = self.get(run_id)
        if run.state not in LIVE_STATES:
            raise IllegalTransition(f"cannot {action} a run that is {run.state}")
        return run

    # ending runs

    def start_watchdog(self) -> None:
        self._watchdog = asyncio.create_task(
            watchdog.watch(self.live, self._fail, self.command_timeout)
        )

    def _fail(self, run: Run, reason: str) -> None:
        run.advance(Happening.FAIL, reason)
        self.history.set_state(run.id, run.state, reason)
        publish_status(self.hub, run)
        kill(run)

    def _end_if_alive(self, run: Run, what: str) -> None:
        if run.process is not None and run.process.is_alive():
            run.reason = f"the worker {what} within {STOP_GRACE:g} s and was killed"
            self.history.set_state(run.id, run.state, run.reason)
            kill(run)

    async def stop_all(self) -> None:
        """Stop every live run, letting each worker flush its last scalars, then end them all."""
        for run in self.live():
            run.advance(Happening.SHUTDOWN, "the server shut down")
            with contextlib.suppress(OSError):
                send(run, Control(command=Command.STOP))
            if run.script is not None:  # the stop goes out first, then the close
                run.script.close(1001, "the server shut down")
            self.history.set_state(run.id, run.state, run.reason)
        waits = [asyncio.wait_for(run.exited.wait(), STOP_GRACE) for run in self._runs.values()]
        with contextlib.suppress(TimeoutError):
            await asyncio.gather(*waits, return_exceptions=True)
        for run in self._runs.values():
            kill(run)
        if self._watchdog is not None:
            self._watchdog.cancel()


def _checkpoint_info(saved: Saved) -> CheckpointInfo:
    return CheckpointInfo.model_construct(
        step=saved.step, bytes=saved.bytes, saved_at=saved.saved_at, why=None
    )


def _refuse_for_script(command: Command) -> None:
    refusal = _SCRIPT_REFUSALS.get(command)
    if refusal is not None:
        raise IllegalTransition(refusal)


def _new_state_switch(old: OptimizerConfig, new: OptimizerConfig) -> str:
    """The switch of `new` that needs state `old` never made (changes_state_layout)."""
    for flag in ("amsgrad", "centered"):
        if getattr(new, flag, False) and not getattr(old, flag, False):
            return flag
    return "momentum"
