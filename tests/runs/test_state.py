"""The run state machine: every command from every state, legal or not."""

from __future__ import annotations

import itertools

import pytest

from app.runs.state import LIVE_STATES, Command, IllegalTransition, RunState, next_state

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
    for state, command in itertools.product((S.STOPPED, S.FAILED), Command):
        assert (state, command) in ILLEGAL
