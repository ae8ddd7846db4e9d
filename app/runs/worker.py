"""The worker process: one per run, it owns the training loop and streams what it does.

Like a Jupyter kernel, training runs apart from the server: torch never blocks the event loop, a
crash takes only this process down, and a stop can always be enforced by ending it. Commands arrive
on one pipe, and messages leave on another, as tuples:

    ("ready", info)                 the loop is built
    ("scalars", first_step, losses, (t0, t1))  every step's loss, batched; t0 is the wall-clock
                                    time the batch's first step ended, t1 when it was sent
    ("snapshot", step, message)     an encoded snapshot (app.stream.protocol), at display rate
    ("ack", command, status)        a command took effect; status has step and phase
    ("optimizer", step, config, fresh)  the optimizer changed; fresh when its state starts anew
    ("failed", reason)              the loop raised; the process exits after this
"""

from __future__ import annotations

import contextlib
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any, Protocol

import torch
from pydantic import TypeAdapter

from app.engine.experiments import ExperimentConfig, Teaching
from app.engine.loop import Phase, TrainingLoop
from app.engine.optimizers import OptimizerConfig
from app.instrument.governor import Governor
from app.instrument.recorder import Recorder
from app.runs.race import Race
from app.runs.state import Command
from app.stream.protocol import encode_snapshot

FLUSH_INTERVAL = 0.05  # seconds between batches of scalars: 20 per second, like the frames
BATCH_ROWS_SHOWN = 8  # predictions beside targets, in a snapshot
MAX_BATCH = 4096  # steps per scalars message, so a very fast loop still flushes in bounded chunks


class Counter(Protocol):
    """A shared integer (multiprocessing's RawValue("q")): written by the server, read here."""

    value: int


_optimizer_config: TypeAdapter[Any] = TypeAdapter(OptimizerConfig)


