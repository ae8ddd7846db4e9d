"""Control of runs over REST: list, create, rename, delete, command, change the optimizer or the
pace, read history.

The handlers are `async` on purpose: the run manager and the hub belong to the event loop, and each
handler's work is a state check, a pipe write and a small SQLite write, well under a millisecond.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from starlette.requests import HTTPConnection

from app.api.deps import CheckpointsDep, HistoryDep, RunsDep
from app.api.schemas import PaceChange, RunRename
from app.contract.health import Instrumentation
from app.contract.rest import DataPoints, LossSurface, Problem, RefusedInput, ScalarsExport
from app.contract.run import AlertSettings, RunInfo
from app.engine.experiments import ExperimentConfig, Teaching
from app.engine.optimizers import OptimizerConfig
from app.engine.points import data_points
from app.engine.surface import loss_surface
from app.runs.state import Command
from app.security.viewers import ACCESS_KEY, LINKS_KEY, OWNER, ViewerLinks
from app.store.checkpoints import CheckpointStore
from app.store.history import History, RunRecord

router = APIRouter(prefix="/api/runs", tags=["runs"])
# The errors a route can answer with, documented in the OpenAPI schema.
REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": RefusedInput, "description": "Refused input, and the field it is about"}
}
UNKNOWN: dict[int | str, dict[str, Any]] = {
    **REFUSED,
    404: {"model": Problem, "description": "No run with that id"},
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    **UNKNOWN,
    409: {"model": Problem, "description": "The run's state forbids it; the reason says why"},
}


@router.get("")
async def list_runs(
    runs: RunsDep, history: HistoryDep, checkpoints: CheckpointsDep, connection: HTTPConnection
) -> list[RunInfo]:
    """Every run, newest first: live ones as their worker reports them, the others from the
    history, each with its name, start, latest loss and disk use (its share of the history file
    and its checkpoints)."""
    listed = runs.all_info()
    records = {record.id: record for record in history.runs()}
    access = connection.scope.get(ACCESS_KEY, OWNER)
    # Disk use reads every page of the history file: worth it for the owner's runs list, not for a
    # view-only link's page, which sees one run and no list (a room may hold hundreds of them).
    losses, disk = (
        ({}, {}) if access.viewer else await asyncio.to_thread(_usage, history, checkpoints)
    )
    return [
        _described(
            info,
            records.get(info.id),
            loss=info.loss if info.loss is not None else losses.get(info.id),
            disk_bytes=disk.get(info.id),
        )
        for info in listed
    ]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **REFUSED,
        429: {"model": Problem, "description": "As many runs are live as allowed"},
    },
)
async def create_run(config: ExperimentConfig, runs: RunsDep) -> RunInfo:
    return runs.create(config).info()


@router.get("/{run_id}", responses=UNKNOWN)
async def get_run(run_id: str, runs: RunsDep, history: HistoryDep) -> RunInfo:
    info = runs.info(run_id)
    return _described(info, history.run(run_id), loss=info.loss)


@router.patch("/{run_id}", responses=UNKNOWN)
async def rename_run(run_id: str, rename: RunRename, runs: RunsDep, history: HistoryDep) -> RunInfo:
    """Name the run (or take its name away with null); its id stays as it was."""
    info = runs.info(run_id)  # raises UnknownRun: 404
    history.rename(run_id, rename.name)
    return _described(info, history.run(run_id), loss=info.loss)


@router.delete("/{run_id}", status_code=status.HTTP_204_NO_CONTENT, responses=FORBIDDEN)
async def delete_run(
    run_id: str,
    runs: RunsDep,
    history: HistoryDep,
    checkpoints: CheckpointsDep,
    connection: HTTPConnection,
) -> Response:
    """Delete an ended run: its history (curve, racers, snapshots, events) and checkpoints go,
    and the history file gives their pages back. A live run is refused (409): stop it first."""
    runs.info(run_id)  # raises UnknownRun: 404
    await runs.forget(run_id)  # raises IllegalTransition for a live run: 409
    await asyncio.to_thread(_delete, history, checkpoints, run_id)
    links: ViewerLinks | None = connection.scope.get(LINKS_KEY)
    if links is not None:  # (set by the Guard on every request but the health probe)
        links.forget_run(run_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{run_id}/commands/{command}", responses=FORBIDDEN)
async def send_command(run_id: str, command: Command, runs: RunsDep) -> RunInfo:
    """start, pause, step (one optimizer step), phase (one phase of a step), reset or stop."""
    return runs.command(run_id, command).info()


@router.put("/{run_id}/optimizer", responses=FORBIDDEN)
async def change_optimizer(run_id: str, optimizer: OptimizerConfig, runs: RunsDep) -> RunInfo:
    """Same optimizer: new hyperparameters, state kept. Another optimizer: fresh state."""
    return runs.change_optimizer(run_id, optimizer).info()


@router.put("/{run_id}/teaching", responses=FORBIDDEN)
async def change_teaching(run_id: str, teaching: Teaching, runs: RunsDep) -> RunInfo:
    """Skip zero_grad, skip backward, or accumulate gradients over k micro-batches per step."""
    return runs.change_teaching(run_id, teaching).info()


@router.put("/{run_id}/alerts", responses=FORBIDDEN)
async def change_alerts(run_id: str, alerts: AlertSettings, runs: RunsDep) -> RunInfo:
    """nonfinite: a NaN or Inf pauses the run and names the first tensor (on by default)."""
    return runs.change_alerts(run_id, alerts).info()


@router.put("/{run_id}/instrumentation", responses=FORBIDDEN)
async def change_instrumentation(
    run_id: str, instrumentation: Instrumentation, runs: RunsDep
) -> RunInfo:
    """budget: the share of wall time snapshots, hooks and evaluation may take (0.005 .. 0.5;
    0.05 by default). Snapshots and health points thin out to keep it; every step's loss still
    comes."""
    return runs.change_instrumentation(run_id, instrumentation).info()


@router.put("/{run_id}/pace", responses=FORBIDDEN)
async def change_pace(run_id: str, pace: PaceChange, runs: RunsDep) -> RunInfo:
    return runs.change_pace(run_id, pace.steps_per_second).info()


@router.get("/{run_id}/surface", responses=UNKNOWN)
async def get_surface(run_id: str, runs: RunsDep) -> LossSurface:
    """The loss over a grid of (w, b), for runs of the two-parameter experiment."""
    config = runs.info(run_id).config
    if config is None or config.experiment != "surface-2d":
        raise HTTPException(status.HTTP_404_NOT_FOUND, "only surface-2d runs have a loss surface")
    return LossSurface.model_validate(await asyncio.to_thread(loss_surface, config))


@router.get("/{run_id}/points", responses=UNKNOWN)
async def get_points(run_id: str, runs: RunsDep) -> DataPoints:
    """The run's training and validation samples, for 1-D and 2-D inputs (made again from the
    run's seed, so they are the very samples it trains on)."""
    config = runs.info(run_id).config
    if config is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "an attached script's run has no points: its data are its own",
        )
    points = await asyncio.to_thread(data_points, config)
    if points is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, "only runs whose inputs are one or two numbers have points"
        )
    return points


