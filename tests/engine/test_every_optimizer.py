"""Every optimizer the page offers runs the loop exactly as torch.optim does by hand, and its state
reaches the snapshot."""

from __future__ import annotations

from typing import Any, get_args

import pytest
import torch

from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.engine.optimizers import OptimizerConfig, torch_kwargs
from app.instrument.recorder import Recorder
from tests.engine.oracle import run_oracle

CONFIGS = [cls() for cls in get_args(get_args(OptimizerConfig)[0])]
TORCH = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
    "adadelta": torch.optim.Adadelta,
    "asgd": torch.optim.ASGD,
    "rprop": torch.optim.Rprop,
}


def test_the_page_offers_every_first_order_optimizer() -> None:
    assert {config.name for config in CONFIGS} == set(TORCH)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_each_optimizer_matches_a_hand_written_loop(config: Any) -> None:
    steps = 20
    experiment = ExperimentConfig(optimizer=config)
    oracle = run_oracle(experiment, TORCH[config.name], steps, **torch_kwargs(config))
    loop = TrainingLoop(experiment)
    recorder = Recorder(loop.parameters())
    recorder.attach(loop.optimizer)
    for k in range(steps):
        loss = loop.run_step()
        assert float(loss) == pytest.approx(oracle[k].loss, rel=1e-6)
    for name, p in loop.parameters():
        torch.testing.assert_close(p.detach(), oracle[-1].after[name], rtol=1e-6, atol=1e-7)
    recorder.arm()
    loop.run_step()
    weight = recorder.snapshot(loop.optimizer).header["tensors"][0]
    shown = set(weight["fields"]) | set(weight["state_scalars"])
    state = set(loop.optimizer.state[loop.parameters()[0][1]])
    assert {key if key in weight["state_scalars"] else f"state.{key}" for key in state} <= shown
