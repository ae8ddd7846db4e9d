"""Rewind and branch (issue 12): a new run that goes on from a step of another, and its lineage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from app.contract.base import Message
from app.engine.optimizers import OptimizerConfig


class BranchPoint(Message):
    """One end of a fork: the other run, and the step where the two part."""

    run: str = Field(description="the other run's id")
    step: int = Field(ge=0, description="the step both runs share last: the child goes on from it")


class BranchRequest(Message):
    """POST /api/runs/{id}/branch: go back to `step` and go on as a new run from there."""

    step: int = Field(
        ge=0,
        description="a step the parent keeps in memory (its latest steps) or a step it has a "
        "checkpoint of",
    )
    optimizer: OptimizerConfig | None = Field(
        default=None,
        description="the branch's optimizer; null: the parent's, as it was at that step. The same "
        "optimizer with other hyperparameters keeps its state (as editing param_groups does); "
        "another one starts fresh",
    )


class Lineage(Message):
    """GET /api/runs/{id}/branches: where a run came from and what branched from it."""

    parent: BranchPoint | None = Field(description="the run this one branched from; null: none")
    children: list[BranchPoint] = Field(description="the runs that branched from this one")
    kept: tuple[int, int] | None = Field(
        default=None,
        description="the first and last step a branch may start from out of the worker's memory "
        "now; null when the run has no live worker",
    )
    checkpoints: list[int] = Field(
        default_factory=list, description="the steps of the run's checkpoints on disk"
    )


# server → worker, worker → server


class Rewind(Message):
    """Write the loop's state at `step` as the first checkpoint of the run `into`."""

    kind: Literal["rewind"] = "rewind"
    step: int
    into: str = Field(description="the id of the branch the checkpoint is for")


class Rewound(Message):
    """The answer to a Rewind (or a query of the kept range, into = ""): the checkpoint's file, or
    why there is none."""

    kind: Literal["rewound"] = "rewound"
    step: int
    into: str
    path: str | None = None
    refused: str | None = None
    kept: tuple[int, int] | None = None
