"""Resume identity: k steps, a checkpoint, a new process, resume to N equals N steps without a
break, bit for bit on the CPU: the parameters and every tensor of the optimizer's state.

The oracles are the hand-written loop of tests/engine/oracle.py (torch.optim by hand, no app
code) and the app's own loop run straight through; neither touches app/engine/checkpoint.py.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from app.engine.checkpoint import CheckpointError, capture, restore
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import SGDConfig
from app.store.checkpoints import load_file
from tests.engine.oracle import CASES, OptimizerCase, oracle_for
from tests.support import assert_same_tree

ROOT = Path(__file__).resolve().parents[2]
# 100 samples in batches of 32: an epoch is 3 batches, so k and N fall mid-epoch and the resumed
# half must take the batch order up at the right place of the right epoch.
DATA = {"seed": 5, "n_samples": 100, "batch_size": 32, "steps_per_second": None}
K, N = 7, 50
BY_ID = {case.id: case for case in CASES}
IDENTITY = [BY_ID["sgd-momentum"], BY_ID["adam"], BY_ID["adam-amsgrad"]]


def run_half(half: str, spec: Path, store: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.engine.resume_child", half, str(spec), str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each case saved after K steps by one process and resumed to N by another."""
    folder = tmp_path_factory.mktemp("resume")
    spec = folder / "spec.json"
    cases = {
        case.id: {
            "config": ExperimentConfig(optimizer=case.config, **DATA).model_dump(mode="json"),
            "k": K,
            "n": N,
        }
        for case in IDENTITY
    }
    spec.write_text(json.dumps({"cases": cases}))
    store = folder / "checkpoints"
    run_half("save", spec, store)
    run_half("resume", spec, store)
    return {case_id: load_file(store / case_id / "resumed.pt") for case_id in cases}


@pytest.mark.slow  # two fresh processes import torch (about 10 s together)
@pytest.mark.parametrize("case", IDENTITY, ids=lambda case: case.id)
def test_resumed_in_a_new_process_equals_the_hand_written_loop(
    case: OptimizerCase, resumed: dict[str, dict[str, Any]]
) -> None:
    oracle = oracle_for(ExperimentConfig(optimizer=case.config, **DATA), case)
    for _ in range(N):
        oracle.step()
    found = resumed[case.id]
    assert found["step"] == N
    named = dict(oracle.model.named_parameters())
    assert found["parameters"].keys() == named.keys()
    for name, parameter in named.items():
        assert torch.equal(found["parameters"][name], parameter), name
    # torch numbers a state_dict's parameters in the order of its param_groups: the model's
    state = found["optimizer"]["state"]
    for index, (name, parameter) in enumerate(named.items()):
        expected = oracle.optimizer.state[parameter]
        assert set(state[index]) == set(expected) >= case.state_keys, name
        for key, value in expected.items():
            assert torch.equal(torch.as_tensor(state[index][key]), torch.as_tensor(value)), key


@pytest.mark.slow  # two fresh processes import torch (about 10 s together)
@pytest.mark.parametrize("case", IDENTITY, ids=lambda case: case.id)
def test_resumed_in_a_new_process_equals_the_unbroken_run(
    case: OptimizerCase, resumed: dict[str, dict[str, Any]]
) -> None:
    straight = TrainingLoop(ExperimentConfig(optimizer=case.config, **DATA))
    for _ in range(N):
        straight.run_step()
    found = resumed[case.id]
    for name, parameter in straight.model.named_parameters():
        assert torch.equal(found["parameters"][name], parameter), name
    assert_same_tree(found["optimizer"], straight.optimizer.state_dict())


# in this process: what the checkpoint holds beyond the seed's parameters


def straight_and_resumed(config: ExperimentConfig, k: int, n: int) -> tuple[Any, Any]:
    straight = TrainingLoop(config)
    for _ in range(n):
        straight.run_step()
    first = TrainingLoop(config)
    for _ in range(k):
        first.run_step()
    state = capture(first)
    for _ in range(3):  # the first loop trains on: the captured copy must not move with it
        first.run_step()
    again = restore(state)
    while again.step < n:
        again.run_step()
    return straight, again


def assert_same_loops(a: TrainingLoop, b: TrainingLoop) -> None:
    for (name, p), (_, q) in zip(
        a.model.named_parameters(), b.model.named_parameters(), strict=True
    ):
        assert torch.equal(p, q), name
    assert_same_tree(b.optimizer.state_dict(), a.optimizer.state_dict())


def test_gradients_that_pile_up_with_zero_grad_off_are_kept() -> None:
    teaching = {"zero_grad": False, "backward": True, "accumulate": 2}
    config = ExperimentConfig(
        optimizer=SGDConfig(lr=0.001, momentum=0.5), teaching=teaching, **DATA
    )
    assert_same_loops(*straight_and_resumed(config, 4, 12))


def test_the_random_generators_go_on_where_they_were() -> None:
    """A model with dropout (an experiment file's, say) draws from torch's global generator, and
    user code may draw from numpy's or Python's: after a restore each gives the next number it
    would have given."""
    loop = TrainingLoop(ExperimentConfig(**DATA))
    torch.rand(3), np.random.rand(), random.random()  # moved on from their seeds
    state = capture(loop)
    expected = (torch.rand(5), np.random.rand(4), [random.random() for _ in range(4)])
    torch.manual_seed(123), np.random.seed(123), random.seed(123)
    restore(state)
    found = (torch.rand(5), np.random.rand(4), [random.random() for _ in range(4)])
    assert torch.equal(found[0], expected[0])
    assert (found[1] == expected[1]).all() and found[2] == expected[2]


def test_a_step_under_way_is_refused() -> None:
    loop = TrainingLoop(ExperimentConfig(**DATA))
    loop.run_phase()
    with pytest.raises(CheckpointError, match="in the middle of step 1"):
        capture(loop)
