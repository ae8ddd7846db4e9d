"""Typed dependencies for the long-lived objects the lifespan creates on `app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.runs.manager import RunManager
from app.settings import Settings
from app.store.checkpoints import CheckpointStore
from app.store.history import History
from app.stream.hub import Hub


def get_runs(connection: HTTPConnection) -> RunManager:
    runs: RunManager = connection.app.state.runs
    return runs


def get_hub(connection: HTTPConnection) -> Hub:
    hub: Hub = connection.app.state.hub
    return hub


def get_history(connection: HTTPConnection) -> History:
    history: History = connection.app.state.history
    return history


def get_checkpoints(connection: HTTPConnection) -> CheckpointStore:
    checkpoints: CheckpointStore = connection.app.state.checkpoints
    return checkpoints


def get_app_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


RunsDep = Annotated[RunManager, Depends(get_runs)]
HubDep = Annotated[Hub, Depends(get_hub)]
HistoryDep = Annotated[History, Depends(get_history)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
CheckpointsDep = Annotated[CheckpointStore, Depends(get_checkpoints)]
