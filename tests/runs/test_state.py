"""The run state machine: every command from every state, legal or not."""

from __future__ import annotations

import itertools

import pytest

from app.engine.experiments import ExperimentConfig
from app.runs.run import Run
from app.runs.state import (
    LIVE_STATES,
    Command,
    Happening,
    IllegalTransition,
    RunState,
    allows,
    next_state,
)

S, C = RunState, Command
LIVE = {S.IDLE, S.RUNNING, S.PAUSED}

# The rules as the product states them: start from idle or paused; pause a running run; step or
# single phases only when it is not running (they leave it paused); reset or stop any live run.
LEGAL: dict[tuple[RunState, Command], RunState] = {
    (S.IDLE, C.START): S.RUNNING,
    (S.PAUSED, C.START): S.RUNNING,
    (S.RUNNING, C.PAUSE): S.PAUSED,
    (S.IDLE, C.STEP): S.PAUSED,
    (S.PAUSED, C.STEP): S.PAUSED,
    (S.IDLE, C.PHASE): S.PAUSED,
    (S.PAUSED, C.PHASE): S.PAUSED,
    **{(state, C.RESET): S.IDLE for state in LIVE},
    **{(state, C.STOP): S.STOPPED for state in LIVE},
}
ILLEGAL = [pair for pair in itertools.product(RunState, Command) if pair not in LEGAL]

# What happens to a run unasked: a live run fails (the worker raised or hung), fails when its worker
# exits unasked, and stops when the server shuts down or its attached script detaches; a running
# loop that finds a NaN or Inf pauses itself. An ended run stays as it ended, until a new worker
# restores its checkpoint (RESUME: Start on a stopped, interrupted or failed run), which leaves it
# paused at the checkpoint's step.
H = Happening
ENDED = {S.STOPPED, S.FAILED, S.INTERRUPTED}
HAPPENS: dict[tuple[RunState, Happening], RunState] = {
    **{(state, H.FAIL): S.FAILED for state in LIVE},
    **{(state, H.EXIT): S.FAILED for state in LIVE},
    **{(state, H.SHUTDOWN): S.STOPPED for state in LIVE},
    **{(state, H.DETACH): S.STOPPED for state in LIVE},
    (S.RUNNING, H.ALERT): S.PAUSED,
    **{(state, H.RESUME): S.PAUSED for state in ENDED},
}
NEVER = [pair for pair in itertools.product(RunState, Happening) if pair not in HAPPENS]


def test_live_states() -> None:
    assert set(LIVE_STATES) == LIVE


@pytest.mark.parametrize(("state", "command"), list(LEGAL), ids=str)
def test_legal_transitions(state: RunState, command: Command) -> None:
    assert next_state(state, command) is LEGAL[state, command]


@pytest.mark.parametrize(("state", "command"), ILLEGAL, ids=str)
def test_illegal_transitions_are_refused_with_a_reason(state: RunState, command: Command) -> None:
    with pytest.raises(IllegalTransition) as refused:
        next_state(state, command)
    message = str(refused.value)
    assert f"cannot {command.value} a run that is {state.value}" in message
    allowed = sorted(s.value for (s, c) in LEGAL if c is command)
    assert message.endswith(", ".join(allowed))


def test_finished_runs_accept_nothing() -> None:
    for state, command in itertools.product(ENDED, Command):
        assert (state, command) in ILLEGAL


@pytest.mark.parametrize(("state", "happening"), list(HAPPENS), ids=str)
def test_what_happens_to_a_live_run(state: RunState, happening: Happening) -> None:
    assert allows(state, happening)
    assert next_state(state, happening) is HAPPENS[state, happening]


@pytest.mark.parametrize(("state", "happening"), NEVER, ids=str)
def test_an_ended_run_stays_as_it_ended(state: RunState, happening: Happening) -> None:
    # and an alert pauses only a running loop: one found by a step or phase command, or racing a
    # pause the server accepted first, leaves an idle or paused run as it is
    assert state in ENDED or (happening in (H.ALERT, H.RESUME) and state in LIVE)
    assert not allows(state, happening)
    with pytest.raises(IllegalTransition, match=f"cannot {happening.value} a run that is"):
        next_state(state, happening)


def test_a_run_changes_state_only_through_the_machine() -> None:
    run = Run(id="r", config=ExperimentConfig())
    with pytest.raises(AttributeError):
        run.state = S.FAILED  # type: ignore[misc]
    run.advance(C.START)
    run.advance(H.FAIL, "the worker raised")
    assert (run.state, run.reason) == (S.FAILED, "the worker raised")
    with pytest.raises(IllegalTransition):
        run.advance(C.RESET)
    assert run.state is S.FAILED
