"""The address of an array in a snapshot's float32 data block."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Span = Annotated[
    tuple[int, int], Field(description="[offset, length] in float32 elements of the data block")
]
