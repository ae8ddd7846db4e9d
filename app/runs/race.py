"""A race: other optimizers run in lockstep with the run's own, from the same start on the same
batches, on the two-parameter experiment whose loss surface can be drawn.

Each competitor is a full TrainingLoop of its own (its own model copy and batch iterator, both
seeded alike), so the only difference between them is the optimizer.
"""

from __future__ import annotations

from typing import Any

from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import OPTIMIZER_TITLES


def point(loop: TrainingLoop) -> list[float]:
    """(w, b) of the two-parameter model."""
    return [float(p.detach().reshape(-1)[0]) for _, p in loop.parameters()]


class Race:
    def __init__(self, config: ExperimentConfig) -> None:
        self.racers = [
            TrainingLoop(config.model_copy(update={"optimizer": optimizer, "race": []}))
            for optimizer in config.race
        ]
        self.before: dict[int, list[float]] = {}  # each loop's (w, b) before its last step

    def about_to_move(self, loop: TrainingLoop) -> None:
        """Call before anything that may run `loop`'s step(): parameters only move there."""
        self.before[id(loop)] = point(loop)

    def step_racers(self) -> None:
        for racer in self.racers:
            self.about_to_move(racer)
            racer.run_step()

    def view(self, leader: TrainingLoop) -> list[dict[str, Any]]:
        """Where each competitor is, where it was before its last step, and the step that plain
        gradient descent would have taken from there (−lr·g, what backward found)."""
        shown = []
        for loop in (leader, *self.racers):
            grads = [
                None if p.grad is None else float(p.grad.reshape(-1)[0])
                for _, p in loop.parameters()
            ]
            lr = float(loop.optimizer.param_groups[0]["lr"])
            name = getattr(loop.optimizer_config, "name", "")
            shown.append(
                {
                    "name": OPTIMIZER_TITLES.get(name, name),
                    "optimizer": loop.optimizer_config.model_dump(),
                    "point": point(loop),
                    "before": self.before.get(id(loop)),
                    "gradient_step": None
                    if None in grads
                    else [-lr * g for g in grads if g is not None],
                    "loss": None if loop.loss is None else float(loop.loss.detach()),
                    "step": loop.step,
                }
            )
        return shown
