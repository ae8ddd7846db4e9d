"""The script's optimizer as the page sees it: read back from hand-written torch keyword arguments
(never from the registry's own mapping), and edited in place."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from app.engine.optimizers import REGISTRY, apply_hyperparameters
from stepscope.optimizer import describe, write_changes

P = [torch.nn.Parameter(torch.zeros(3))]

# (class, the kwargs a script would write, the page's fields it must read back)
CASES: list[tuple[type[torch.optim.Optimizer], dict[str, Any], dict[str, Any]]] = [
    (
        torch.optim.SGD,
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 1e-4},
        {
            "name": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "dampening": 0.0,
            "nesterov": True,
            "weight_decay": 1e-4,
        },
    ),
    (
        torch.optim.Adam,
        {"lr": 0.003, "betas": (0.8, 0.95), "eps": 1e-7, "weight_decay": 0.01, "amsgrad": True},
        {
            "name": "adam",
            "lr": 0.003,
            "beta1": 0.8,
            "beta2": 0.95,
            "eps": 1e-7,
            "weight_decay": 0.01,
            "amsgrad": True,
        },
    ),
    (
        torch.optim.AdamW,
        {"lr": 0.002, "betas": (0.85, 0.98), "weight_decay": 0.1},
        {
            "name": "adamw",
            "lr": 0.002,
            "beta1": 0.85,
            "beta2": 0.98,
            "eps": 1e-8,
            "weight_decay": 0.1,
            "amsgrad": False,
        },
    ),
    (
        torch.optim.RMSprop,
        {"lr": 0.02, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True},
        {
            "name": "rmsprop",
            "lr": 0.02,
            "alpha": 0.9,
            "eps": 1e-6,
            "momentum": 0.5,
            "centered": True,
            "weight_decay": 0.0,
        },
    ),
    (
        torch.optim.Adagrad,
        {"lr": 0.2, "lr_decay": 0.01, "eps": 1e-9},
        {"name": "adagrad", "lr": 0.2, "lr_decay": 0.01, "eps": 1e-9, "weight_decay": 0.0},
    ),
    (
        torch.optim.Adamax,
        {"lr": 0.004, "betas": (0.7, 0.9)},
        {
            "name": "adamax",
            "lr": 0.004,
            "beta1": 0.7,
            "beta2": 0.9,
            "eps": 1e-8,
            "weight_decay": 0.0,
        },
    ),
    (
        torch.optim.NAdam,
        {"lr": 0.005, "momentum_decay": 0.005, "decoupled_weight_decay": True},
        {
            "name": "nadam",
            "lr": 0.005,
            "beta1": 0.9,
            "beta2": 0.999,
            "eps": 1e-8,
            "weight_decay": 0.0,
            "momentum_decay": 0.005,
            "decoupled_weight_decay": True,
        },
    ),
    (
        torch.optim.RAdam,
        {"lr": 0.006, "betas": (0.5, 0.6)},
        {
            "name": "radam",
            "lr": 0.006,
            "beta1": 0.5,
            "beta2": 0.6,
            "eps": 1e-8,
            "weight_decay": 0.0,
            "decoupled_weight_decay": False,
        },
    ),
    (
        torch.optim.Adadelta,
        {"lr": 0.5, "rho": 0.8},
        {"name": "adadelta", "lr": 0.5, "rho": 0.8, "eps": 1e-6, "weight_decay": 0.0},
    ),
    (
        torch.optim.ASGD,
        {"lr": 0.03, "lambd": 0.001, "alpha": 0.5, "t0": 100.0},
        {
            "name": "asgd",
            "lr": 0.03,
            "lambd": 0.001,
            "alpha": 0.5,
            "t0": 100.0,
            "weight_decay": 0.0,
        },
    ),
    (
        torch.optim.Rprop,
        {"lr": 0.04, "etas": (0.4, 1.3), "step_sizes": (1e-5, 20.0)},
        {
            "name": "rprop",
            "lr": 0.04,
            "eta_minus": 0.4,
            "eta_plus": 1.3,
            "step_size_min": 1e-5,
            "step_size_max": 20.0,
        },
    ),
    (
        torch.optim.Adafactor,
        {"lr": 0.05, "beta2_decay": -0.5, "eps": (None, 1e-2), "d": 2.0},
        {
            "name": "adafactor",
            "lr": 0.05,
            "beta2_decay": -0.5,
            "eps2": 1e-2,
            "d": 2.0,
            "weight_decay": 0.0,
        },
    ),
]


def test_every_registry_class_but_muon_has_a_case() -> None:
    covered = {fields["name"] for _, _, fields in CASES}
    assert covered == set(REGISTRY) - {"muon"}  # Stepscope's Muon wrapper is not a script's class


@pytest.mark.parametrize(("cls", "kwargs", "fields"), CASES, ids=[c[0].__name__ for c in CASES])
def test_the_config_is_read_back_from_param_groups(
    cls: type[torch.optim.Optimizer], kwargs: dict[str, Any], fields: dict[str, Any]
) -> None:
    described = describe(cls(P, **kwargs))
    assert described.config is not None
    assert described.config.model_dump() == fields
    assert described.torch_class == f"{cls.__module__}.{cls.__qualname__}"
    assert described.groups == 1


@pytest.mark.parametrize(("cls", "kwargs", "fields"), CASES, ids=[c[0].__name__ for c in CASES])
def test_an_edit_lands_in_every_group_and_reads_back(
    cls: type[torch.optim.Optimizer], kwargs: dict[str, Any], fields: dict[str, Any]
) -> None:
    optimizer = cls(P, **kwargs)
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.9})
    config = describe(optimizer).config
    assert config is not None
    edited = config.model_copy(update={"lr": 0.0123})
    apply_hyperparameters(optimizer, edited)
    assert [group["lr"] for group in optimizer.param_groups] == [0.0123, 0.0123]
    again = describe(optimizer).config
    assert again is not None and again.model_dump() == {**fields, "lr": 0.0123}


def test_ledger_only_for_the_exact_class() -> None:
    class Mine(torch.optim.SGD):
        pass

    assert describe(torch.optim.SGD(P, lr=0.1)).ledger
    mine = describe(Mine(P, lr=0.1))
    assert not mine.ledger and mine.config is not None and mine.config.name == "sgd"
    assert not describe(torch.optim.Adam(P, maximize=True)).ledger
    assert not describe(torch.optim.Adamax(P)).ledger  # no written rule


def test_what_the_page_cannot_edit_has_no_config() -> None:
    assert describe(torch.optim.LBFGS(P)).config is None  # no registry entry
    assert describe(torch.optim.Adam(P, lr=torch.tensor(0.01))).config is None  # a tensor lr
    assert describe(torch.optim.SGD(P, lr=50.0)).config is None  # beyond the page's bounds


def test_an_edit_writes_only_the_changed_fields_into_every_group() -> None:
    backbone, head, biases = (torch.nn.Parameter(torch.zeros(2)) for _ in range(3))
    optimizer = torch.optim.AdamW(
        [
            {"params": [backbone], "lr": 1e-4},
            {"params": [head]},
            {"params": [biases], "weight_decay": 0.0, "betas": (0.5, 0.9)},
        ],
        lr=1e-3,
        betas=(0.9, 0.999),
        weight_decay=0.1,
    )
    previous = describe(optimizer).config
    assert previous is not None and previous.lr == 1e-4  # read from the first group
    edited = previous.model_copy(update={"beta1": 0.8})
    assert write_changes(optimizer, previous, edited) == ["beta1"]
    groups = optimizer.param_groups
    assert [g["betas"] for g in groups] == [(0.8, 0.999), (0.8, 0.999), (0.8, 0.9)]
    assert [g["lr"] for g in groups] == [1e-4, 1e-3, 1e-3]  # each group's own lr is kept
    assert [g["weight_decay"] for g in groups] == [0.1, 0.1, 0.0]
    lowered = edited.model_copy(update={"lr": 5e-5})
    assert write_changes(optimizer, edited, lowered) == ["lr"]
    assert [g["lr"] for g in groups] == [5e-5, 5e-5, 5e-5]  # the page has one learning rate
