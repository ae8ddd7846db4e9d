"""An attached run's snapshots and health points, made as the built-in worker makes them
(app/runs/worker.py): the same recorder, statistics, health point, alerts and frame encoding, so
the page reads an attached run exactly as one of its own.

An attached loop is only ever seen at two moments: held at the gate (inside step(), before the
update: θ and the fresh gradients, phase "backward"), and just after a step (phase "step"). The
loss of the step under way is the script's to log, after step(): a snapshot has none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from app.contract.events import Alert
from app.contract.health import BUDGET_DEFAULT, HealthPoint
from app.contract.snapshot import (
    BackwardEffect,
    MicroBatch,
    SnapshotHeader,
    StepEffect,
)
from app.engine.experiments import Teaching
from app.engine.loop import Phase
from app.engine.optimizers import OptimizerConfig
from app.instrument.activity import Activity
from app.instrument.governor import Governor
from app.instrument.health import health_point
from app.instrument.overhead import OverheadMeter
from app.instrument.recorder import Recorder, Snapshot
from app.instrument.stats import Scratch
from app.runs.health_alerts import HealthWatch
from app.runs.worker import SNAPSHOT_SHARE
from app.stream.protocol import encode_snapshot

# as the worker: a health point at most twice a second while running (they are kept in history)
HEALTH_INTERVAL = 0.5  # seconds
SNAPSHOT_FLOOR = 0.2  # of the budget, kept for snapshots however much the hooks cost
_TEACHING = Teaching()  # an attached loop is the script's own: no switch of ours is in force
_ONE = MicroBatch.model_construct(index=1, of=1)


@dataclass(frozen=True)
class Made:
    """One snapshot's messages, in the order they go: the health point, its alerts, the frame."""

    health: HealthPoint | None
    alerts: list[Alert]
    frame: bytes
    nonfinite: Alert | None = None  # the first NaN or Inf the snapshot holds (pausing)


