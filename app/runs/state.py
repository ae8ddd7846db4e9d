"""A run's life as an explicit state machine that refuses illegal transitions."""

from __future__ import annotations

import enum


class RunState(enum.StrEnum):
    IDLE = "idle"  # built (or reset) and waiting at step 0
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # the worker has exited; the run's history remains
    FAILED = "failed"  # the worker raised, crashed or was killed; `reason` says why
    # live when the server process died (a crash, kill -9, a power cut): found so at start-up.
    # Start continues it from its latest checkpoint, as it does a stopped run.
    INTERRUPTED = "interrupted"


class Command(enum.StrEnum):
    START = "start"
    PAUSE = "pause"
    STEP = "step"  # one whole optimizer step
    PHASE = "phase"  # one phase of a step: zero_grad, forward, loss, backward or step
    RESET = "reset"
    STOP = "stop"


class Happening(enum.StrEnum):
    """What changes a run's state without anyone asking."""

    FAIL = "fail"  # the worker reported an error, or hung and was ended by the watchdog
    EXIT = "exit"  # the worker process ended without being told to stop (a crash, a kill)
    SHUTDOWN = "shutdown"  # the server is shutting down and stops every live run
    ALERT = "alert"  # the running loop found a NaN or Inf and paused itself where it was
    DETACH = "detach"  # an attached script closed its watch or its connection: it trains on
    # a new worker restored the run's latest checkpoint: an ended run is paused at that step again
    RESUME = "resume"


Move = Command | Happening

LIVE_STATES = (RunState.IDLE, RunState.RUNNING, RunState.PAUSED)
# An ended run of the server's own that Start continues from its latest checkpoint.
RESUMABLE_STATES = (RunState.STOPPED, RunState.INTERRUPTED, RunState.FAILED)

_TRANSITIONS: dict[Move, tuple[frozenset[RunState], RunState]] = {
    Command.START: (frozenset({RunState.IDLE, RunState.PAUSED}), RunState.RUNNING),
    Command.PAUSE: (frozenset({RunState.RUNNING}), RunState.PAUSED),
    Command.STEP: (frozenset({RunState.IDLE, RunState.PAUSED}), RunState.PAUSED),
    Command.PHASE: (frozenset({RunState.IDLE, RunState.PAUSED}), RunState.PAUSED),
    Command.RESET: (frozenset(LIVE_STATES), RunState.IDLE),
    Command.STOP: (frozenset(LIVE_STATES), RunState.STOPPED),
    # A run that has ended stays ended: a late failure report or exit of a stopped run's worker
    # does not rewrite why it ended.
    Happening.FAIL: (frozenset(LIVE_STATES), RunState.FAILED),
    Happening.EXIT: (frozenset(LIVE_STATES), RunState.FAILED),
    Happening.SHUTDOWN: (frozenset(LIVE_STATES), RunState.STOPPED),
    Happening.DETACH: (frozenset(LIVE_STATES), RunState.STOPPED),
    # Only a running loop pauses itself; an alert found by a step or phase command (the run is
    # already paused) or racing a pause the server accepted first changes nothing.
    Happening.ALERT: (frozenset({RunState.RUNNING}), RunState.PAUSED),
    Happening.RESUME: (frozenset(RESUMABLE_STATES), RunState.PAUSED),
}


class IllegalTransition(Exception):
    @classmethod
    def of(cls, state: RunState, move: Move) -> IllegalTransition:
        allowed, _ = _TRANSITIONS[move]
        names = ", ".join(sorted(allowed))
        return cls(f"cannot {move} a run that is {state}; {move} needs one of: {names}")


def allows(state: RunState, move: Move) -> bool:
    allowed, _ = _TRANSITIONS[move]
    return state in allowed


def next_state(state: RunState, move: Move) -> RunState:
    """The state after `move`; an illegal one raises with the reason and the states it needs."""
    allowed, target = _TRANSITIONS[move]
    if state not in allowed:
        raise IllegalTransition.of(state, move)
    return target
