"""What the history keeps of an attached script's run: its logged scalars besides the loss, a loss
logged at some steps only, and the run itself across a server restart."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.contract.attached import AttachedOptimizer, AttachedProcess, AttachedRun
from app.engine.experiments import ExperimentConfig
from app.runs.run import ATTACHED, record_info
from app.runs.state import LIVE_STATES, RunState
from app.store.history import INTERRUPTED_REASON, History


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    history = History(tmp_path / "history.sqlite")
    history.add_run("s", ATTACHED, {"process": {}}, RunState.RUNNING)
    yield history
    history.close()


def test_logged_values_come_back_per_name_and_step_with_their_gaps(history: History) -> None:
    history.append_logged("s", 1, {"accuracy": [0.1, None, 0.3], "lr": [None, 0.01, None]})
    history.append_logged("s", 4, {"accuracy": [float("nan"), math.inf]})
    logged = history.logged("s")
    assert logged is not None
    assert list(logged) == ["accuracy", "lr"]  # in the order first logged
    accuracy = logged["accuracy"]
    assert accuracy[:3] == [0.1, None, 0.3]  # None: step 2 logged no accuracy
    nan = accuracy[3]
    assert nan is not None and math.isnan(nan)  # NaN is data, not a gap
    assert accuracy[4] == math.inf
    assert logged["lr"] == [None, 0.01, None, None, None]
    assert history.logged("s", after=3) == {
        "accuracy": [pytest.approx(math.nan, nan_ok=True), math.inf]
    }
    assert history.logged("s", after=1, upto=2) == {"lr": [0.01]}


def test_a_step_logged_again_replaces_its_value(history: History) -> None:
    history.append_logged("s", 1, {"accuracy": [0.1, 0.2]})
    history.append_logged("s", 2, {"accuracy": [0.25, 0.3]})
    history.append_logged("s", 1, {"accuracy": [None]})  # no value: the kept one stays
    assert history.logged("s") == {"accuracy": [0.1, 0.25, 0.3]}


def test_nothing_logged_is_none_and_a_reset_clears_it(history: History) -> None:
    assert history.logged("s") is None
    history.append_logged("s", 1, {"accuracy": [0.1]})
    history.clear_progress("s")
    assert history.logged("s") is None


def test_a_loss_logged_at_some_steps_comes_back_in_runs_of_steps(history: History) -> None:
    history.append_scalars("s", 1, [1.0, 0.9])
    history.append_scalars("s", 5, [0.5, 0.4])
    history.append_scalars("s", 9, [0.1])
    assert history.loss_runs("s") == [(1, [1.0, 0.9]), (5, [0.5, 0.4]), (9, [0.1])]
    assert history.loss_runs("s", after=1, upto=5) == [(2, [0.9]), (5, [0.5])]
    assert history.loss_runs("missing") == []


def test_an_attached_run_reads_back_after_a_restart(history: History) -> None:
    attached = AttachedRun(
        process=AttachedProcess(name="my run", host="box", pid=7),
        optimizer=AttachedOptimizer(
            torch_class="torch.optim.adam.Adam", config=None, ledger=True, groups=1
        ),
        parameters=4,
        dropped_snapshots=3,
        logged=["accuracy"],
    )
    history.add_run("a", ATTACHED, attached.model_dump(), RunState.PAUSED)
    history.mark_interrupted([str(state) for state in LIVE_STATES])
    record = history.run("a")
    assert record is not None
    info = record_info(record)
    assert (info.state, info.reason, info.title) == ("interrupted", INTERRUPTED_REASON, "my run")
    assert info.config is None and info.attached == attached
    assert info.experiment == ATTACHED


def test_an_experiment_named_attached_is_not_taken_for_a_script(history: History) -> None:
    """An experiment file may name an experiment "attached": its config has no process."""
    config = ExperimentConfig().model_dump()
    history.add_run("e", ATTACHED, config, RunState.STOPPED)
    record = history.run("e")
    assert record is not None
    info = record_info(record)
    assert info.attached is None and info.config is not None
