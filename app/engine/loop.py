"""The training loop, as the five phases of one optimizer step.

`phases()` is the loop a newcomer reads: zero_grad, forward, loss, backward, step, in that order.
It yields after each phase so that the worker can run one phase at a time (to show what each one
changed) or a whole step at once; the code view in the browser shows this very function.
"""

from __future__ import annotations

import enum
import inspect
import textwrap
from collections.abc import Iterator
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn

from app.engine.experiments import EXPERIMENTS, Batches, ExperimentConfig
from app.engine.optimizers import OptimizerConfig, apply_hyperparameters, build_optimizer


class Phase(enum.StrEnum):
    ZERO_GRAD = "zero_grad"
    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    STEP = "step"


PHASES: tuple[Phase, ...] = tuple(Phase)
# module constants for run_phase's identity tests: a global read is cheaper than Phase.X
_ZERO_GRAD, _FORWARD, _BACKWARD, _STEP = Phase.ZERO_GRAD, Phase.FORWARD, Phase.BACKWARD, Phase.STEP


class TrainingLoop:
    def __init__(self, config: ExperimentConfig) -> None:
        experiment = EXPERIMENTS[config.experiment]
        # Seed the global generator: nn.Module initialisation draws from it. Same seed, same run.
        torch.manual_seed(config.seed)
        self.config = config
        self.experiment = experiment
        self.model: nn.Module = experiment.model(config)
        self.loss_fn: nn.Module = experiment.make_loss(config)
        self.data = experiment.data(config)
        self.batches = Batches(self.data, config.batch_size, config.seed)
        self.optimizer_config: OptimizerConfig = config.optimizer
        self.optimizer = build_optimizer(config.optimizer, self.model.parameters())
        self.teaching = config.teaching
        self.step = 0  # optimizer steps taken
        self.inputs: torch.Tensor | None = None
        self.targets: torch.Tensor | None = None
        self.predictions: torch.Tensor | None = None
        self.loss: torch.Tensor | None = None
        self._phases: Iterator[Phase] | None = None
        self.phase: Phase | None = None  # the last phase that ran
        # What the last phases really did, with the teaching switches of the moment they ran: the
        # page says "gradients were cleared" only when they were.
        self.cleared = False  # the last zero_grad phase cleared the gradients
        self.backward_ran = False  # the last backward phase ran backward()
        self.micro_batch = 1  # the micro-batch of the latest forward, 1-based
        self.micro_batches = config.teaching.accumulate  # micro-batches in the current step

    def phases(self) -> Iterator[Phase]:
        if self.teaching.zero_grad:  # off: gradients add up across steps
            self.optimizer.zero_grad(set_to_none=True)
        yield Phase.ZERO_GRAD
        for _ in range(self.teaching.accumulate):  # k micro-batches, one step
            self.inputs, self.targets = self.batches.next()
            self.predictions = self.model(self.inputs)
            yield Phase.FORWARD
            self.loss = self.loss_fn(self.predictions, self.targets)
            yield Phase.LOSS
            if self.teaching.backward:  # off: step() finds no gradients
                (self.loss / self.teaching.accumulate).backward()
            yield Phase.BACKWARD
        self.optimizer.step()
        self.step += 1
        yield Phase.STEP

    def run_phase(self) -> Phase:
        """Run the next phase, starting a new step after the last one."""
        if self._phases is None:
            self._phases = self.phases()
        phase = next(self._phases)
        # Bookkeeping kept out of phases(), which is the code a learner reads. The switches cannot
        # change while a phase runs, so reading them now tells what that phase did. (Identity
        # tests, most frequent first: this runs five times a step.)
        if phase is _FORWARD:
            if self.phase is _ZERO_GRAD:
                # phases() reads accumulate when its loop begins, just before this first forward
                self.micro_batches = self.teaching.accumulate
            else:
                self.micro_batch += 1
        elif phase is _BACKWARD:
            self.backward_ran = self.teaching.backward
        elif phase is _ZERO_GRAD:
            self.cleared = self.teaching.zero_grad
            self.micro_batch, self.micro_batches = 1, self.teaching.accumulate
        elif phase is _STEP:
            self._phases = None
        self.phase = phase
        return self.phase

    def run_step(self) -> torch.Tensor:
        """Run the rest of the current step (all five phases if none is under way); return its loss."""
        while self.run_phase() is not Phase.STEP:
            pass
        assert self.loss is not None
        return self.loss.detach()

    @property
    def mid_step(self) -> bool:
        return self._phases is not None

    def parameters(self) -> list[tuple[str, nn.Parameter]]:
        return list(self.model.named_parameters())

    def change_optimizer(self, config: OptimizerConfig) -> bool:
        """Apply a new optimizer config; return True when it is a new optimizer with fresh state.

        The same optimizer with other hyperparameters keeps its state, as changing `lr` in
        `param_groups` does in any training script; another optimizer starts from nothing.
        """
        old = self.optimizer_config
        same_kind = getattr(config, "name", None) == getattr(old, "name", None)
        self.optimizer_config = config
        if same_kind and not changes_state_layout(old, config):
            apply_hyperparameters(self.optimizer, config)
            return False
        self.optimizer = build_optimizer(config, self.model.parameters())
        return True


def changes_state_layout(old: BaseModel, new: BaseModel) -> bool:
    """Whether `new` needs optimizer state that `old` never made.

    torch.optim creates state on an optimizer's first step only: turning on Adam's amsgrad, or
    RMSprop's centered or momentum, in the middle of a run makes step() raise KeyError for the
    missing max_exp_avg_sq, grad_avg or momentum_buffer. Such a change starts a fresh optimizer.
    """
    for flag in ("amsgrad", "centered"):
        if getattr(new, flag, False) and not getattr(old, flag, False):
            return True
    momentum_before = getattr(old, "momentum", 0.0) > 0.0
    return (
        getattr(new, "name", "") == "rmsprop"
        and getattr(new, "momentum", 0.0) > 0.0
        and not momentum_before
    )


def loop_source() -> dict[str, Any]:
    """The source of `TrainingLoop.phases`, as it runs, with the lines of each phase.

    Read from this module, not copied: the code view in the browser can never drift from the loop.
    """
    lines, first = inspect.getsourcelines(TrainingLoop.phases)
    text = textwrap.dedent("".join(lines)).splitlines()
    phases: dict[str, list[int]] = {}
    pending: list[int] = []
    for index, line in enumerate(text):
        statement = line.strip()
        if statement.startswith("yield Phase."):
            phases[Phase[statement.removeprefix("yield Phase.")].value] = pending
            pending = []
        elif statement and not statement.startswith(("def ", "#", '"""')):
            pending.append(index)
    # the line that *is* the phase: the call a newcomer looks for
    calls = {
        "zero_grad": "zero_grad(",
        "forward": "self.model(",
        "loss": "loss_fn(",
        "backward": ".backward(",
        "step": "optimizer.step(",
    }
    main = {
        phase: next(i for i in found if calls[phase] in text[i]) for phase, found in phases.items()
    }
    return {
        "file": "app/engine/loop.py",
        "first_line": first,
        "lines": text,
        "phases": phases,
        "main": main,
    }
