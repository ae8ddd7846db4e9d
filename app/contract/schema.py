"""`python -m app.contract.schema` prints one JSON Schema with every message type under $defs.

The committed copy, static/js/contract/schema.json, is what the browser's types are generated from;
tests/contract/test_schema.py checks that it is current.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from app.contract.events import DriverUpdate, ServerEvent
from app.contract.rest import LossSurface, Problem, RefusedInput, RunExport, ScalarsExport
from app.contract.run import RunInfo
from app.contract.snapshot import SnapshotHeader
from app.contract.worker import WorkerCommand, WorkerMessage


def contract_schema() -> dict[str, Any]:
    roots: dict[str, Any] = {
        "DriverUpdate": DriverUpdate,
        "LossSurface": LossSurface,
        "Problem": Problem,
        "RefusedInput": RefusedInput,
        "RunExport": RunExport,
        "RunInfo": RunInfo,
        "ScalarsExport": ScalarsExport,
        "ServerEvent": ServerEvent,
        "SnapshotHeader": SnapshotHeader,
        "WorkerCommand": WorkerCommand,
        "WorkerMessage": WorkerMessage,
    }
    definitions: dict[str, Any] = {}
    for name, root in roots.items():
        schema = TypeAdapter(root).json_schema(ref_template="#/$defs/{model}")
        definitions.update(schema.pop("$defs", {}))
        definitions[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://stepscope.local/contract/schema.json",
        "title": "Stepscope contract",
        "description": "Every message between worker, server and browser (docs/protocol.md).",
        "$defs": dict(sorted(definitions.items())),
    }


def render() -> str:
    return json.dumps(contract_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
