"""The committed JSON Schema is the one the models make: the browser's types cannot drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.contract.schema import contract_schema

COMMITTED = Path(__file__).resolve().parents[2] / "static/js/contract/schema.json"

MESSAGES = {
    # worker → server
    "Ready", "ScalarsBatch", "SnapshotFrame", "Ack", "OptimizerChanged", "Failed",
    # server → worker
    "Control", "SetOptimizer", "SetTeaching", "SetPace",
    # server → browser
    "Hello", "Status", "Scalars", "Reset", "OptimizerMark", "Error", "Pong", "SnapshotHeader",
    "RunInfo",
}  # fmt: skip


def test_the_committed_schema_is_current() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "app.contract.schema"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(COMMITTED.read_text()) == json.loads(printed), (
        "static/js/contract/schema.json is stale: "
        "python -m app.contract.schema > static/js/contract/schema.json"
    )


def test_every_message_type_is_under_defs() -> None:
    assert set(contract_schema()["$defs"]) >= MESSAGES


def test_the_snapshot_header_names_the_pages_fields() -> None:
    header = contract_schema()["$defs"]["SnapshotHeader"]
    assert {"teaching", "effect", "micro_batch", "tensors", "race", "batch"} <= set(
        header["properties"]
    )
    stats = contract_schema()["$defs"]["Stats"]["properties"]
    assert stats["nan"]["type"] == stats["inf"]["type"] == "integer"
