"""The wire format: strict JSON events, and snapshots a browser can read in place."""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict

from app.contract.events import Scalars
from app.stream.protocol import (
    PROTOCOL_VERSION,
    decode_snapshot,
    encode_event,
    encode_snapshot,
    json_safe,
)


class Loose(BaseModel):
    """A header of any shape: the framing does not depend on the fields."""

    model_config = ConfigDict(extra="allow")


def strict_loads(text: str | bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_safe_names_non_finite_numbers_at_any_depth() -> None:
    value = {
        "loss": math.nan,
        "nested": {"list": [1.5, math.inf, (-math.inf, 0.0)], "deeper": [{"x": math.nan}]},
        "kept": ["text", 3, True, None, -2.25],
    }
    assert json_safe(value) == {
        "loss": "NaN",
        "nested": {"list": [1.5, "Infinity", ["-Infinity", 0.0]], "deeper": [{"x": "NaN"}]},
        "kept": ["text", 3, True, None, -2.25],
    }


def test_json_safe_leaves_the_input_alone() -> None:
    value = {"a": [math.nan]}
    json_safe(value)
    assert math.isnan(value["a"][0])


def test_events_are_strict_json_with_type_and_version() -> None:
    text = encode_event(Scalars(first_step=1, loss=[0.5, math.nan, math.inf, -math.inf]))
    event = strict_loads(text)
    assert event == {
        "type": "scalars",
        "v": PROTOCOL_VERSION,
        "first_step": 1,
        "loss": [0.5, "NaN", "Infinity", "-Infinity"],
        "t0": None,
        "t1": None,
        "history": False,
        "race": None,
        "path": None,
    }
    assert " " not in text  # compact separators


@pytest.mark.parametrize("name_length", range(8))
def test_snapshot_data_is_four_byte_aligned(name_length: int) -> None:
    values = np.array([1.0, -2.5, math.nan, math.inf, 3e-9], dtype="<f4")
    header = {"step": 7, "name": "x" * name_length, "loss": math.nan}
    message = encode_snapshot(Loose(**header), values.tobytes())

    (length,) = struct.unpack_from("<I", message)
    assert (4 + length) % 4 == 0
    assert len(message) == 4 + length + values.nbytes
    # what a browser does: a Float32Array straight over the buffer, at an aligned offset
    np.testing.assert_array_equal(np.frombuffer(message, dtype="<f4", offset=4 + length), values)
    assert strict_loads(message[4 : 4 + length]) == {
        "step": 7,
        "name": "x" * name_length,
        "loss": "NaN",
    }

    decoded_header, data = decode_snapshot(message)
    assert decoded_header["step"] == 7 and decoded_header["loss"] == "NaN"
    np.testing.assert_array_equal(np.frombuffer(data.cast("B"), dtype="<f4"), values)


def test_empty_snapshot_round_trips() -> None:
    header, data = decode_snapshot(encode_snapshot(Loose(tensors=[]), b""))
    assert header["tensors"] == [] and len(data) == 0