@router.get("/{run_id}/scalars", responses=UNKNOWN)
async def export_scalars(run_id: str, runs: RunsDep, history: HistoryDep) -> ScalarsExport:
    """Every step's loss, from step 1, with the racers' series, an attached script's other
    scalars and the optimizer marks; NaN and Infinity written as strings, as on the stream."""
    run = runs.info(run_id)  # raises UnknownRun: 404
    # a long run has millions of rows: read them off the event loop
    return ScalarsExport.model_construct(
        run=run,
        first_step=1,
        loss=await asyncio.to_thread(_every_step, history, run_id),
        race=await asyncio.to_thread(history.race, run_id),
        path=await asyncio.to_thread(history.own_path, run_id),
        events=await asyncio.to_thread(history.optimizer_marks, run_id),
        logged=await asyncio.to_thread(history.logged, run_id),
    )


def _every_step(history: History, run_id: str) -> list[float | None]:
    """Every step's loss from step 1, None at a step with none (an attached script may log its
    loss at some steps only): loss[i] is step i + 1's, whatever was logged."""
    losses: list[float | None] = []
    for first_step, run in history.loss_runs(run_id):
        losses += [None] * (first_step - 1 - len(losses))
        losses += run
    return losses


def _described(
    info: RunInfo, record: RunRecord | None, loss: float | None, disk_bytes: int | None = None
) -> RunInfo:
    """The run as the stream has it, with what the history keeps beside it: its name and start
    (and, in the list, the latest loss of an ended run and its disk use)."""
    if record is None:
        return info
    return info.model_copy(
        update={
            "name": record.name,
            "started_at": record.created_at,
            "loss": loss,
            "disk_bytes": disk_bytes,
        }
    )


def _usage(history: History, store: CheckpointStore) -> tuple[dict[str, float], dict[str, int]]:
    """Each run's latest loss and its bytes on disk (the history's share and the checkpoints)."""
    losses, disk = history.last_losses(), history.disk_use()
    for run_id in disk:
        disk[run_id] += store.disk_bytes(run_id)
    return losses, disk


def _delete(history: History, store: CheckpointStore, run_id: str) -> None:
    store.delete(run_id)
    history.delete_run(run_id)
