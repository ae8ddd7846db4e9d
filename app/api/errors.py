"""Error bodies a page can show next to the field they are about.

A refused setting is a 422 whose `detail` lists each problem with `loc` (where, as pydantic gives
it), `field` (the setting's name, e.g. "lr", or null when no one field is to blame), `msg` (a
sentence for people) and `type` (pydantic's error type, for programs). A command that the run's
state forbids is a 409 whose `detail` is the reason, in words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, get_args

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from app.api.encoding import ProtocolJSONResponse
from app.engine.optimizers import OptimizerConfig

# The optimizer configs by their `name` tag: pydantic puts the tag in `loc` for a tagged union.
_CONFIGS: dict[str, type[BaseModel]] = {
    config.model_fields["name"].default: config for config in get_args(get_args(OptimizerConfig)[0])
}


def field_of(loc: Sequence[int | str], message: str) -> str | None:
    """The setting an error is about: the last name in `loc` that is not "body" or a union tag.
    An error about a whole optimizer config (a rule between fields) is put on the first of its
    fields that the message names, e.g. "nesterov" in "nesterov momentum requires …"."""
    if loc and isinstance(loc[-1], str) and loc[-1] in _CONFIGS:
        fields = _CONFIGS[loc[-1]].model_fields
        return next((word for word in re.findall(r"[a-z_0-9]+", message) if word in fields), None)
    names = [part for part in loc if isinstance(part, str) and part != "body"]
    return names[-1] if names else None


def readable(error: dict[str, Any]) -> dict[str, Any]:
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    loc = list(error.get("loc", ()))
    return {
        "loc": loc,
        "field": field_of(loc, message),
        "msg": message,
        "type": error.get("type"),
    }


async def refused_input(request: Request, error: Exception) -> ProtocolJSONResponse:
    assert isinstance(error, RequestValidationError)
    return ProtocolJSONResponse(
        {"detail": [readable(item) for item in error.errors()]},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
