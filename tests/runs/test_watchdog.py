"""The watchdog's rule, on the clock it is given: which hung runs it fails, and why."""

from __future__ import annotations

from app.engine.experiments import ExperimentConfig
from app.runs.run import Run
from app.runs.state import Command, RunState
from app.runs.watchdog import check


def run(state: Command | None = None, ready: bool = True, heard_at: float = 0.0) -> Run:
    made = Run(id="r", config=ExperimentConfig(), ready=ready, heard_at=heard_at)
    if state is not None:
        made.advance(state)
    return made


def failed(runs: list[Run], now: float, timeout: float = 15.0) -> list[str]:
    reasons: list[str] = []
    check(runs, lambda _, reason: reasons.append(reason), timeout, now)
    return reasons


def test_an_unanswered_command_past_the_timeout_fails_the_run() -> None:
    paused = run(Command.STEP)
    paused.unanswered.append((Command.STEP, 10.0))
    assert failed([paused], now=24.0) == []
    assert failed([paused], now=25.5) == [
        "the worker did not carry out 'step' within 15 s and was stopped"
    ]


def test_silence_while_running_fails_the_run_but_not_while_paused() -> None:
    running = run(Command.START, heard_at=0.0)
    assert running.state is RunState.RUNNING
    assert failed([running], now=16.0) == [
        "the worker stopped responding for 15 s while running and was stopped"
    ]
    assert failed([run(Command.STEP, heard_at=0.0)], now=1000.0) == []


def test_a_worker_still_building_its_model_is_left_alone() -> None:
    building = run(Command.START, ready=False)
    building.unanswered.append((Command.START, 0.0))
    assert failed([building], now=1000.0) == []
