"""The watch on a script's own loop: step hooks on its optimizer, the gate, and `log()`.

Three hooks bracket `optimizer.step()`, in this order (docs/attach.md):

    gate (pre-hook)      carries out the server's commands, in the order they came, on the training
                         thread; a pause holds the loop here, before the update, until a command
                         releases it; it arms the recorder when a snapshot is due
    recorder's hooks     keep θ before the step and make the update after it (app/instrument)
    after (post-hook)    counts the step and sends the snapshot that was due

Every command is carried out in the gate, so its Ack leaves in command order, and the loop is held
again before a pause's or a step's Ack is sent. Nothing here waits on the network: messages go to
the link's outbox (stepscope/link.py), which never blocks. Hooks are never removed while step() is
iterating over them (torch raises on that): a stopped watch turns its hooks into no-ops and removes
them at the next `log()` or `close()`.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from collections import deque
from dataclasses import replace
from types import TracebackType
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

from app.contract.attach import Detach, Dropped
from app.contract.worker import (
    Ack,
    Alerted,
    Control,
    HealthMeasured,
    OptimizerChanged,
    SetAlerts,
    SetInstrumentation,
    SetOptimizer,
    WorkerCommand,
)
from app.engine.loop import Phase, changes_state_layout
from app.engine.optimizers import OptimizerConfig
from app.instrument.governor import Governor
from app.runs.state import Command
from app.stream.protocol import to_json
from stepscope.frames import Instruments, Made
from stepscope.link import Link, Row, Scalars
from stepscope.optimizer import write_changes

FLUSH_INTERVAL = 0.05  # seconds between batches of scalars, as the built-in worker
MAX_BATCH = 4096  # steps per scalars message
SCALARS_MAX = 1_000_000  # steps of scalars kept while the server is slow; beyond, dropped
NAMES_MAX = 32  # names logged besides the loss (app/contract/attach.py)
NAME_MAX = 100
DROPPED_INTERVAL = 1.0  # seconds between two Dropped reports
_clock = time.perf_counter


def _smoothed(mean: float, sample: float) -> float:
    """A running mean of sampled costs; the first sample sets it. A sample is capped at four
    times the mean, so one step stalled by the scheduler or a GC does not move it far."""
    return sample if mean == 0.0 else 0.9 * mean + 0.1 * min(sample, 4.0 * mean)


def _warn(text: str) -> None:
    print(f"stepscope: {text}", file=sys.stderr, flush=True)


class Watch:
    """What `stepscope.attach` returns: log scalars with `log()`, end with `close()` (or `with`,
    or the script's exit)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        instruments: Instruments | None,
        link: Link | None,
        config: OptimizerConfig | None,
        run_id: str | None = None,
        url: str | None = None,
    ) -> None:
        self.optimizer = optimizer
        self.run_id, self.url = run_id, url
        self.step = 0  # step() calls completed while watched
        self.dropped_snapshots = 0
        self.dropped_scalars = 0
        self._instruments = instruments
        self._link = link
        self._config = config  # the optimizer's hyperparameters as the page has them
        self._rows: list[Row] = []
        self._rows_t0 = 0.0
        self._flushed_at = time.perf_counter()
        self._names: set[str] = set()
        self._warned: set[str] = set()
        # filled by the receiver thread, emptied by the gate on the training thread
        self._commands: deque[WorkerCommand] = deque()
        self._wake = threading.Condition()
        self._lost = False  # the server is gone (set by the link's threads)
        self._done = instruments is None or link is None  # not watching (any more)
        self._closed = False
        self._owed: Command | None = None  # a step let through: its Ack goes at the next gate
        self._watch_nonfinite = True  # the run's alerts.nonfinite (SetAlerts)
        self._alerted = False  # a nonfinite alert fired, and no snapshot since was finite
        self._hold_next = False  # the alert paused the loop: hold at the next gate
        self._due = False  # a running snapshot is due after the step under way
        self._watching_forward = False  # the ReLU hooks are on, for the next health point
        self._health = False  # ... with a health point
        self._dropped_sent = (0, 0)
        self._dropped_at = -float("inf")
        self._handles: list[RemovableHandle] = []
        # What the watch costs every step, besides snapshots: one step's hooks and one log() are
        # timed after each flush (timing every step would be a cost of its own); with the sender
        # thread's CPU it is charged to the budget at each flush (`_account`).
        self._sample = True  # time the next step's hooks
        self._sampled_gate = 0.0  # the sampled step's gate, until its post-hook adds its own
        self._sample_log = False  # time the next log()
        self._hooks_seconds = 0.0  # a step's hooks, smoothed over the samples
        self._log_seconds = 0.0  # a log(), smoothed
        self._accounted = (time.perf_counter(), 0, 0.0)  # when, self.step, link.sender_seconds
        self._governor = Governor() if instruments is None else instruments.governor
        if instruments is not None and not self._done:
            # the gate before the recorder's hooks, the post-hook after them (see the docstring)
            self._handles.append(optimizer.register_step_pre_hook(self._gate))
            instruments.recorder.attach(optimizer)
            self._handles.append(optimizer.register_step_post_hook(self._after_step))
            instruments.overhead.started(time.perf_counter())
            # the first snapshot carries a health point: its forward's ReLUs are watched
            instruments.activity.arm()
            self._watching_forward = True
        atexit.register(self._at_exit)

    # the link's threads

    def command(self, command: WorkerCommand) -> None:
        """A command from the server (receiver thread): queued for the next gate."""
        with self._wake:
            self._commands.append(command)
            self._wake.notify_all()

    def lost(self) -> None:
        """The server is gone (link thread): a held loop resumes."""
        with self._wake:
            self._lost = True
            self._wake.notify_all()

    # what the script calls

    def log(self, **scalars: torch.Tensor | float) -> None:
        """Scalars of the latest step (the number of step() calls so far): tensors are kept as
        they are and read on a background thread, never here. A second log() for the same step
        adds to the first (a name given twice keeps the later value)."""
        if self._done:
            self._unhook()  # a stopped watch's hooks go here, outside step()
            return
        began = _clock() if self._sample_log else 0.0
        step = self.step
        if step == 0:
            self._warn_once("before", "log() before the first step() is not recorded")
            return
        values: dict[str, torch.Tensor | float] = {}
        for name, value in scalars.items():
            if isinstance(value, torch.Tensor):
                if value.numel() != 1:
                    raise ValueError(f"log({name}=…): a scalar, not a tensor of {value.numel()}")
                kept: torch.Tensor | float = value.detach()
            elif isinstance(value, int | float):
                kept = float(value)
            else:
                raise TypeError(f"log({name}=…): a number or a one-element tensor, not {value!r}")
            if name != "loss" and name not in self._names:
                if len(self._names) >= NAMES_MAX or len(name) > NAME_MAX:
                    self._warn_once(
                        name,
                        f"log({name}=…) is not recorded: at most {NAMES_MAX} names besides the "
                        f"loss, of at most {NAME_MAX} characters",
                    )
                    continue
                self._names.add(name)
            values[name] = kept
        rows = self._rows
        if rows and rows[-1].step == step:
            rows[-1].values.update(values)
        elif len(rows) >= SCALARS_MAX:
            self.dropped_scalars += 1
        else:
            if not rows:
                self._rows_t0 = time.time()
            rows.append(Row(step, values))
        if began:
            self._sample_log = False
            self._log_seconds = _smoothed(self._log_seconds, _clock() - began)

    def close(self, reason: str | None = None) -> None:
        """Send what is left and detach: the run's page says the script ended. Waits at most ~2 s
        for the network."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._at_exit)
        link = self._link
        watching = not self._done
        if watching:
            self._flush(essential=True)
            self._report_dropped(force=True)
        self._stop_watching()
        self._unhook()
        if watching and link is not None and link.lost is None:
            why = reason or f"the script closed its watch at step {self.step}"
            link.close(to_json(Detach.model_construct(reason=why)))

    def __enter__(self) -> Watch:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
        else:
            self.close(f"the script raised {type(error).__name__}: {error}"[:500])

    def _at_exit(self) -> None:
        self.close(f"the script exited at step {self.step}")

    # the hooks

    def _gate(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        # (every step pays for this method and _after_step: attribute reads only, unless a
        # command, a snapshot or a flush is due)
        if self._done:
            return
        began = _clock() if self._sample else 0.0
        instruments = self._instruments
        assert instruments is not None
        if self._watching_forward:  # the forward it watched has run
            self._watching_forward = False
            instruments.activity.disarm()
        held = False
        if self._hold_next:  # a nonfinite alert paused the loop (it was sent, with its snapshot)
            self._hold_next = False
            self._hold_snapshot()
            held = True
        elif self._owed is Command.STEP:  # the step let through is done: hold again
            self._owed = None
            self._hold_snapshot()
            self._ack(Command.STEP)
            held = True
        if held or self._commands or self._lost:
            self._obey(held)
            if self._done:
                return
        if self._owed is None:
            now = _clock()
            if began and not held:  # (a held gate's time is the pause's, not the watch's)
                self._sampled_gate = now - began
            if now >= self._governor.next_at:
                self._due = True
                self._health = instruments.health_due(now)
                instruments.recorder.arm(explain=False)
                instruments.recorder.hook_seconds = 0.0

    def _after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.step += 1
        if self._done:
            return
        now = _clock()
        gate, self._sampled_gate = self._sampled_gate, 0.0
        if self._due:
            self._snapshot_after_step(now)
            return  # (a snapshot's step is charged with the snapshot, and not sampled)
        if now - self._flushed_at >= FLUSH_INTERVAL or len(self._rows) >= MAX_BATCH:
            self._flush()
            self._flushed_at = now  # (also when nothing left: a full outbox is tried again later)
            self._between_flushes(now)
        elif gate:
            self._sample = False
            self._sample_log = True
            self._hooks_seconds = _smoothed(self._hooks_seconds, gate + _clock() - now)

    def _snapshot_after_step(self, started: float) -> None:
        """The running snapshot that was due, charged to the budget with its hooks."""
        instruments = self._instruments
        assert instruments is not None
        self._due = False
        self._flush()
        made = instruments.make(self.optimizer, self.step, self._config, False, self._health)
        if made.nonfinite is None:
            self._alerted = False
        elif self._watch_nonfinite and not self._alerted:
            self._alerted = self._hold_next = True
        else:
            made = replace(made, nonfinite=None)
        self._send(made, at_step=self.step, held=False)
        cost = _clock() - started + instruments.recorder.hook_seconds
        instruments.charge(cost + instruments.activity.hook_seconds)

    def _between_flushes(self, now: float) -> None:
        """What is checked at each flush (20 times a second at most), not at every step."""
        instruments = self._instruments
        assert instruments is not None
        if (
            self._owed is None
            and not self._watching_forward
            and now >= self._governor.next_at - FLUSH_INTERVAL
            and instruments.health_due(now)
        ):
            # the next snapshot is near and carries a health point: watch the forwards until it
            instruments.activity.arm()
            self._watching_forward = True
        if (self.dropped_snapshots, self.dropped_scalars) != self._dropped_sent:
            self._report_dropped()
        self._account(now)

    def _account(self, now: float) -> None:
        """Charge what watching cost since the last flush besides snapshots: the hooks and log()
        of every step, and the sender thread's CPU. The governor gives snapshots what is left of
        the budget, so that the whole watch, not only its snapshots, keeps within it."""
        instruments, link = self._instruments, self._link
        assert instruments is not None and link is not None
        at, step, sender = self._accounted
        steps = self.step - step
        spent = steps * (self._hooks_seconds + self._log_seconds) + link.sender_seconds - sender
        instruments.charge_watching(spent, now, now - at)
        self._accounted = (now, self.step, link.sender_seconds)
        self._sample = True

    # the commands, on the training thread

    def _next(self, wait: bool) -> WorkerCommand | None:
        with self._wake:
            while not self._commands:
                if not wait or self._lost:
                    return None
                self._wake.wait()
            return self._commands.popleft()

    def _obey(self, held: bool) -> None:
        """Carry out the queued commands; while held, wait for more until one releases the loop
        (or lets one step through, or the server is lost)."""
        instruments = self._instruments
        assert instruments is not None
        while True:
            command = self._next(wait=held)
            if command is None:
                if self._lost:
                    if held:
                        _warn(f"the paused loop resumes at step {self.step}")
                    self._stop_watching()
                return
            match command:
                case Control(command=Command.PAUSE):
                    if not held:
                        self._hold_snapshot()
                        held = True
                    self._ack(Command.PAUSE)
                case Control(command=Command.START):
                    self._ack(Command.START)
                    instruments.overhead.started(time.perf_counter())
                    held = False
                case Control(command=Command.STEP):
                    # this step() goes through, recorded with its rule written out; the next
                    # forward's ReLUs are watched for the health point of the hold after it
                    instruments.recorder.arm(explain=True)
                    instruments.recorder.hook_seconds = 0.0
                    instruments.activity.arm()
                    self._watching_forward = True
                    self._owed = Command.STEP
                    return
                case Control(command=Command.STOP):
                    self._flush(essential=True)
                    self._ack(Command.STOP)
                    self._stop_watching()
                    link = self._link
                    if link is not None:  # closing waits on the network: not on this thread
                        threading.Thread(target=link.close, args=(None,), daemon=True).start()
                    return
                case SetOptimizer(optimizer=config):
                    self._change_optimizer(config)
                case SetInstrumentation(instrumentation=instrumentation):
                    instruments.budget = instrumentation.budget
                case SetAlerts(alerts=alerts):
                    self._watch_nonfinite = alerts.nonfinite
                case _:
                    # phase and reset are refused by the server (the loop is the script's)
                    pass

    def _change_optimizer(self, config: OptimizerConfig) -> None:
        previous = self._config
        if previous is None or getattr(config, "name", None) != getattr(previous, "name", None):
            return  # the server refuses a class change; never write another class's fields
        if self.optimizer.state and changes_state_layout(previous, config):
            # torch made the state on the first step: amsgrad, centered or RMSprop's momentum
            # turned on now would make the next step() raise KeyError in the user's loop
            _warn(
                "an edit from the page was not applied: it turns on amsgrad, centered or "
                "RMSprop's momentum, whose state torch made (without it) on the first step"
            )
            return
        self._flush(essential=True)
        write_changes(self.optimizer, previous, config)
        self._config = config
        message = OptimizerChanged.model_construct(
            step=self.step, optimizer=config, fresh=False, previous=previous
        )
        self._text(to_json(message))

    def _hold_snapshot(self) -> None:
        """The held loop's snapshot: θ and the fresh gradients before the update."""
        instruments = self._instruments
        assert instruments is not None
        self._flush(essential=True)
        made = instruments.make(self.optimizer, self.step, self._config, True, True)
        self._send(made, at_step=self.step, held=True)

    # what leaves

    def _ack(self, command: Command) -> None:
        ack = Ack.model_construct(
            command=command, step=self.step, phase=Phase.BACKWARD, mid_step=True
        )
        self._text(to_json(ack))

    def _text(self, text: str) -> None:
        if self._link is not None:
            self._link.outbox.put_text(text)

    def _send(self, made: Made, at_step: int, held: bool) -> None:
        link = self._link
        if link is None:
            return
        if made.health is not None:
            link.outbox.put_text(to_json(HealthMeasured.model_construct(point=made.health)))
        for alert in made.alerts:
            alerted = Alerted.model_construct(
                alert=alert, at_step=at_step, phase=Phase.STEP, mid_step=False
            )
            link.outbox.put_text(to_json(alerted))
        if made.nonfinite is not None:  # it pauses the loop: its snapshot must not be dropped
            alerted = Alerted.model_construct(
                alert=made.nonfinite, at_step=at_step, phase=Phase.STEP, mid_step=False
            )
            link.outbox.put_text(to_json(alerted))
            held = True
        if not link.outbox.put_frame(made.frame, essential=held):
            self.dropped_snapshots += 1

    def _flush(self, essential: bool = False) -> None:
        """Hand the kept rows to the link in batches; what the outbox refuses stays, in order."""
        rows = self._rows
        if not rows:
            return
        link = self._link
        if link is None or link.lost is not None:
            return
        sent = 0
        while sent < len(rows):
            chunk = rows[sent : sent + MAX_BATCH]
            t0 = self._rows_t0 if sent == 0 else time.time()
            if not link.outbox.put_scalars(Scalars(chunk, t0), essential):
                break
            sent += len(chunk)
        if sent:
            del rows[:sent]
            self._rows_t0 = time.time()
            self._flushed_at = time.perf_counter()

    def _report_dropped(self, force: bool = False) -> None:
        now = time.perf_counter()
        counts = (self.dropped_snapshots, self.dropped_scalars)
        if counts == self._dropped_sent or (
            not force and now - self._dropped_at < DROPPED_INTERVAL
        ):
            return
        self._dropped_sent, self._dropped_at = counts, now
        self._text(to_json(Dropped.model_construct(snapshots=counts[0], scalars=counts[1])))

    # the end of watching

    def _stop_watching(self) -> None:
        """Stop observing: every hook becomes a no-op now, and is removed outside step()."""
        self._done = True
        instruments = self._instruments
        if instruments is not None:
            instruments.activity.disarm()
            instruments.recorder.armed = False
            instruments.recorder.shadowing = False  # its pre-hook now returns at once
        self._rows = []

    def _unhook(self) -> None:
        if self._instruments is not None:
            self._instruments.recorder.detach()
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _warn(text)
