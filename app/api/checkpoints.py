"""A run's checkpoints over REST: save one now, and list those on disk.

Checkpoints are also written without asking: on pause, on stop, and every `--checkpoint-every`
seconds while a run trains. Start on a stopped or interrupted run continues from the latest
(app/runs/manager.py); docs/architecture.md, "Checkpoints and resume".
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, status

from app.api.deps import CheckpointsDep, RunsDep
from app.api.runs import FORBIDDEN, UNKNOWN
from app.contract.checkpoint import CheckpointInfo

router = APIRouter(prefix="/api/runs", tags=["checkpoints"])


@router.post("/{run_id}/checkpoints", status_code=status.HTTP_201_CREATED, responses=FORBIDDEN)
async def save_checkpoint(run_id: str, runs: RunsDep) -> CheckpointInfo:
    """Write a checkpoint of the live run now, at the step boundary its loop is at (409 in the
    middle of a step, after a phase command: finish the step first)."""
    return await runs.save_checkpoint(run_id)


@router.get("/{run_id}/checkpoints", responses=UNKNOWN)
async def list_checkpoints(
    run_id: str, runs: RunsDep, checkpoints: CheckpointsDep
) -> list[CheckpointInfo]:
    """The run's checkpoints on disk, oldest step first (the latest few are kept)."""
    runs.info(run_id)  # raises UnknownRun: 404
    found = await asyncio.to_thread(checkpoints.list, run_id)
    return [
        CheckpointInfo(step=saved.step, bytes=saved.bytes, saved_at=saved.saved_at)
        for saved in found
    ]
