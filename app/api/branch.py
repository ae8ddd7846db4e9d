"""Rewind and branch over REST: a new run that goes on from a step of another (app/runs/branch.py)."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.exceptions import RequestValidationError

from app.api.deps import RunsDep
from app.api.runs import FORBIDDEN, UNKNOWN
from app.contract.branch import BranchRequest, Lineage
from app.contract.run import RunInfo
from app.runs import branch as branching

router = APIRouter(prefix="/api/runs", tags=["branches"])


@router.post("/{run_id}/branch", status_code=status.HTTP_201_CREATED, responses=FORBIDDEN)
async def branch_run(run_id: str, request: BranchRequest, runs: RunsDep) -> RunInfo:
    """Go back to `step` (one the run keeps in memory, or one it has a checkpoint of) and go on
    as a new run from there, with `optimizer` if given: same parameters, optimizer state, RNG
    and batch position as the run had at that step. A step there is no state of is a 422 that
    says which steps there are."""
    try:
        return (await branching.branch(runs, run_id, request)).info()
    except branching.BranchRefused as refused:
        problem = {"loc": ("body", "step"), "msg": str(refused), "type": "value_error"}
        raise RequestValidationError([problem]) from None


@router.get("/{run_id}/branches", responses=UNKNOWN)
async def get_branches(run_id: str, runs: RunsDep) -> Lineage:
    """Where the run came from, what branched from it, and the steps a branch may start from
    (`kept`, from the worker's memory; `checkpoints`, on disk)."""
    return await branching.describe(runs, run_id)
