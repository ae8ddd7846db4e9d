"""A run's life as an explicit state machine that refuses illegal transitions."""

from __future__ import annotations

import enum


class RunState(enum.StrEnum):
    IDLE = "idle"  # built (or reset) and waiting at step 0
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # the worker has exited; the run's history remains
    FAILED = "failed"  # the worker raised, crashed or was killed; `reason` says why


class Command(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    STEP = "step"  # one whole optimizer step
    PHASE = "phase"  # one phase of a step: zero_grad, forward, loss, backward or step
    RESET = "reset"
    STOP = "stop"


LIVE_STATES = (RunState.IDLE, RunState.RUNNING, RunState.PAUSED)

_TRANSITIONS: dict[Command, tuple[frozenset[RunState], RunState]] = {
    Command.START: (frozenset({RunState.IDLE, RunState.PAUSED}), RunState.RUNNING),
    Command.PAUSE: (frozenset({RunState.RUNNING}), RunState.PAUSED),
    Command.STEP: (frozenset({RunState.IDLE, RunState.PAUSED}), RunState.PAUSED),
    Command.PHASE: (frozenset({RunState.IDLE, RunState.PAUSED}), RunState.PAUSED),
    Command.RESET: (frozenset(LIVE_STATES), RunState.IDLE),
    Command.STOP: (frozenset(LIVE_STATES), RunState.STOPPED),
}


class IllegalTransition(Exception):
    @classmethod
    def of(cls, state: RunState, command: Command) -> IllegalTransition:
        allowed, _ = _TRANSITIONS[command]
        names = ", ".join(sorted(allowed))
        return cls(f"cannot {command} a run that is {state}; {command} needs one of: {names}")


def next_state(state: RunState, command: Command) -> RunState:
    allowed, target = _TRANSITIONS[command]
    if state not in allowed:
        raise IllegalTransition.of(state, command)
    return target
