"""One typed Settings object, read from the environment (prefix KIZUNA_) and passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KIZUNA_", frozen=True, extra="forbid")

    data_dir: Path = Field(default=Path("./kizuna-data"), description="Where stores live.")
    nation: str = Field(default="USA", description="The nation this node serves.")
    log_level: str = Field(default="INFO")
    store_url: str = Field(default="", description="Empty: SQLite under data_dir.")
    bus_url: str = Field(default="", description="Empty: the in-process bus.")
    tls_port: int = Field(default=8089, ge=0, le=65535)
    tcp_port: int = Field(default=8087, ge=0, le=65535)
    max_event_bytes: int = Field(default=64 * 1024, gt=0)
