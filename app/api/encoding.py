"""REST responses go through the stream's encoder: NaN is "NaN" in both, never null."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.stream.protocol import to_json


class ProtocolJSONResponse(JSONResponse):
    """The application's default response class.

    A route with a response model is serialized by FastAPI to plain Python data first (NaN stays a
    float there), and rendered here. Setting a default class also turns off FastAPI's direct
    pydantic-to-JSON path, which would write non-finite floats as null.
    """

    def render(self, content: Any) -> bytes:
        return to_json(content).encode()
