"""The NaN/Inf alert: a cheap screen on every phase that can write a non-finite value, and, once
the screen trips, a survey that names the first non-finite tensor and the phase that wrote it.

Cost, on the training path (CPU, one thread; BENCHMARKS.md, "NaN/Inf alert"): after each `loss`
phase the loss is read on the host (`.item()` of a CPU scalar, ~1.5 µs in the worker), and after
each step the screen keeps a reference to that step's gradients (a list of the `.grad` tensors,
no copy). Nothing scans a gradient or a parameter on a healthy step: even one fused
`torch._foreach_norm` of the gradients cost ~15 µs of the seed's ~230 µs step in the worker.
Instead, the next forward reads every parameter, so a NaN gradient (which `step()` spreads into
the parameters) or a parameter the step made non-finite shows in the next loss. The survey then
looks at the kept gradients of the step before, its optimizer state and its parameters, in that
order, and names the first non-finite one with the phase that wrote it, not the loss it spoiled.
So a NaN or Inf is always named where it appeared; the loop pauses at the first loss that
shows it: in the same step for the loss, in the next step's loss phase for a gradient or a
parameter. Keeping the gradients past the next `zero_grad` holds one more set of gradients while
the next backward makes its own (`set_to_none`); nothing is copied.

Once an alert has fired, the screen stays quiet until a whole step is finite again: a run resumed
after an alert keeps its NaN (NaN parameters stay NaN), and a learner who presses Start has seen
it. Finite again, then non-finite again, is a new alert.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from app.contract.events import Alert
from app.engine.loop import Phase, TrainingLoop

_LOSS, _BACKWARD, _STEP, _ZERO_GRAD = Phase.LOSS, Phase.BACKWARD, Phase.STEP, Phase.ZERO_GRAD

# (step, phase, name, tensor): a tensor, with the phase that wrote it and that phase's step
Candidate = tuple[int, Phase | None, str, torch.Tensor]


class NonfiniteWatch:
    def __init__(self, loop: TrainingLoop, enabled: bool = True) -> None:
        self.loop = loop
        # the model's parameters never change within a loop (a new model is a new run or a
        # reset, which builds a new watch): named_parameters() walks the modules, too slow to
        # call on every step
        self._parameters = loop.parameters()
        self._tensors = [p for _, p in self._parameters]
        # the gradients as the last step phase left them (None: the parameter had none)
        self._held: list[torch.Tensor | None] = [None] * len(self._tensors)
        self.enabled = enabled
        self.alerted = False  # fired, and no whole step has been finite since
        self._clean = True  # every screen of the current step passed

    def after_phase(self, phase: Phase) -> Alert | None:
        """The screen after one phase ran; an alert when it trips and the survey names a tensor."""
        loop = self.loop
        if phase is _LOSS:
            assert loop.loss is not None
            if math.isfinite(loop.loss.item()):
                return None
            return self._tripped()
        if phase is _STEP:
            # this step's gradients, for a survey the next loss may call for (no copy)
            self._held = [p.grad for p in self._tensors]
            if self._clean:
                self.alerted = False  # finite again: the next non-finite value is a new alert
        elif phase is _ZERO_GRAD:
            self._clean = True
        return None

    def _tripped(self) -> Alert | None:
        if self.alerted:  # already told: no survey (O(model)) on every step of a NaN run
            self._clean = False
            return None
        alert = self.survey()
        if alert is not None:
            self._clean = False
            self.alerted = True
        return alert

    def check_now(self) -> Alert | None:
        """The whole survey, as a run starts or resumes: a tensor may have turned non-finite while
        the loop was paused between phases, where no screen ran."""
        return self._tripped()

    def survey(self) -> Alert | None:
        """The first non-finite tensor, in the order the loop wrote them, or None."""
        for step, phase, name, tensor in self._in_order():
            if not bool(torch.isfinite(tensor).all()):
                return _alert(step, phase, name, tensor)
        return None

    def _in_order(self) -> Iterator[Candidate]:
        loop = self.loop
        done = loop.step
        if not loop.mid_step:
            if done == 0:  # nothing ran: the parameters as the model was built
                yield from ((0, None, name, p.detach()) for name, p in self._parameters)
                return
            # after a step phase: this step's loss, its gradients, then what step() wrote
            if loop.loss is not None:
                yield done, _LOSS, "loss", loop.loss.detach()
            yield from self._grads(done)
            yield from self._written_by_step(done)
            return
        # In the middle of step done + 1: first what the last step phase wrote (and gradients a
        # zero_grad switched off kept from it), then what this step has written so far.
        phase, micro = loop.phase, loop.micro_batch
        wrote_loss = phase is _LOSS or phase is _BACKWARD or micro > 1
        wrote_grads = phase is _BACKWARD or micro > 1
        if not wrote_grads:  # the last step's, which zero_grad has taken off the parameters
            for (name, _), grad in zip(self._parameters, self._held, strict=True):
                if grad is not None:
                    yield done, _BACKWARD, f"{name}.grad", grad
        yield from self._written_by_step(done)
        if wrote_loss and loop.loss is not None:
            yield done + 1, _LOSS, "loss", loop.loss.detach()
        if wrote_grads:
            yield from self._grads(done + 1)

    def _grads(self, step: int) -> Iterator[Candidate]:
        for name, p in self._parameters:
            if p.grad is not None:
                yield step, _BACKWARD, f"{name}.grad", p.grad

    def _written_by_step(self, step: int) -> Iterator[Candidate]:
        # The optimizer computes a parameter's new value from its state: a non-finite state is
        # the likelier origin when both are, so the states come first.
        parameters = self._parameters
        state = self.loop.optimizer.state
        for name, p in parameters:
            for key, value in state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.is_floating_point():
                    yield step, _STEP, f"state.{key} of {name}", value
        yield from ((step, _STEP, name, p.detach()) for name, p in parameters)


def where(alert: Alert) -> str:
    """Where an alert's tensor was written, in words."""
    if alert.phase is None:
        return "at initialisation"
    return f"after the {alert.phase} phase of step {alert.step}"


def _alert(step: int, phase: Phase | None, name: str, tensor: torch.Tensor) -> Alert:
    nan = int(torch.isnan(tensor).sum())
    inf = int(torch.isinf(tensor).sum())
    subject = "the loss" if name == "loss" else name
    if tensor.numel() == 1:
        what = (
            f"{subject} is {'NaN' if nan else ('Infinity' if tensor.item() > 0 else '−Infinity')}"
        )
    else:
        what = f"{subject} holds {nan} NaN and {inf} ±Inf of its {tensor.numel()} elements"
    return Alert.model_construct(
        kind="nonfinite",
        step=step,
        phase=phase,
        tensor=name,
        detail=what,
        paused=False,
        history=False,
    )
