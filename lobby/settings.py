"""One settings object for every process, from environment variables and/or a YAML file.

Precedence (highest first): command-line flags, `LOBBY_*` environment variables, the YAML file
named by `LOBBY_CONFIG` (or `--config`), defaults. Every field is documented in README.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOBBY_", extra="forbid")

    site_file: Path | None = Field(
        None, description="Site YAML (queues, windows); default: bundled demo site"
    )
    db_path: Path = Field(Path("var/lobby-events.sqlite3"), description="SQLite event log")

    web_host: str = Field("127.0.0.1", description="Address the web server binds to")
    web_port: int = Field(8000, ge=0, le=65535)

    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host")
    mqtt_port: int = Field(1883, ge=0, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_tls_ca: Path | None = Field(None, description="CA file: enables TLS to the broker")
    mqtt_client_id: str = Field("lobby-bridge", description="Stable id: the broker keeps its session")
    embedded_broker: bool = Field(False, description="Run an in-process amqtt broker (demo)")

    pull_url: str | None = Field(None, description="Calling-system snapshot URL to poll (pull adapter)")
    pull_interval_s: float = Field(5.0, gt=0)

    sim_speed: float = Field(30.0, gt=0, description="Simulated seconds per real second")
    sim_seed: int = 1

    # Fleet (issue 7). The secret signs robot commands (server) and checks them (robot): give it by
    # environment (LOBBY_COMMAND_SECRET), never in a file in the repository.
    command_secret: SecretStr | None = Field(None, description="HMAC key shared by server and robots")
    robot_id: str = Field("robot1", pattern=r"^[A-Za-z0-9_\-]{1,32}$", description="This robot's id")
    robot_examples_cache: Path = Field(
        Path("var/lobby-taught-examples.json"),
        description="Where a robot keeps the site's taught examples it last learnt, signed as sent",
    )
    staff_db_path: Path = Field(
        Path("var/lobby-staff.sqlite3"), description="Staff accounts, sessions, audit log"
    )
    building_file: Path | None = Field(
        None, description="Building file (floor maps and POIs) for the fleet map; default: bundled maps"
    )
    robot_offline_after_s: float = Field(
        3.0, gt=0, le=300, description="A robot whose telemetry stops this long is shown offline"
    )
    staff_cookie_secure: bool = Field(
        True, description="Mark the staff session cookie Secure (HTTPS only); false only for plain-http tests"
    )
    staff_session_hours: float = Field(8.0, gt=0, le=168, description="Staff sessions expire after this")
    staff_lockout_failures: int = Field(5, ge=1, description="Wrong passwords in a row that lock an account")
    staff_lockout_minutes: float = Field(15.0, gt=0, description="How long a locked account stays locked")


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from the YAML file (if any), the environment, then explicit overrides."""
    file_values: dict[str, Any] = {}
    path = config_file or os.environ.get("LOBBY_CONFIG")
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"cannot read config file {path}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {path} must be a mapping of setting: value")
        file_values = loaded
    env_values = Settings().model_dump(exclude_unset=True)
    merged = {**file_values, **env_values, **{k: v for k, v in overrides.items() if v is not None}}
    return Settings.model_validate(merged)
