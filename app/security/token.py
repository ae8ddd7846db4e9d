"""The access token: required when the server listens beyond loopback, generated when not given."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.settings import Settings

TOKEN_FILE = "token"


def ensure_token(settings: Settings) -> Settings:
    """Settings with a token whenever the server is exposed (generated like Jupyter's)."""
    if settings.exposed and settings.token is None:
        return settings.model_copy(update={"token": secrets.token_urlsafe(32)})
    return settings


def write_token_file(settings: Settings) -> Path | None:
    """Keep the token beside the history, readable by its owner only, for local tools (the Docker
    health check reads it); remove a stale one when there is no token."""
    path = settings.data_dir / TOKEN_FILE
    if settings.token is None:
        path.unlink(missing_ok=True)
        return None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(settings.token)
    return path


def open_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"
    url = f"http://{host}:{settings.port}/"
    return url if settings.token is None else f"{url}?token={settings.token}"
