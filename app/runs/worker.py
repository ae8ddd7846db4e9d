"""The worker process: one per run, it owns the training loop and streams what it does.

Like a Jupyter kernel, training runs apart from the server: torch never blocks the event loop, a
crash takes only this process down, and a stop can always be enforced by ending it. Commands arrive
on one pipe (`WorkerCommand`), and messages leave on another (`WorkerMessage`); both are defined in
app/contract/worker.py:

    Ready            the loop is built
    ScalarsBatch     every step's loss (and each racer's), batched; t0 is the wall-clock time the
                     batch's first step ended, t1 when it was sent
    SnapshotFrame    an encoded snapshot (app.stream.protocol), at display rate
    Ack              a command took effect, with the step and phase it left the loop at
    OptimizerChanged the optimizer changed; fresh when its state starts anew
    Alerted          a NaN or Inf was found (app/runs/nonfinite.py); a running loop paused itself
    Checkpointed     a checkpoint was written (on pause, on stop, on demand, every N seconds while
                     running; app/engine/checkpoint.py), after the scalars of its step
    Failed           the loop raised; the process exits after this
"""

from __future__ import annotations

import contextlib
import math
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Protocol

import torch

from app.contract.branch import Rewind
from app.contract.checkpoint import CheckpointInfo, SaveReason
from app.contract.events import Alert
from app.contract.health import BUDGET_DEFAULT
from app.contract.views import Evaluation
from app.contract.worker import (
    Ack,
    Alerted,
    Checkpointed,
    Control,
    Evaluated,
    Failed,
    HealthMeasured,
    OptimizerChanged,
    Ready,
    SaveCheckpoint,
    ScalarsBatch,
    SetAlerts,
    SetInstrumentation,
    SetOptimizer,
    SetPace,
    SetTeaching,
    SnapshotFrame,
    WorkerCommand,
    WorkerMessage,
)
from app.engine.checkpoint import CheckpointError, State, capture, config_of, restore_into
from app.engine.experiments import ExperimentConfig
from app.engine.loader import load_experiments
from app.engine.loop import Phase, TrainingLoop
from app.instrument.activity import Activity
from app.instrument.evaluation import Evaluator
from app.instrument.governor import Governor
from app.instrument.health import health_point
from app.instrument.overhead import OverheadMeter
from app.instrument.pictures import Block, Pictures
from app.instrument.recorder import Recorder, Snapshot
from app.instrument.stats import Scratch
from app.runs.header import snapshot_header
from app.runs.health_alerts import HealthWatch
from app.runs.nonfinite import NonfiniteWatch
from app.runs.race import Race
from app.runs.rewind import RewindRing, answer
from app.runs.state import Command
from app.store.checkpoints import CheckpointStore, load_file
from app.stream.protocol import encode_snapshot

FLUSH_INTERVAL = 0.05  # seconds between batches of scalars: 20 per second, like the frames
MAX_BATCH = 4096  # steps per scalars message, so a very fast loop still flushes in bounded chunks
# A running loop sends a health point with a snapshot at most this often: its distributions are
# kept in the history, which then grows by at most 2 points a second.
HEALTH_INTERVAL = 0.5  # seconds
# The run's instrumentation budget is the share of wall time all instrumentation may take:
# snapshots (with their hooks and health points) get this part of it, evaluation the rest. Each
# governor spaces its work by its own measured cost, so together they stay within the budget.
SNAPSHOT_SHARE = 0.8  # 4% for snapshots, 1% for evaluation at the default 5%


@dataclass(frozen=True)
class Persistence:
    """Where a worker keeps its run's checkpoints, how often it writes one while running, and
    the checkpoint it starts from (a run continued after a stop or a crash)."""

    root: str  # the data directory's checkpoints folder (app/store/checkpoints.py)
    run_id: str
    every: float  # seconds between checkpoints while running (--checkpoint-every)
    resume: str | None = None  # the checkpoint file to restore, or None for a new run


class Counter(Protocol):
    """A shared integer (multiprocessing's RawValue("q")): written by the server, read here."""

    value: int


