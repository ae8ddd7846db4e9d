"""The update ledger against real torch.optim optimizers: step() is the oracle for every prediction."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from app.instrument.ledger import Ledger, predict

STEPS = 50

# (ledger name, optimizer class, keyword arguments); each runs STEPS real steps.
CASES: dict[str, tuple[str, Callable[..., torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd-plain": ("sgd", torch.optim.SGD, {"lr": 0.1}),
    "sgd-momentum": ("sgd", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "sgd-dampening": ("sgd", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    "sgd-nesterov": ("sgd", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "sgd-weight-decay": (
        "sgd",
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.1},
    ),
    "sgd-maximize": ("sgd", torch.optim.SGD, {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    "adam": ("adam", torch.optim.Adam, {"lr": 0.05}),
    "adam-weight-decay": ("adam", torch.optim.Adam, {"lr": 0.05, "weight_decay": 0.1}),
    "adam-amsgrad": ("adam", torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.9), "amsgrad": True}),
    "adam-maximize": ("adam", torch.optim.Adam, {"lr": 0.01, "maximize": True}),
    "adamw": ("adamw", torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.1}),
    "adamw-amsgrad": ("adamw", torch.optim.AdamW, {"lr": 0.05, "amsgrad": True}),
    "rmsprop-plain": ("rmsprop", torch.optim.RMSprop, {"lr": 0.01}),
    "rmsprop-momentum": ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "momentum": 0.9}),
    "rmsprop-centered": ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "centered": True}),
    "rmsprop-centered-momentum-weight-decay": (
        "rmsprop",
        torch.optim.RMSprop,
        {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.9, "weight_decay": 0.1},
    ),
    "adagrad": (
        "adagrad",
        torch.optim.Adagrad,
        {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1},
    ),
}


def problem(seed: int = 0) -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = nn.Linear(10, 1)
    inputs = torch.randn(64, 10)
    targets = inputs @ torch.randn(10, 1) + 0.5 + 0.1 * torch.randn(64, 1)
    return model, inputs, targets


def backward(model: nn.Linear, inputs: torch.Tensor, targets: torch.Tensor) -> None:
    loss: torch.Tensor = nn.functional.mse_loss(model(inputs), targets)
    loss.backward()


def before_step(optimizer: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, Any]:
    """What the ledger is given: copies, so that step() cannot change them under it."""
    assert p.grad is not None
    group = next(g for g in optimizer.param_groups if any(q is p for q in g["params"]))
    state = {
        key: value.clone() if isinstance(value, torch.Tensor) else value
        for key, value in optimizer.state.get(p, {}).items()
    }
    return {
        "group": copy.deepcopy({key: value for key, value in group.items() if key != "params"}),
        "value": p.detach().clone(),
        "grad": p.grad.detach().clone(),
        "state": state,
    }


@pytest.mark.parametrize("foreach", [False, True], ids=["single-tensor", "foreach"])
@pytest.mark.parametrize("case", CASES)
def test_prediction_matches_step_for_every_element_and_step(case: str, foreach: bool) -> None:
    name, optimizer_class, kwargs = CASES[case]
    model, inputs, targets = problem()
    optimizer = optimizer_class(model.parameters(), foreach=foreach, **kwargs)
    for step in range(STEPS):
        optimizer.zero_grad()
        batch = torch.arange(step % 4 * 16, step % 4 * 16 + 16)
        backward(model, inputs[batch], targets[batch])
        ledgers: list[tuple[torch.Tensor, Ledger]] = []
        for param in model.parameters():
            known = before_step(optimizer, param)
            ledgers.append((param, predict(optimizer=name, element=step % param.numel(), **known)))
        optimizer.step()
        for p, ledger in ledgers:
            torch.testing.assert_close(
                ledger.predicted, p.detach(), rtol=1e-6, atol=1e-7, msg=f"{case} step {step}"
            )
            final = ledger.lines[-1]
            assert final.symbolic.startswith("θ ←")
            assert final.value == ledger.predicted.flatten()[step % p.numel()].item()


def first_ledger(case: str, element: int | None = 3) -> tuple[Ledger, dict[str, Any]]:
    name, optimizer_class, kwargs = CASES[case]
    model, inputs, targets = problem()
    optimizer = optimizer_class(model.parameters(), **kwargs)
    backward(model, inputs, targets)
    known = before_step(optimizer, model.weight)
    return predict(optimizer=name, element=element, **known), known


def test_adam_lines_show_the_bias_corrections() -> None:
    ledger, _ = first_ledger("adam")
    lines = {line.symbolic.split(" ")[0]: line for line in ledger.lines}
    assert lines["bias_correction1"].value == pytest.approx(1 - 0.9)
    assert lines["bias_correction2"].value == pytest.approx(1 - 0.999)
    assert lines["bias_correction1"].numeric == "bias_correction1 = 1 − 0.9^1"
    assert lines["step_size"].value == pytest.approx(0.05 / (1 - 0.9))
    assert "denom" in lines and lines["t"].value == 1.0


def test_sgd_lines_write_the_rule_with_the_element_numbers() -> None:
    ledger = predict(
        optimizer="sgd",
        group={
            "lr": 0.1,
            "momentum": 0.9,
            "dampening": 0.5,
            "nesterov": False,
            "weight_decay": 0.0,
        },
        value=torch.tensor([1.0, -2.0]),
        grad=torch.tensor([0.5, -0.25]),
        state={"momentum_buffer": torch.tensor([0.2, -0.4])},
        element=1,
    )
    assert [(line.symbolic, line.numeric) for line in ledger.lines] == [
        ("b ← μ·b + (1 − τ)·g", "b ← 0.9·(−0.4) + 0.5·(−0.25)"),
        ("θ ← θ − γ·b", "θ ← (−2) − 0.1·(−0.485)"),
    ]
    assert ledger.lines[0].value == pytest.approx(-0.485)
    assert ledger.lines[1].value == pytest.approx(-2 + 0.0485)


def test_every_rule_ends_in_the_predicted_element() -> None:
    for case in CASES:
        ledger, _ = first_ledger(case, element=7)
        assert ledger.lines, case
        assert ledger.lines[-1].value == ledger.predicted.flatten()[7].item(), case


def test_no_element_means_no_lines() -> None:
    ledger, _ = first_ledger("rmsprop-centered-momentum-weight-decay", element=None)
    assert ledger.lines == [] and ledger.predicted.shape == (1, 10)


def test_predict_leaves_its_inputs_alone() -> None:
    name, optimizer_class, kwargs = CASES["adam-amsgrad"]
    model, inputs, targets = problem()
    optimizer = optimizer_class(model.parameters(), **kwargs)
    for _ in range(3):
        optimizer.zero_grad()
        backward(model, inputs, targets)
        optimizer.step()
    known = before_step(optimizer, model.weight)
    untouched = copy.deepcopy(known)
    predict(optimizer=name, element=0, **known)
    for key in ("value", "grad"):
        torch.testing.assert_close(known[key], untouched[key], rtol=0, atol=0)
    for key, value in untouched["state"].items():
        torch.testing.assert_close(known["state"][key], value, rtol=0, atol=0)


def test_unknown_optimizer_is_refused() -> None:
    with pytest.raises(ValueError, match="lbfgs"):
        predict(
            optimizer="lbfgs",
            group={"lr": 1.0},
            value=torch.zeros(2),
            grad=torch.zeros(2),
            state={},
        )


def test_element_outside_the_parameter_is_refused() -> None:
    with pytest.raises(IndexError):
        first_ledger("sgd-plain", element=10)
