"""Every optimizer the page offers runs the loop exactly as torch.optim does by hand, and its state
reaches the snapshot.

The torch keyword arguments are written out here, by hand, for a configuration that differs from
the defaults wherever it can: the oracle never goes through the registry's own mapping.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import torch

from app.engine import optimizers as o
from app.engine.experiments import ExperimentConfig
from app.engine.loop import TrainingLoop
from app.instrument.recorder import Recorder
from tests.engine.oracle import run_oracle


class MuonForMatricesAdamWForTheRest:
    """The two optimizers of torch's Muon example, stepped one after the other."""

    def __init__(self, params: Iterable[torch.nn.Parameter], **kwargs: Any) -> None:
        params = list(params)
        self.muon = torch.optim.Muon([p for p in params if p.ndim == 2], **kwargs)
        self.adamw = torch.optim.AdamW(
            [p for p in params if p.ndim != 2], lr=kwargs["lr"], weight_decay=kwargs["weight_decay"]
        )
        self.state = {**self.muon.state, **self.adamw.state}

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none)
        self.adamw.zero_grad(set_to_none)

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()
        self.state = {**self.muon.state, **self.adamw.state}


# (the app's config, the torch class, its keyword arguments as torch takes them)
CASES: list[tuple[Any, Any, dict[str, Any]]] = [
    (o.SGDConfig(lr=0.03, momentum=0.8, dampening=0.1), torch.optim.SGD,
     {"lr": 0.03, "momentum": 0.8, "dampening": 0.1}),
    (o.AdamConfig(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, amsgrad=True), torch.optim.Adam,
     {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "amsgrad": True}),
    (o.AdamWConfig(lr=0.02, weight_decay=0.05), torch.optim.AdamW,
     {"lr": 0.02, "weight_decay": 0.05}),
    (o.RMSpropConfig(lr=0.005, alpha=0.9, momentum=0.5, centered=True), torch.optim.RMSprop,
     {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True}),
    (o.AdagradConfig(lr=0.2, lr_decay=0.01), torch.optim.Adagrad,
     {"lr": 0.2, "lr_decay": 0.01}),
    (o.AdamaxConfig(lr=0.03, beta1=0.85, beta2=0.995), torch.optim.Adamax,
     {"lr": 0.03, "betas": (0.85, 0.995)}),
    (o.NAdamConfig(lr=0.03, momentum_decay=0.01, decoupled_weight_decay=True, weight_decay=0.1),
     torch.optim.NAdam,
     {"lr": 0.03, "momentum_decay": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    (o.RAdamConfig(lr=0.03, beta2=0.99), torch.optim.RAdam, {"lr": 0.03, "betas": (0.9, 0.99)}),
    (o.AdadeltaConfig(lr=0.5, rho=0.8, eps=1e-5), torch.optim.Adadelta,
     {"lr": 0.5, "rho": 0.8, "eps": 1e-5}),
    (o.ASGDConfig(lr=0.02, lambd=1e-3, alpha=0.5, t0=3), torch.optim.ASGD,
     {"lr": 0.02, "lambd": 1e-3, "alpha": 0.5, "t0": 3}),
    (o.RpropConfig(lr=0.02, eta_minus=0.4, eta_plus=1.3, step_size_min=1e-5, step_size_max=2),
     torch.optim.Rprop, {"lr": 0.02, "etas": (0.4, 1.3), "step_sizes": (1e-5, 2)}),
    (o.AdafactorConfig(lr=0.02, beta2_decay=-0.6, eps2=1e-2, d=2.0, weight_decay=0.01),
     torch.optim.Adafactor,
     {"lr": 0.02, "beta2_decay": -0.6, "eps": (None, 1e-2), "d": 2.0, "weight_decay": 0.01}),
    (o.MuonConfig(lr=0.03, momentum=0.9, nesterov=False, weight_decay=0.05, ns_steps=4),
     MuonForMatricesAdamWForTheRest,
     {"lr": 0.03, "momentum": 0.9, "nesterov": False, "weight_decay": 0.05, "ns_steps": 4}),
]  # fmt: skip


def torch_optimizers() -> set[str]:
    return {
        name
        for name in dir(torch.optim)
        if isinstance(cls := getattr(torch.optim, name), type)
        and issubclass(cls, torch.optim.Optimizer)
        and cls is not torch.optim.Optimizer
    }


def test_every_optimizer_torch_ships_is_offered_or_says_why_not() -> None:
    offered = {entry.torch_class.__name__ for entry in o.REGISTRY.values()} | {"Muon", "AdamW"}
    assert torch_optimizers() <= offered | set(o.NOT_OFFERED)
    assert {case[0].name for case in CASES} == set(o.REGISTRY)


@pytest.mark.parametrize("config, torch_class, kwargs", CASES, ids=lambda c: getattr(c, "name", ""))
def test_each_optimizer_matches_a_hand_written_loop(
    config: Any, torch_class: Any, kwargs: dict[str, Any]
) -> None:
    steps = 20
    experiment = ExperimentConfig(optimizer=config)
    oracle = run_oracle(experiment, torch_class, steps, **kwargs)
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


def test_a_live_muon_change_reaches_both_inner_optimizers() -> None:
    loop = TrainingLoop(ExperimentConfig(optimizer=o.MuonConfig()))
    loop.run_step()
    fresh = loop.change_optimizer(o.MuonConfig(lr=0.004, momentum=0.5))
    assert not fresh
    lrs = {group["lr"] for group in loop.optimizer.param_groups}
    assert lrs == {0.004}
    muon_groups = [g for g in loop.optimizer.param_groups if "ns_steps" in g]
    assert [g["momentum"] for g in muon_groups] == [0.5]
