"""The websocket message format, version 1 (documented in docs/protocol.md).

Events and scalars travel as small JSON text messages. A snapshot travels as one binary message: a
little-endian uint32 header length, the JSON header, space padding to a multiple of 4 bytes, then
float32 data that a browser reads in place as a `Float32Array`. JSON has no NaN or Infinity, so
non-finite numbers are written as the strings "NaN", "Infinity" and "-Infinity"; `Number()` in the
browser reads them back. `to_json` is the one encoder: the stream and the REST API both use it.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from pydantic import BaseModel

from app.contract.base import PROTOCOL_VERSION
from app.contract.events import Event
from app.contract.snapshot import SnapshotHeader

__all__ = [
    "PROTOCOL_VERSION",
    "decode_snapshot",
    "encode_event",
    "encode_snapshot",
    "json_safe",
    "to_json",
]


def json_safe(value: Any) -> Any:
    """Replace non-finite floats, at any depth, by their names; models become plain data."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump())
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def to_json(value: Any) -> str:
    """Strict, compact JSON with non-finite numbers named: what every client of ours reads."""
    return json.dumps(json_safe(value), separators=(",", ":"), allow_nan=False)


def encode_event(event: Event) -> str:
    return to_json(event)


def encode_snapshot(header: SnapshotHeader | BaseModel | dict[str, Any], data: bytes) -> bytes:
    text = to_json(header).encode()
    padding = b" " * (-(4 + len(text)) % 4)  # JSON allows trailing spaces
    return struct.pack("<I", len(text) + len(padding)) + text + padding + data


def decode_snapshot(message: bytes) -> tuple[dict[str, Any], memoryview[float]]:
    """The header and the float32 data of a snapshot message (the inverse of encode_snapshot)."""
    (length,) = struct.unpack_from("<I", message)
    header: dict[str, Any] = json.loads(message[4 : 4 + length])
    return header, memoryview(message)[4 + length :].cast("f")