class Session:
    """A training loop with its recorder, driven by commands."""

    def __init__(self, config: ExperimentConfig, out: Connection) -> None:
        self.out = out
        self.config = config
        self.running = False
        self._build()

    def _build(self) -> None:
        self.loop = TrainingLoop(self.config)
        self.recorder = Recorder(self.loop.parameters())
        self.recorder.attach(self.loop.optimizer)
        self.governor = Governor()
        self.pending: list[torch.Tensor] = []
        self.pending_since = time.time()
        self.flushed_at = time.perf_counter()
        self.next_step_at = 0.0
        self.race = Race(self.config) if self.config.experiment == "surface-2d" else None

    # what the loop reports

    def flush(self) -> None:
        if not self.pending:
            return
        # note: one host sync for the whole batch, rather than .item() per step
        losses = torch.stack(self.pending).tolist()
        first = self.loop.step - len(self.pending) + 1
        self.pending = []
        self.out.send(("scalars", first, losses, (self.pending_since, time.time())))
        self.flushed_at = time.perf_counter()

    def full_step(self) -> torch.Tensor:
        """One optimizer step of the run's loop, and of its racers, if it has any."""
        if self.race is None:
            return self.loop.run_step()
        self.race.about_to_move(self.loop)
        loss = self.loop.run_step()
        self.race.step_racers()
        return loss

    def record(self, loss: torch.Tensor) -> None:
        """Keep a step's loss (still a tensor: no sync) until the next flush."""
        if not self.pending:
            self.pending_since = time.time()
        self.pending.append(loss)

    def send_snapshot(self) -> None:
        self.flush()
        snapshot = self.recorder.snapshot(self.loop.optimizer)
        header = {
            "step": self.loop.step,
            "phase": self.loop.phase,
            "optimizer": self.loop.optimizer_config.model_dump(),
            **self.batch_so_far(),
            "race": None if self.race is None else self.race.view(self.loop),
            **snapshot.header,
        }
        self.out.send(("snapshot", self.loop.step, encode_snapshot(header, snapshot.data)))

    def batch_so_far(self) -> dict[str, Any]:
        """The current step's predictions, targets and loss, once the phases that make them ran.

        After zero_grad a new step has begun: the previous step's batch and loss are not shown as
        if they were this one's.
        """
        phase, loop = self.loop.phase, self.loop
        shown: dict[str, Any] = {"loss": None, "batch": None}
        if phase in (None, Phase.ZERO_GRAD) or loop.predictions is None or loop.targets is None:
            return shown
        rows = BATCH_ROWS_SHOWN
        shown["batch"] = {
            "size": len(loop.targets),
            "predictions": loop.predictions.detach()[:rows].flatten().tolist(),
            "targets": loop.targets[:rows].flatten().tolist(),
        }
        if phase is not Phase.FORWARD and loop.loss is not None:
            shown["loss"] = float(loop.loss.detach())
        return shown

    def status(self) -> dict[str, Any]:
        return {"step": self.loop.step, "phase": self.loop.phase, "mid_step": self.loop.mid_step}

    # what the loop does

    def train_step(self) -> None:
        started = time.perf_counter()
        due = self.governor.due(started)
        # A paced loop has time to spare: record every step, so that a pause shows the last
        # step's update. At full speed only the steps whose snapshot is due pay for it.
        if due or self.config.steps_per_second is not None:
            self.recorder.arm(explain=False)
            self.recorder.hook_seconds = 0.0
        self.record(self.full_step())
        if due:
            shipped = time.perf_counter()
            self.send_snapshot()
            now = time.perf_counter()
            self.governor.spent(now - shipped + self.recorder.hook_seconds, now)
        elif len(self.pending) >= MAX_BATCH or started - self.flushed_at >= FLUSH_INTERVAL:
            self.flush()

    def handle(self, command: str, payload: Any) -> bool:
        """Carry out one command; return False when the worker should exit."""
        match command:
            case Command.START:
                self.running = True
            case Command.PAUSE:
                self.running = False
                self.flush()
                self.send_snapshot()
            case Command.STEP:
                self.running = False
                self.recorder.arm(explain=True)
                self.record(self.full_step())
                self.send_snapshot()
            case Command.PHASE:
                self.running = False
                self.recorder.arm(explain=True)
                if self.race is not None:
                    self.race.about_to_move(self.loop)
                if self.loop.run_phase() is Phase.STEP:
                    if self.race is not None:
                        self.race.step_racers()
                    assert self.loop.loss is not None
                    self.record(self.loop.loss.detach())
                self.send_snapshot()
            case Command.RESET:
                self.running = False
                self.pending = []
                self.recorder.detach()
                self._build()
            case Command.STOP:
                self.running = False
                self.flush()
                self.recorder.detach()
                self.out.send(("ack", command, self.status()))
                return False
            case "optimizer":
                config = _optimizer_config.validate_python(payload)
                self.flush()
                fresh = self.loop.change_optimizer(config)
                if fresh:
                    self.recorder.attach(self.loop.optimizer)
                self.config = self.config.model_copy(update={"optimizer": config})
                self.out.send(("optimizer", self.loop.step, config.model_dump(), fresh))
                return True
            case "teaching":
                self.loop.teaching = Teaching.model_validate(payload)
                self.config = self.config.model_copy(update={"teaching": self.loop.teaching})
                return True
            case "steps_per_second":
                self.config = self.config.model_copy(update={"steps_per_second": payload})
                return True
        self.out.send(("ack", command, self.status()))
        return True

    def serve(self, commands: Connection, posted: Counter) -> None:
        """Carry out commands; while running, train between them.

        `posted` counts the commands the server has sent. Comparing it with the number received
        costs one memory read per step, where polling the pipe would cost a system call: on the
        seed experiment that is the difference between 4% and 10% of the step time.
        """
        self.out.send(("ready", {"parameters": [name for name, _ in self.loop.parameters()]}))
        received = 0
        while True:
            if self.running:
                wait = 0.0
                pace = self.config.steps_per_second
                if pace is not None:
                    wait = max(0.0, self.next_step_at - time.perf_counter())
                if (wait > 0.0 or posted.value > received) and commands.poll(wait):
                    received += 1
                    if not self.handle(*commands.recv()):
                        return
                    continue
                if pace is not None:
                    self.next_step_at = max(self.next_step_at, time.perf_counter()) + 1.0 / pace
                self.train_step()
            else:
                self.flush()
                received += 1
                if not self.handle(*commands.recv()):
                    return


def run_worker(config_json: str, commands: Connection, posted: Counter, out: Connection) -> None:
    """The worker process's entry point."""
    try:
        Session(ExperimentConfig.model_validate_json(config_json), out).serve(commands, posted)
    except (EOFError, BrokenPipeError):
        pass  # the server went away; nothing is listening for a report
    except BaseException as error:  # report anything, then exit: the server marks the run failed
        reason = "".join(traceback.format_exception_only(error)).strip()
        with contextlib.suppress(OSError, ValueError):
            out.send(("failed", reason))