class Instruments:
    """The recorder and health instruments of one attached model and optimizer."""

    def __init__(
        self,
        parameters: list[tuple[str, torch.nn.Parameter]],
        model: torch.nn.Module,
        budget: float = BUDGET_DEFAULT,
    ) -> None:
        self.recorder = Recorder(parameters)
        # No copy of the parameters before every unarmed step: a built-in run keeps one so that a
        # pause, which lands after a step, shows that step's update; an attached loop is held
        # before its step(), where the page shows θ and the fresh gradients, and a Step records
        # its own update. The copy cost Linear(10, 1) 6 µs of its 240 µs step (2.5%).
        self.recorder.shadowing = False
        self.activity = Activity(model)
        # The run's budget is the share of wall time all watching may take. There is no
        # evaluation here (the data are the script's), but every step pays for the hooks and
        # log(), and the sender thread takes CPU: once measured (`charge_watching`), snapshots
        # get what they leave; until then the built-in worker's share (app/runs/worker.py).
        self._budget = budget
        self.watching_share: float | None = None  # the hooks', log()'s and sender's share
        self.governor = Governor(budget=budget * SNAPSHOT_SHARE)
        self.health_watch = HealthWatch()
        self.overhead = OverheadMeter()
        self.scratch = Scratch()
        self.health_at = -float("inf")  # perf_counter of the latest health point
        self.interval = 1.0 / self.governor.max_rate  # the governor's spacing now

    @property
    def budget(self) -> float:
        return self._budget

    @budget.setter
    def budget(self, budget: float) -> None:
        self._budget = budget
        self._share_out()

    def _share_out(self) -> None:
        """Snapshots get the budget less the watch's other costs, and never less than a floor:
        on a tiny model the hooks alone may approach the budget, and the views must still move."""
        budget = self._budget
        if self.watching_share is None:
            self.governor.budget = budget * SNAPSHOT_SHARE
        else:
            self.governor.budget = max(budget * SNAPSHOT_FLOOR, budget - self.watching_share)

    def charge_watching(self, seconds: float, now: float, elapsed: float) -> None:
        """What watching cost besides snapshots over the last `elapsed` seconds (the hooks and
        log() of every step, the sender thread): on the meter, and out of the snapshots' share."""
        if elapsed <= 0.0:
            return
        share = min(1.0, seconds / elapsed)
        last = self.watching_share
        self.watching_share = share if last is None else 0.8 * last + 0.2 * share
        self._share_out()
        self.overhead.charge(seconds, now)

    def health_due(self, now: float) -> bool:
        return now - self.health_at >= HEALTH_INTERVAL

    def make(
        self,
        optimizer: torch.optim.Optimizer,
        step: int,
        config: OptimizerConfig | None,
        held: bool,
        health: bool,
    ) -> Made:
        """The snapshot of this moment: `held` at the gate (before the update), else just after
        step() number `step`; with `health`, its health point (and the alerts it starts)."""
        started = time.perf_counter()
        snapshot = self.recorder.snapshot(optimizer)
        point = None
        alerts: list[Alert] = []
        if health:
            point = self._health(snapshot, step)
            if not held:  # a held point has the gradients of a step under way: no alerts
                alerts = self.health_watch.observe(point)
        effect = (
            BackwardEffect.model_construct(ran=True, micro_batch=1, micro_batches=1)
            if held
            else StepEffect.model_construct(moved=snapshot.moved())
        )
        header = SnapshotHeader.model_construct(
            step=step,
            phase=Phase.BACKWARD if held else Phase.STEP,
            loss=None,
            batch=None,
            race=None,
            optimizer=config,
            teaching=_TEACHING,
            effect=effect,
            micro_batch=_ONE,
            tensors=snapshot.tensors,
            views=None,
            evaluation=None,
        )
        frame = encode_snapshot(header, snapshot.data)
        self.overhead.snapshot_seconds = time.perf_counter() - started
        # (a held snapshot's gradients are those of the step under way: only a whole step's count)
        return Made(point, alerts, frame, None if held else nonfinite_in(snapshot, step))

    def _health(self, snapshot: Snapshot, step: int) -> HealthPoint:
        now = time.perf_counter()
        self.health_at = now
        overhead = self.overhead.reading(self._budget, self.interval, now)
        return health_point(snapshot, step, self.activity.units(), overhead, self.scratch)

    def charge(self, cost: float) -> None:
        """A running snapshot's cost (with its hooks'): spaces the next one within the budget."""
        now = time.perf_counter()
        warming = not self.governor.warm
        self.governor.spent(cost, now)
        self.interval = round(self.governor.next_at - now, 6)
        self.overhead.snapshot_seconds = cost
        if not warming:
            self.overhead.charge(cost, now)


def nonfinite_in(snapshot: Snapshot, step: int) -> Alert | None:
    """The nonfinite alert for the first NaN or Inf a snapshot holds: gradients first, then the
    optimizer's state, then the parameters, as app/runs/nonfinite.py surveys them (a gradient's
    NaN is spread by step() into the state and the parameters: it is where it began).

    The built-in worker screens every loss; an attached loop's loss is the script's own, read on a
    background thread. So here the statistics every snapshot already has are read (no extra pass
    over any tensor), and an attached loop pauses at the first snapshot that shows a NaN or Inf,
    within one snapshot interval of it."""
    for kind, phase in (("grad", Phase.BACKWARD), ("state", Phase.STEP), ("value", Phase.STEP)):
        for tensor in snapshot.tensors:
            for field, data in tensor.fields.items():
                if data is None or field.split(".", 1)[0] != kind:
                    continue
                nan, inf = data.stats.nan, data.stats.inf
                if not (nan or inf):
                    continue
                name = {"grad": f"{tensor.name}.grad", "value": tensor.name}.get(
                    field, f"{field} of {tensor.name}"
                )
                return Alert.model_construct(
                    kind="nonfinite",
                    step=step,
                    phase=phase,
                    tensor=name,
                    detail=f"{name} holds {nan} NaN and {inf} ±Inf of its {tensor.numel} "
                    f"elements, found at the snapshot after step {step} (an attached run is "
                    "checked at its snapshots, not at every step)",
                    paused=True,
                    history=False,
                )
    return None
