"""Checkpoints as the worker reports them and the REST API and the page show them."""

from __future__ import annotations

import enum

from pydantic import Field

from app.contract.base import Message


class SaveReason(enum.StrEnum):
    PAUSE = "pause"  # the run paused (a command or an alert)
    DEMAND = "demand"  # asked for from the page (POST /api/runs/{id}/checkpoints)
    PERIODIC = "periodic"  # every --checkpoint-every seconds while running
    STOP = "stop"  # the run stopped (a command, or the server shutting down)


class CheckpointInfo(Message):
    step: int = Field(
        description="the optimizer steps the checkpoint holds: a resume goes on from here"
    )
    bytes: int = Field(description="the checkpoint file's size on disk")
    saved_at: float = Field(description="wall clock when it was written, seconds since the epoch")
    why: SaveReason | None = Field(
        default=None, description="what asked for it; null when read back from disk"
    )
