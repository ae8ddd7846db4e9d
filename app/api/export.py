"""A run's history as files other tools read: every step's scalars as CSV or JSON, and the whole
run (scalars and the health points' 64-bin distributions) as TensorBoard event files in a tar.gz.

The routes are thin; the reading is History.scalar_series and the writing is in app/store/export.py.
A long run has millions of rows: the work runs off the event loop.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import HistoryDep, RunsDep
from app.api.runs import UNKNOWN
from app.contract.rest import RunExport
from app.store.export import csv_text, scalar_table, tensorboard_archive
from app.stream.protocol import to_json

router = APIRouter(prefix="/api/runs", tags=["runs"])


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"
    TENSORBOARD = "tensorboard"


FormatQuery = Annotated[
    ExportFormat,
    Query(
        description="csv or json: every step's scalars, a column per series; tensorboard: "
        "event files of the scalars and the recorded distributions, as a tar.gz"
    ),
]

_FILES: dict[ExportFormat, tuple[str, str]] = {
    ExportFormat.CSV: ("text/csv; charset=utf-8", "csv"),
    ExportFormat.JSON: ("application/json", "json"),
    ExportFormat.TENSORBOARD: ("application/gzip", "tensorboard.tar.gz"),
}

_OTHER_FORMATS: dict[str, Any] = {
    "text/csv": {"schema": {"type": "string"}},
    "application/gzip": {"schema": {"type": "string", "format": "binary"}},
}


@router.get(
    "/{run_id}/export",
    response_model=RunExport,
    responses={**UNKNOWN, 200: {"content": _OTHER_FORMATS, "description": "The file"}},
)
async def export_run(
    run_id: str,
    runs: RunsDep,
    history: HistoryDep,
    format: FormatQuery,
) -> Response:
    """The run as a file to download (Content-Disposition: attachment)."""
    run = runs.info(run_id)  # raises UnknownRun: 404
    media_type, ending = _FILES[format]
    body: bytes | str
    if format is ExportFormat.TENSORBOARD:
        health = await asyncio.to_thread(history.health_points, run_id, 2**62)
        series = await asyncio.to_thread(history.scalar_series, run_id)
        record = history.run(run_id)
        started = record.created_at if record is not None else 0.0
        body = await asyncio.to_thread(tensorboard_archive, run_id, series, health, started)
    else:
        steps, columns = scalar_table(await asyncio.to_thread(history.scalar_series, run_id))
        if format is ExportFormat.CSV:
            body = await asyncio.to_thread(csv_text, steps, columns)
        else:
            export = RunExport.model_construct(run=run, steps=steps, scalars=columns)
            body = await asyncio.to_thread(_json, export)
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}.{ending}"'},
    )


def _json(export: RunExport) -> str:
    return to_json(export)  # NaN and ±Infinity as strings, as on the stream
