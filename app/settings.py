"""Server settings, from the command line or STEPSCOPE_* environment variables."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STEPSCOPE_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("data")
    static_dir: Path = PROJECT_ROOT / "static"
    templates_dir: Path = PROJECT_ROOT / "templates"
    max_runs: int = Field(8, ge=1, le=64)
    # frames a browser may fall behind before it is resynced from the history
    queue_limit: int = Field(256, ge=8, le=65536)
    default_run: bool = True  # create a run of the seed experiment at start-up
    # Python files (or folders of them) that define more experiments: code from the command line
    # only, never from a request (docs/experiments.md)
    experiments: list[Path] = []

    # Exposure. On loopback no token is needed; bound anywhere else, one is required, and is
    # generated at start-up when not given (STEPSCOPE_TOKEN).
    token: str | None = Field(default=None, min_length=16)
    allowed_origins: list[str] = []  # more origins whose pages may use the API (scheme://host:port)
    allowed_hosts: list[str] = []  # more Host header names, e.g. a reverse proxy's public name

    # Limits.
    max_connections: int = Field(1000, ge=1, le=10_000)  # websockets, all runs together
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    send_timeout: float = Field(10.0, gt=0.0)  # seconds a client may take to take one frame
    command_timeout: float = Field(15.0, gt=0.0)  # seconds a worker may take to carry one out
    # Seconds between a running run's checkpoints (it also saves on pause, stop and on demand).
    checkpoint_every: float = Field(60.0, gt=0.0, le=86_400.0)

    @property
    def exposed(self) -> bool:
        """Listening beyond this machine: authentication becomes mandatory."""
        return not is_loopback(self.host)

    @property
    def database(self) -> Path:
        return self.data_dir / "stepscope.sqlite3"

    @property
    def checkpoints(self) -> Path:
        return self.data_dir / "checkpoints"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
