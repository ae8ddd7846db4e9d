"""A race: other optimizers run in lockstep with the run's own, from the same weights on the same
batches, on any experiment.

Each competitor is a TrainingLoop of its own (its own model and batch iterator) that starts from a
copy of the run's own weights and shares its data: the only difference between them is the
optimizer. Every step's loss of every racer is streamed beside the run's own, for the loss chart.
On the two-parameter surface experiment each competitor's (w, b) goes with it, for the map.
"""

from __future__ import annotations

import math

import torch

from app.contract.events import OwnPath, RaceSeries
from app.contract.snapshot import Racer
from app.engine.experiments import Batches, ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import entry_of

# The experiment whose (w, b) paths are drawn on a map of its loss surface.
SURFACE = "surface-2d"


def point(loop: TrainingLoop) -> tuple[float, float]:
    """(w, b) of the two-parameter model."""
    w, b = (float(p.detach().reshape(-1)[0]) for _, p in loop.parameters())
    return w, b


def title(loop: TrainingLoop) -> str:
    return entry_of(loop.optimizer_config).title


def _row(loss: torch.Tensor, loop: TrainingLoop, surface: bool) -> torch.Tensor:
    """(loss, w, b) of a loop after its step on the surface, (loss,) elsewhere; on the device."""
    if not surface:
        return loss.reshape(1)
    return torch.cat(
        [loss.reshape(1), *(p.detach().reshape(-1)[:1] for p in loop.model.parameters())]
    )


def racer_loop(config: ExperimentConfig, leader: TrainingLoop) -> TrainingLoop:
    """A loop with `config`'s optimizer that starts where `leader` is now: the same weights
    (copied, not re-initialised from the seed), the same data (shared, read only) and a batch
    iterator at the same place in the same order."""
    loop = TrainingLoop(config)
    with torch.no_grad():
        for (_, mine), (_, theirs) in zip(loop.parameters(), leader.parameters(), strict=True):
            mine.copy_(theirs)
    loop.data = leader.data
    loop.batches = Batches(leader.data, config.batch_size, config.seed)
    return loop


class Race:
    def __init__(self, config: ExperimentConfig, leader: TrainingLoop) -> None:
        self.surface = config.experiment == SURFACE
        self.racers = [
            racer_loop(config.model_copy(update={"optimizer": optimizer, "race": []}), leader)
            for optimizer in config.race
        ]
        self.before: dict[int, tuple[float, float]] = {}  # each loop's (w, b) before its step
        # every step's (loss[, w, b]) of the run itself (first row) and of each racer, as tensors
        # (no host sync) until the next flush
        self.pending: list[torch.Tensor] = []

    def about_to_move(self, loop: TrainingLoop) -> None:
        """Call before anything that may run `loop`'s step(): parameters only move there."""
        if self.surface:
            self.before[id(loop)] = point(loop)

    def step_racers(self, leader: TrainingLoop) -> None:
        """Step every racer once, after `leader` (the run's own loop) took its step."""
        assert leader.loss is not None
        rows = [_row(leader.loss.detach(), leader, self.surface)]
        for racer in self.racers:
            self.about_to_move(racer)
            rows.append(_row(racer.run_step(), racer, self.surface))
        self.pending.append(torch.stack(rows))

    def series(self) -> tuple[OwnPath | None, list[RaceSeries] | None]:
        """The racers' losses (and on the surface their (w, b) and the run's own) of every step
        since the last call: the racers step in lockstep with the run, so these align with its
        losses."""
        kept, self.pending = self.pending, []
        if not kept:
            return None, None
        table = torch.stack(kept).tolist()  # [step][leader, racers...][loss(, w, b)]
        if not self.surface:
            # Off the surface a racer has no (w, b): NaN, which the history keeps as NULL, keeps
            # the series' three lists aligned as the contract has them. No view draws them.
            blank = [math.nan] * len(table)
            racers = [
                RaceSeries.model_construct(
                    name=title(racer), loss=[row[i][0] for row in table], w=blank, b=blank
                )
                for i, racer in enumerate(self.racers, start=1)
            ]
            return None, racers or None
        path = OwnPath.model_construct(
            w=[row[0][1] for row in table], b=[row[0][2] for row in table]
        )
        racers = [
            RaceSeries.model_construct(
                name=title(racer),
                loss=[row[i][0] for row in table],
                w=[row[i][1] for row in table],
                b=[row[i][2] for row in table],
            )
            for i, racer in enumerate(self.racers, start=1)
        ]
        return path, racers or None

    def view(self, leader: TrainingLoop) -> list[Racer] | None:
        """On the surface: where each competitor is, where it was before its last step, and the
        step that plain gradient descent would have taken from there (−lr·g, what backward
        found). Elsewhere None: the loss chart draws the race from the series alone."""
        if not self.surface:
            return None
        shown = []
        for loop in (leader, *self.racers):
            grads = [
                None if p.grad is None else float(p.grad.reshape(-1)[0])
                for _, p in loop.parameters()
            ]
            lr = float(loop.optimizer.param_groups[0]["lr"])
            dw, db = grads
            shown.append(
                Racer.model_construct(
                    name=title(loop),
                    optimizer=loop.optimizer_config,
                    point=point(loop),
                    before=self.before.get(id(loop)),
                    gradient_step=None if dw is None or db is None else (-lr * dw, -lr * db),
                    loss=None if loop.loss is None else float(loop.loss.detach()),
                    step=loop.step,
                )
            )
        return shown
