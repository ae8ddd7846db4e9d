"""The rewind ring: the states of a run's latest steps, kept in its worker's memory, so that a
branch can start from any of them (issue 12).

Capturing the whole state (app/engine/checkpoint.py: parameters, optimizer state, RNG, batch
position) after every step would cost more than the step itself (the seed: 0.5 ms a capture, 0.4 ms
a step), and a big model its memory. So the ring keeps *keyframes*: a captured state every `stride`
steps, with the stride chosen so that capturing takes about CAPTURE_SHARE of the training time, and
as many keyframes as fit in BUDGET_BYTES (at most MAX_KEYFRAMES). A step between two keyframes is
made again on demand: a scratch loop restored from the keyframe before it replays the steps in
between, which on the CPU is bit for bit what the run did (the loop is deterministic given its
state; the global RNG is put back afterwards, so the run itself is untouched).

A replay is only exact while the run's settings stayed as the keyframe has them. A setting that
changes (the optimizer, its hyperparameters, the teaching switches) ends the reach of the latest
keyframe at that step, and a new keyframe is taken with the new settings: at once at a step
boundary, or at the next one when the change came in the middle of a step.

Gradients are part of a step's state when zero_grad is off (they pile up across steps): the
captured state has them then (app/engine/checkpoint.py), so a replay of such a run stays exact.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

import torch

from app.contract.branch import Rewind, Rewound
from app.engine import checkpoint
from app.engine.checkpoint import State
from app.engine.loop import TrainingLoop
from app.store.checkpoints import CheckpointStore

# Memory for keyframes, in bytes: the wide MLP (6.3M parameters) with Adam is 72 MiB a state, so
# it keeps three; the seed's is 10 kB, and MAX_KEYFRAMES bounds it instead (10 MB).
BUDGET_BYTES = 256 * 2**20
MAX_KEYFRAMES = 1000
# The share of training time that capturing keyframes may take: their stride follows from it
# (measured ~1% with the pauses of garbage collection, BENCHMARKS.md)...
CAPTURE_SHARE = 0.005
# ...unless a branch would then wait longer than this for its replay (a big model's steps are slow:
# the wide MLP's 139 ms step would replay 55 steps, 8 s; it keeps a keyframe every 28 instead).
MAX_REPLAY_SECONDS = 4.0
MAX_STRIDE = 1000  # a replay makes at most this many steps again


class RewindRefused(ValueError):
    """A step the ring cannot give back; says which it can."""


@dataclass
class Keyframe:
    step: int
    state: State  # checkpoint.capture of the loop at `step`, without racers
    nbytes: int
    reach: int | None = None  # the last step a replay from here may make; None: up to the next


def state_bytes(state: object) -> int:
    """The bytes of the tensors in a captured state (the rest is small)."""
    if isinstance(state, torch.Tensor):
        return state.nelement() * state.element_size()
    if isinstance(state, dict):
        return sum(state_bytes(value) for value in state.values())
    if isinstance(state, list | tuple):
        return sum(state_bytes(value) for value in state)
    return 0


class RewindRing:
    def __init__(
        self,
        loop: TrainingLoop,
        budget_bytes: int = BUDGET_BYTES,
        max_keyframes: int = MAX_KEYFRAMES,
        stride: int | None = None,
    ) -> None:
        """A ring whose first keyframe is `loop` as it is now (step 0, or a resumed step)."""
        self.budget_bytes = budget_bytes
        self.max_keyframes = max_keyframes
        self.frames: deque[Keyframe] = deque()
        self.fixed_stride = stride  # None: chosen from what a keyframe costs (CAPTURE_SHARE)
        self.stride = stride or 1
        self.capture_seconds = 0.0  # what a keyframe costs, lately
        self.step_seconds = math.inf  # the mean time between two steps, lately
        self._last_step_at: float | None = None
        self._force = False  # the next step boundary takes a keyframe
        self.keep(loop)

    # recording

    def after_step(self, loop: TrainingLoop) -> None:
        """Call at every step boundary (after a step, and once at step 0): keeps a keyframe when
        one is due."""
        now = time.perf_counter()
        if self._last_step_at is not None:
            interval = now - self._last_step_at
            # a mean over the last ~20 steps: a pause between two steps is not a slow step
            self.step_seconds = (
                interval
                if math.isinf(self.step_seconds)
                else (0.95 * self.step_seconds + 0.05 * min(interval, 1.0))
            )
        self._last_step_at = now
        latest = self.frames[-1].step if self.frames else None
        if self._force or latest is None or loop.step - latest >= self.stride:
            self.keep(loop)

    def keep(self, loop: TrainingLoop) -> None:
        """Take a keyframe of the loop now (a step boundary)."""
        if loop.mid_step:
            self._force = True
            return
        started = time.perf_counter()
        state = checkpoint.capture(loop)
        frame = Keyframe(loop.step, state, state_bytes(state))
        if self.frames and self.frames[-1].step == loop.step:
            self.frames.pop()  # the same step with newer settings
        self.frames.append(frame)
        held = sum(f.nbytes for f in self.frames)
        while len(self.frames) > 1 and (
            len(self.frames) > self.max_keyframes or held > self.budget_bytes
        ):
            held -= self.frames.popleft().nbytes
        self._force = False
        took = time.perf_counter() - started
        # a mean over the latest captures: one may take a garbage collection's pause with it
        self.capture_seconds = (
            took if self.capture_seconds == 0.0 else (0.7 * self.capture_seconds + 0.3 * took)
        )
        if self.fixed_stride is None and math.isfinite(self.step_seconds) and self.step_seconds > 0:
            wanted = math.ceil(self.capture_seconds / (CAPTURE_SHARE * self.step_seconds))
            quick = math.floor(MAX_REPLAY_SECONDS / self.step_seconds)
            self.stride = max(1, min(MAX_STRIDE, wanted, quick))

    def settings_changed(self, loop: TrainingLoop) -> None:
        """A setting changed (optimizer, hyperparameters, teaching switches), just now: a replay
        from an earlier keyframe may not pass this step, and a keyframe with the new settings is
        taken now, or at the next step boundary if a step is under way."""
        done = loop.step  # the steps up to here ran with the old settings
        if self.frames and self.frames[-1].reach is None:
            self.frames[-1].reach = done
        if loop.mid_step:
            self._force = True
        else:
            self.keep(loop)

    # reading

    def kept(self, current: int) -> tuple[int, int] | None:
        """The first and last step a branch may start from now. Between them every step can be
        made, except past a keyframe's reach (a settings change) before the next keyframe."""
        if not self.frames:
            return None
        return self.frames[0].step, current

    def reachable(self, step: int, current: int) -> Keyframe:
        """The keyframe a state at `step` is made from, or RewindRefused with the kept range."""
        frames = list(self.frames)
        for i, frame in enumerate(frames):
            if frame.step > step:
                break
            end = frames[i + 1].step if i + 1 < len(frames) else current
            if frame.reach is not None:
                end = min(end, frame.reach)
            if step <= end:
                return frame
        raise RewindRefused(self.describe(step, current))

    def describe(self, step: int, current: int) -> str:
        kept = self.kept(current)
        if kept is None:
            return f"step {step} is not kept: this run keeps no steps in memory yet"
        gaps = [
            (f.reach, frames_next.step)
            for f, frames_next in zip(list(self.frames), list(self.frames)[1:], strict=False)
            if f.reach is not None and f.reach + 1 < frames_next.step
        ]
        text = f"step {step} is not kept in memory: this run keeps steps {kept[0]}–{kept[1]}"
        if gaps:
            text += " except " + ", ".join(f"{a + 1}–{b - 1}" for a, b in gaps)
            text += " (the settings changed in the middle of a step)"
        return text

    def state_at(self, step: int, loop: TrainingLoop) -> State:
        """The loop's state as it was at `step` (no racers): a keyframe's, or one made by
        replaying from the keyframe before it. `loop` (the run's own, at its current step) is
        left exactly as it is, its RNG included."""
        if step == loop.step and not loop.mid_step:
            return checkpoint.capture(loop)
        if step > loop.step or step < 0:
            raise RewindRefused(self.describe(step, loop.step))
        frame = self.reachable(step, loop.step)
        if frame.step == step:
            return frame.state
        saved = checkpoint.rng_state()
        try:
            # (restore copies what it loads: the replay leaves the keyframe as it was)
            scratch = checkpoint.restore(frame.state)
            while scratch.step < step:
                scratch.run_step()
            return checkpoint.capture(scratch)
        finally:
            checkpoint.set_rng_state(saved)


def for_branch(state: State) -> State:
    """A captured state as a branch starts from it: the run's own loop alone (a branch races no
    one: its racers would not start from where they were at the fork)."""
    config = {**state["config"], "race": []}
    return {**state, "config": config, "racers": []}


def answer(
    ring: RewindRing, loop: TrainingLoop, store: CheckpointStore | None, asked: Rewind
) -> Rewound:
    """The worker's answer to a Rewind: the branch's first checkpoint written into the store
    under the branch's id, or why not. An empty `into` only asks which steps are kept."""
    kept = ring.kept(loop.step)
    if not asked.into:
        return Rewound.model_construct(step=asked.step, into="", path=None, refused=None, kept=kept)
    try:
        if store is None:
            raise RewindRefused("this worker keeps no checkpoints, so no branch can start from it")
        state = for_branch(ring.state_at(asked.step, loop))
        saved = store.save(asked.into, state)
    except (RewindRefused, checkpoint.CheckpointError, OSError) as error:
        return Rewound.model_construct(
            step=asked.step, into=asked.into, path=None, refused=str(error), kept=kept
        )
    return Rewound.model_construct(
        step=asked.step, into=asked.into, path=str(saved.path), refused=None, kept=kept
    )
