"""The base of every message in the contract."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

PROTOCOL_VERSION: Literal[1] = 1


class Message(BaseModel):
    """A message as it travels. `extra="forbid"`: a field not declared here is a contract breach,
    so a test that validates real traffic against these models catches an undocumented field."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False)
