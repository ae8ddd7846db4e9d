"""The websocket message format, version 1 (documented in docs/protocol.md).

Events and scalars travel as small JSON text messages. A snapshot travels as one binary message: a
little-endian uint32 header length, the JSON header, zero padding to a multiple of 4 bytes, then
float32 data that a browser reads in place as a `Float32Array`. JSON has no NaN or Infinity, so
non-finite numbers are written as the strings "NaN", "Infinity" and "-Infinity"; `Number()` in the
browser reads them back.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

PROTOCOL_VERSION = 1


def json_safe(value: Any) -> Any:
    """Replace non-finite floats, at any depth, by their names."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def encode_event(kind: str, **fields: Any) -> str:
    return json.dumps(
        json_safe({"type": kind, "v": PROTOCOL_VERSION, **fields}),
        separators=(",", ":"),
        allow_nan=False,
    )


def encode_snapshot(header: dict[str, Any], data: bytes) -> bytes:
    text = json.dumps(
        json_safe({"type": "snapshot", "v": PROTOCOL_VERSION, **header}),
        separators=(",", ":"),
        allow_nan=False,
    ).encode()
    padding = b" " * (-(4 + len(text)) % 4)  # JSON allows trailing spaces
    return struct.pack("<I", len(text) + len(padding)) + text + padding + data


def decode_snapshot(message: bytes) -> tuple[dict[str, Any], memoryview[float]]:
    """The header and the float32 data of a snapshot message (the inverse of encode_snapshot)."""
    (length,) = struct.unpack_from("<I", message)
    header: dict[str, Any] = json.loads(message[4 : 4 + length])
    return header, memoryview(message)[4 + length :].cast("f")
