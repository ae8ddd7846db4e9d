"""A race: other optimizers run in lockstep with the run's own, from the same start on the same
batches, on the two-parameter experiment whose loss surface can be drawn.

Each competitor is a full TrainingLoop of its own (its own model copy and batch iterator, both
seeded alike), so the only difference between them is the optimizer.
"""

from __future__ import annotations

import torch

from app.contract.events import OwnPath, RaceSeries
from app.contract.snapshot import Racer
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import entry_of


def point(loop: TrainingLoop) -> tuple[float, float]:
    """(w, b) of the two-parameter model."""
    w, b = (float(p.detach().reshape(-1)[0]) for _, p in loop.parameters())
    return w, b


def title(loop: TrainingLoop) -> str:
    return entry_of(loop.optimizer_config).title


def _row(loss: torch.Tensor, loop: TrainingLoop) -> torch.Tensor:
    """(loss, w, b) of a loop after its step, still on the device."""
    return torch.cat(
        [loss.reshape(1), *(p.detach().reshape(-1)[:1] for p in loop.model.parameters())]
    )


class Race:
    def __init__(self, config: ExperimentConfig) -> None:
        self.racers = [
            TrainingLoop(config.model_copy(update={"optimizer": optimizer, "race": []}))
            for optimizer in config.race
        ]
        self.before: dict[int, tuple[float, float]] = {}  # each loop's (w, b) before its step
        # every step's (loss, w, b) of the run itself (first row) and of each racer, as tensors
        # (no host sync) until the next flush
        self.pending: list[torch.Tensor] = []

    def about_to_move(self, loop: TrainingLoop) -> None:
        """Call before anything that may run `loop`'s step(): parameters only move there."""
        self.before[id(loop)] = point(loop)

    def step_racers(self, leader: TrainingLoop) -> None:
        """Step every racer once, after `leader` (the run's own loop) took its step."""
        assert leader.loss is not None
        rows = [_row(leader.loss.detach(), leader)]
        for racer in self.racers:
            self.about_to_move(racer)
            rows.append(_row(racer.run_step(), racer))
        self.pending.append(torch.stack(rows))

    def series(self) -> tuple[OwnPath | None, list[RaceSeries] | None]:
        """The run's own (w, b) and the racers' losses and (w, b) of every step since the last
        call: the racers step in lockstep with the run, so these align with its losses."""
        kept, self.pending = self.pending, []
        if not kept:
            return None, None
        table = torch.stack(kept).tolist()  # [step][leader, racers...][loss, w, b]
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

    def view(self, leader: TrainingLoop) -> list[Racer]:
        """Where each competitor is, where it was before its last step, and the step that plain
        gradient descent would have taken from there (−lr·g, what backward found)."""
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
