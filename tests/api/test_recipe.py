"""docs/protocol.md, "Reproducing a run with PyTorch": the document's own code, run in plain
torch, gives the losses the stream delivers, step for step."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from tests.conftest import Stream, new_run, step_n

PROTOCOL = Path(__file__).resolve().parents[2] / "docs/protocol.md"
STEPS = 40


def recipe() -> dict[str, Any]:
    section = PROTOCOL.read_text().split("## Reproducing a run with PyTorch", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert code is not None, "the recipe's code block is missing"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(PROTOCOL), "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("config", "make_optimizer"),
    [
        (
            {"experiment": "seed-linear", "seed": 7, "n_samples": 100, "batch_size": 32},
            partial(torch.optim.SGD, lr=0.01),
        ),
        (
            {"experiment": "seed-linear", "seed": 2, "n_samples": 50, "batch_size": 8,
             "noise": 0.5, "optimizer": {"name": "adam", "lr": 0.05},
             "teaching": {"accumulate": 3}},
            partial(torch.optim.Adam, lr=0.05),
        ),
        (
            {"experiment": "surface-2d", "seed": 1, "n_samples": 64, "batch_size": 16,
             "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}},
            partial(torch.optim.SGD, lr=0.1, momentum=0.9),
        ),
    ],
    ids=["seed-linear", "accumulate", "surface-2d"],
)  # fmt: skip
def test_the_documented_recipe_reproduces_the_streamed_losses(
    client: TestClient, config: dict[str, Any], make_optimizer: Any
) -> None:
    run_id = new_run(client, **config)
    with client.websocket_connect(f"/ws/runs/{run_id}") as ws:
        stream = Stream(ws)
        step_n(client, stream, run_id, STEPS)
    streamed = [stream.losses[step] for step in range(1, STEPS + 1)]
    defaults = {"seed": 0, "n_samples": 256, "batch_size": 32, "noise": 0.1}
    settings = {**defaults, **{k: v for k, v in config.items() if k in defaults}}
    accumulate = config.get("teaching", {}).get("accumulate", 1)
    by_hand = recipe()["losses"](
        config["experiment"],
        make_optimizer=make_optimizer,
        steps=STEPS,
        accumulate=accumulate,
        **settings,
    )
    assert streamed == pytest.approx(by_hand, rel=1e-6)