class Session:
    """A training loop with its recorder, driven by commands."""

    def __init__(
        self, config: ExperimentConfig, out: Connection, persistence: Persistence | None = None
    ) -> None:
        self._out = out
        self.running = False
        self.watch_nonfinite = True  # the run's alerts.nonfinite setting, kept across a reset
        self.budget = BUDGET_DEFAULT  # the run's instrumentation budget, kept across a reset
        self.persistence = persistence
        self.store = None if persistence is None else CheckpointStore(Path(persistence.root))
        self.checkpoint_due = math.inf  # perf_counter of the next periodic checkpoint
        resumed = None
        if persistence is not None and persistence.resume is not None:
            resumed = load_file(Path(persistence.resume))
            config = config_of(resumed)  # the config of the checkpoint's moment
        self.config = config
        self.resumed = resumed is not None
        self._build()
        if resumed is not None:
            self._restore(resumed)
            self.ring = RewindRing(self.loop)  # the kept steps start at the resumed one

    def _restore(self, state: State) -> None:
        """Put the checkpoint into the loop (and racers) just built, RNG last; the switches of
        the run come back with it."""
        switches = state["switches"]
        self.watch_nonfinite = self.watch.enabled = bool(switches.get("nonfinite", True))
        self.budget = float(switches.get("budget", self.budget))
        self.share_budget()
        restore_into(self.loop, state, () if self.race is None else self.race.racers)
        # the checkpoint's step already has its evaluation in the history, if it was measured
        self.evaluated_at = self.loop.step

    def _build(self) -> None:
        self.loop = TrainingLoop(self.config)
        self.recorder = Recorder(self.loop.parameters())
        self.recorder.attach(self.loop.optimizer)
        self.governor = Governor()
        self.watch = NonfiniteWatch(self.loop, self.watch_nonfinite)
        self.pending: list[torch.Tensor] = []
        self.pending_since = time.time()
        self.flushed_at = time.perf_counter()
        self.next_step_at = 0.0
        # the surface streams the run's own (w, b) path even with no racers
        raced = self.config.race or self.config.experiment == "surface-2d"
        self.race = Race(self.config, self.loop) if raced else None
        loop = self.loop
        experiment = loop.experiment
        self.evaluator: Evaluator | None = None
        self.pictures: Pictures | None = None
        if experiment.pictured:
            self.evaluator = Evaluator(loop.data, experiment.task, loop.loss_fn)
            self.pictures = Pictures(
                loop.model, loop.data, experiment.task, loop.loss_fn, experiment.image_shape
            )
        # The step of the latest evaluation sent to the history. Step 0 is never sent: the loss
        # curve starts at step 1, and the untrained model is in the first snapshot's header.
        self.evaluated_at = 0
        # Evaluation is cheap on the small sets (well under a millisecond) and a validation curve
        # wants points: it has its own part of the budget and comes up to 10 times a second, with
        # a running loop's snapshot only when its own governor says it is due, and with every
        # command's (on the wide MLP one costs more than a snapshot).
        self.evaluation_governor = Governor(max_rate=10.0)
        self.latest_evaluation: Evaluation | None = None
        self.evaluation_seconds = 0.0  # what the latest evaluation cost
        self.share_budget()
        # Training health: the ReLU hooks, the alerts read off the health points, and what all
        # the instrumentation costs
        self.activity = Activity(loop.model)
        self.health_watch = HealthWatch()
        self.overhead = OverheadMeter()
        self.health_at = -math.inf  # perf_counter of the latest health point
        self.snapshot_interval = 1.0 / self.governor.max_rate  # the governor's spacing now
        self.health_scratch = Scratch()
        # the latest steps' states, for a branch (app/runs/rewind.py)
        self.ring = RewindRing(loop)

    def share_budget(self) -> None:
        """Split the run's instrumentation budget between snapshots and evaluation."""
        self.governor.budget = self.budget * SNAPSHOT_SHARE
        self.evaluation_governor.budget = self.budget * (1.0 - SNAPSHOT_SHARE)

    # what the loop reports

    def send(self, message: WorkerMessage) -> None:
        self._out.send(message)

    def flush(self) -> None:
        if not self.pending:
            return
        # note: one host sync for the whole batch, rather than .item() per step
        losses = torch.stack(self.pending).tolist()
        first = self.loop.step - len(self.pending) + 1
        self.pending = []
        path, race = (None, None) if self.race is None else self.race.series()
        self.send(
            ScalarsBatch.model_construct(
                first_step=first,
                loss=losses,
                t0=self.pending_since,
                t1=time.time(),
                race=race,
                path=path,
            )
        )
        self.flushed_at = time.perf_counter()

    def full_step(self) -> torch.Tensor | None:
        """One optimizer step of the run's loop, and of its racers, if it has any: its loss, or
        None when the NaN/Inf alert stopped the step after the phase that wrote one."""
        if self.race is not None:
            self.race.about_to_move(self.loop)
        if self.watch.enabled:
            loop, watch = self.loop, self.watch
            while (phase := loop.run_phase()) is not Phase.STEP:
                alert = watch.after_phase(phase)
                if alert is not None:
                    self.alert(alert)
                    return None
            watch.after_phase(phase)
            assert loop.loss is not None
            loss = loop.loss.detach()
        else:
            loss = self.loop.run_step()
        if self.race is not None:
            self.race.step_racers(self.loop)
        return loss

    def alert(self, alert: Alert) -> None:
        """Report an alert; a running loop pauses where it is, as a pause command would leave it:
        its scalars flushed, then the alert, then the snapshot of that moment."""
        paused = self.running
        self.running = False
        self.flush()
        loop = self.loop
        self.send(
            Alerted.model_construct(
                alert=alert.model_copy(update={"paused": paused}),
                at_step=loop.step,
                phase=loop.phase,
                mid_step=loop.mid_step,
            )
        )
        if paused:
            self.send_snapshot(health=True)
            if not loop.mid_step:  # (an alert found mid-step has no step boundary to keep)
                self.save_checkpoint(SaveReason.PAUSE)

    def record(self, loss: torch.Tensor | None) -> None:
        """Keep a step's loss (still a tensor: no sync) until the next flush."""
        if loss is None:  # the step stopped part-way: its loss comes when it completes
            return
        if not self.pending:
            self.pending_since = time.time()
        self.pending.append(loss)
        self.ring.after_step(self.loop)

    def send_snapshot(self, health: bool = False, evaluate: bool = True) -> None:
        """The snapshot of this moment; with `health`, its health point first. Without
        `evaluate` it carries the latest evaluation only if it is of this very step."""
        self.flush()
        started = time.perf_counter()
        loop = self.loop
        snapshot = self.recorder.snapshot(loop.optimizer)
        race = None if self.race is None else self.race.view(loop)
        evaluation, views, pictured = self.latest_evaluation, None, b""
        evaluated = 0.0
        if evaluate:
            measured = time.perf_counter()
            evaluation = self.evaluate()
            evaluated = self.evaluation_seconds = time.perf_counter() - measured
        elif evaluation is not None and evaluation.step != loop.step:
            evaluation = None
        if health:
            self.send_health(snapshot)
        if self.pictures is not None:
            block = Block(len(snapshot.data) // 4)
            confusion = None if self.evaluator is None else self.evaluator.confusion
            views = self.pictures.render(block, self.recorder.shown_updates, confusion)
            pictured = block.tobytes()
        header = snapshot_header(loop, snapshot, race, views, evaluation)
        frame = encode_snapshot(header, snapshot.data + pictured)
        self.send(SnapshotFrame.model_construct(step=loop.step, frame=frame))
        # what it cost, shown in the next health point (a running loop adds its hooks to it)
        self.overhead.snapshot_seconds = time.perf_counter() - started - evaluated

    def send_health(self, snapshot: Snapshot) -> None:
        """The health point of a snapshot, and the health alerts it starts (never pausing)."""
        loop = self.loop
        now = time.perf_counter()
        self.health_at = now
        overhead = self.overhead.reading(self.budget, self.snapshot_interval, now)
        units = self.activity.units()
        point = health_point(snapshot, loop.step, units, overhead, self.health_scratch)
        self.send(HealthMeasured.model_construct(point=point))
        if loop.mid_step:  # a phase command's point: the gradients of a step under way
            return
        for alert in self.health_watch.observe(point):
            self.send(
                Alerted.model_construct(
                    alert=alert, at_step=loop.step, phase=loop.phase, mid_step=False
                )
            )

    def show_untrained(self) -> None:
        """A pictured experiment shows its model before any step: the boundary of the untrained
        network, its diagram and its accuracy at step 0."""
        if self.pictures is not None:
            self.send_snapshot()

    def ack(self, command: Command) -> None:
        loop = self.loop
        self.send(
            Ack.model_construct(
                command=command, step=loop.step, phase=loop.phase, mid_step=loop.mid_step
            )
        )

    # what the loop does

    def evaluate(self) -> Evaluation | None:
        """Measure the model now, and send the point to the history unless its step has one."""
        if self.evaluator is None:
            return None
        loop = self.loop
        evaluation = self.evaluator.evaluate(loop.model, loop.step)
        self.latest_evaluation = evaluation
        if loop.step != self.evaluated_at:  # a pause after a pause: the same point again
            self.evaluated_at = loop.step
            self.flush()  # the step's loss goes before its evaluation
            self.send(Evaluated.model_construct(point=evaluation))
        return evaluation

    def save_checkpoint(self, why: SaveReason) -> None:
        """Write the loop's state now, after the scalars of its step; report it, or why not (the
        loop is mid-step, or the disk refused: the run goes on either way)."""
        self.flush()  # the history has every step the checkpoint holds before it hears of it
        persistence, store = self.persistence, self.store
        if persistence is None or store is None:  # (a worker made by a test, say)
            if why is SaveReason.DEMAND:
                refused = "this worker keeps no checkpoints"
                self.send(Checkpointed.model_construct(checkpoint=None, why=why, refused=refused))
            return
        racers = () if self.race is None else self.race.racers
        switches = {"nonfinite": self.watch_nonfinite, "budget": self.budget}
        try:
            state = capture(self.loop, self.config, racers, switches, clone=False)
            saved = store.save(persistence.run_id, state)
        except (CheckpointError, OSError) as error:
            self.send(Checkpointed.model_construct(checkpoint=None, why=why, refused=str(error)))
            return
        finally:
            self.checkpoint_due = time.perf_counter() + persistence.every
        info = CheckpointInfo.model_construct(
            step=saved.step, bytes=saved.bytes, saved_at=saved.saved_at, why=why
        )
        self.send(Checkpointed.model_construct(checkpoint=info, why=why, refused=None))

    def train_step(self) -> None:
        started = time.perf_counter()
        due = self.governor.due(started)
        health = due and started - self.health_at >= HEALTH_INTERVAL
        paced = self.config.steps_per_second is not None
        # A paced loop has time to spare: record every step, so that a pause shows the last
        # step's update (and its dead units). At full speed only the steps whose snapshot (or
        # health point) is due pay for it.
        if due or paced:
            self.recorder.arm(explain=False)
            self.recorder.hook_seconds = 0.0
        if health or paced:
            self.activity.arm()
        loss = self.full_step()
        self.activity.disarm()
        if loss is None:  # an alert paused the loop, and sent its snapshot
            return
        self.record(loss)
        if due:
            # a due snapshot measures the model only when evaluation's own governor says so
            evaluating = self.evaluator is not None and self.evaluation_governor.due(started)
            shipped = time.perf_counter()
            self.send_snapshot(health=health, evaluate=evaluating)
            now = time.perf_counter()
            evaluated = self.evaluation_seconds if evaluating else 0.0
            cost = now - shipped - evaluated + self.recorder.hook_seconds
            cost += self.activity.hook_seconds
            # The first running snapshot pays for first calls (buffers, lazy initialisation): the
            # governor does not charge it, and neither does the readout of what watching costs now.
            warming = not self.governor.warm
            self.governor.spent(cost, now)
            if evaluating:
                self.evaluation_governor.spent(evaluated, now)
            # (to the microsecond: the difference of two clock readings is not exactly 1/20 s)
            self.snapshot_interval = round(self.governor.next_at - now, 6)
            self.overhead.snapshot_seconds = cost
            self.overhead.charge(evaluated if warming else cost + evaluated, now)
        elif self.evaluator is not None and self.evaluation_governor.due(started):
            measured = time.perf_counter()
            self.evaluate()
            now = time.perf_counter()
            self.evaluation_governor.spent(now - measured, now)
            self.overhead.charge(now - measured, now)
        elif len(self.pending) >= MAX_BATCH or started - self.flushed_at >= FLUSH_INTERVAL:
            self.flush()
        if started >= self.checkpoint_due:
            self.save_checkpoint(SaveReason.PERIODIC)

    def handle(self, message: WorkerCommand) -> bool:
        """Carry out one command or setting; return False when the worker should exit."""
        match message:
            case Control(command=command):
                return self.control(command)
            case SetOptimizer(optimizer=config):
                self.flush()
                previous = self.loop.optimizer_config
                fresh = self.loop.change_optimizer(config)
                if fresh:
                    self.recorder.attach(self.loop.optimizer)
                self.config = self.config.model_copy(update={"optimizer": config})
                self.ring.settings_changed(self.loop)
                self.send(
                    OptimizerChanged.model_construct(
                        step=self.loop.step, optimizer=config, fresh=fresh, previous=previous
                    )
                )
            case SetTeaching(teaching=teaching):
                self.loop.teaching = teaching
                for racer in () if self.race is None else self.race.racers:
                    racer.teaching = teaching  # a race is in lockstep: the same loop but step()
                self.config = self.config.model_copy(update={"teaching": teaching})
                self.ring.settings_changed(self.loop)
            case SetPace(steps_per_second=pace):
                self.config = self.config.model_copy(update={"steps_per_second": pace})
            case SetAlerts(alerts=alerts):
                self.watch_nonfinite = self.watch.enabled = alerts.nonfinite
            case SetInstrumentation(instrumentation=instrumentation):
                self.budget = instrumentation.budget
                self.share_budget()
            case Rewind() as asked:
                self.flush()  # the branch copies the steps up to its fork from the history
                self.send(answer(self.ring, self.loop, self.store, asked))
            case SaveCheckpoint(why=why):
                self.save_checkpoint(why)
        return True

    def control(self, command: Command) -> bool:
        match command:
            case Command.START:
                self.running = True
                self.overhead.started(time.perf_counter())
                if self.persistence is not None:
                    self.checkpoint_due = time.perf_counter() + self.persistence.every
            case Command.PAUSE:
                self.running = False
                self.flush()
                self.send_snapshot(health=True)
                self.save_checkpoint(SaveReason.PAUSE)
            case Command.STEP:
                self.running = False
                self.recorder.arm(explain=True)
                self.activity.arm()
                self.record(self.full_step())
                self.activity.disarm()
                self.send_snapshot(health=True)
            case Command.PHASE:
                self.running = False
                self.recorder.arm(explain=True)
                if self.race is not None:
                    self.race.about_to_move(self.loop)
                self.activity.arm()
                phase = self.loop.run_phase()
                self.activity.disarm()
                alert = self.watch.after_phase(phase) if self.watch.enabled else None
                if alert is not None:
                    self.alert(alert)
                if phase is Phase.STEP:
                    if self.race is not None:
                        self.race.step_racers(self.loop)
                    assert self.loop.loss is not None
                    self.record(self.loop.loss.detach())
                self.send_snapshot(health=True)
            case Command.RESET:
                self.running = False
                self.pending = []
                if self.store is not None and self.persistence is not None:
                    # back at step 0 from the seed: the checkpoints of the old steps are not its
                    self.store.drop_after(self.persistence.run_id, -1)
                self.recorder.detach()
                self._build()
                self.ack(command)
                self.show_untrained()
                return True
            case Command.STOP:
                self.running = False
                self.flush()
                self.save_checkpoint(SaveReason.STOP)  # Start goes on from here
                self.recorder.detach()
                self.ack(command)
                return False
        self.ack(command)
        if command is Command.START and self.watch.enabled:
            # a tensor may have turned non-finite while the loop waited between phases
            alert = self.watch.check_now()
            if alert is not None:
                self.alert(alert)
        return True

    def serve(self, commands: Connection, posted: Counter) -> None:
        """Carry out commands; while running, train between them.

        `posted` counts the commands the server has sent. Comparing it with the number received
        costs one memory read per step, where polling the pipe would cost a system call: on the
        seed experiment that is the difference between 4% and 10% of the step time.
        """
        self.send(Ready.model_construct(parameters=[name for name, _ in self.loop.parameters()]))
        if self.resumed:
            self.send_snapshot(health=True)  # the model as the checkpoint left it
        else:
            self.show_untrained()
        received = 0
        while True:
            if self.running:
                wait = 0.0
                pace = self.config.steps_per_second
                if pace is not None:
                    wait = max(0.0, self.next_step_at - time.perf_counter())
                if (wait > 0.0 or posted.value > received) and commands.poll(wait):
                    received += 1
                    if not self.handle(commands.recv()):
                        return
                    continue
                if pace is not None:
                    self.next_step_at = max(self.next_step_at, time.perf_counter()) + 1.0 / pace
                self.train_step()
            else:
                self.flush()
                received += 1
                if not self.handle(commands.recv()):
                    return


def run_worker(
    config_json: str,
    commands: Connection,
    posted: Counter,
    out: Connection,
    experiment_files: Sequence[str] = (),
    persistence: Persistence | None = None,
) -> None:
    """The worker process's entry point. A spawned process starts with the built-in experiments
    only: it loads the server's experiment files again before it reads its config."""
    # One intra-op thread: the server, the browser and other runs share the machine's cores, and
    # an op that waits in a parallel region for a second thread the busy cores do not schedule
    # made the small models 10–30× slower (bench/experiments.py --threads, BENCHMARKS.md).
    torch.set_num_threads(1)
    try:
        for problem in load_experiments(Path(file) for file in experiment_files):
            raise RuntimeError(f"could not load experiments from {problem}")
        config = ExperimentConfig.model_validate_json(config_json)
        Session(config, out, persistence).serve(commands, posted)
    except (EOFError, BrokenPipeError):
        pass  # the server went away; nothing is listening for a report
    except BaseException as error:  # report anything, then exit: the server marks the run failed
        reason = "".join(traceback.format_exception_only(error)).strip()
        with contextlib.suppress(OSError, ValueError):
            out.send(Failed.model_construct(reason=reason))
