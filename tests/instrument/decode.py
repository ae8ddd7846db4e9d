"""Read a snapshot the way a browser does: float32 data, sliced by the header's views."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

Fields = dict[str, dict[str, torch.Tensor | None]]


def as_floats(data: bytes | memoryview[Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.frombuffer(memoryview(data).cast("B"), dtype="<f4")


def read_fields(header: dict[str, Any], data: bytes | memoryview[Any]) -> Fields:
    """Every tensor's fields by name ("value", "grad", "update", "state.<key>"); None if absent."""
    floats = as_floats(data)
    tensors: Fields = {}
    for entry in header["tensors"]:
        fields: dict[str, torch.Tensor | None] = {}
        for field, record in entry["fields"].items():
            if record is None:
                fields[field] = None
                continue
            offset, length = record["view"]
            values = torch.from_numpy(floats[offset : offset + length].copy())
            fields[field] = values if entry["sampled"] else values.reshape(entry["shape"])
        tensors[entry["name"]] = fields
    return tensors


def entry_of(header: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in header["tensors"] if entry["name"] == name)
