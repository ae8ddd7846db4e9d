"""Server settings, from the command line or STEPSCOPE_* environment variables."""

from __future__ import annotations

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
    queue_limit: int = Field(
        256, ge=8, le=65536
    )  # frames a browser may fall behind before a resync
    default_run: bool = True  # create a run of the seed experiment at start-up

    @property
    def database(self) -> Path:
        return self.data_dir / "stepscope.sqlite3"


@lru_cache
def get_settings() -> Settings:
    return Settings()
