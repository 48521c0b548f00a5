"""Site configuration: the queues and windows of one city hall, named in Japanese and English.

Loaded from YAML (see `queue_bridge/sites/demo.yaml`). Plain data, validated once at start-up.
"""

from __future__ import annotations

from datetime import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lobby.schema import Ident


class Names(BaseModel):
    """A label in each supported language. `easy` is やさしい日本語 (plain Japanese)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ja: str
    en: str
    easy: str | None = None

    def get(self, lang: str) -> str:
        if lang == "en":
            return self.en
        if lang == "easy":
            return self.easy or self.ja
        return self.ja


class QueueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Ident
    name: Names
    floor: int = 1
    #: Procedures (手続き) handled by this queue, e.g. 住民票, 転入届.
    procedures: list[str] = Field(default_factory=list)


class WindowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Ident
    name: Names
    queues: Annotated[list[Ident], Field(min_length=1)]


class Break(BaseModel):
    """A break during which some windows close (for example lunch)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: time
    end: time
    windows: list[Ident]


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    site: Ident
    name: Names
    timezone: str = "Asia/Tokyo"
    opens: time = time(8, 30)
    closes: time = time(17, 15)
    queues: Annotated[list[QueueConfig], Field(min_length=1)]
    windows: Annotated[list[WindowConfig], Field(min_length=1)]
    breaks: list[Break] = Field(default_factory=list)
    #: The guidance robot's knowledge of the site (procedures, counters, facilities). The bridge
    #: does not use it; `speech/knowledge.py` validates it, so a robot-only change cannot stop the bridge.
    guide: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _references_exist(self) -> SiteConfig:
        queue_ids = {q.id for q in self.queues}
        if len(queue_ids) != len(self.queues):
            raise ValueError("queue ids must be unique")
        window_ids = {w.id for w in self.windows}
        if len(window_ids) != len(self.windows):
            raise ValueError("window ids must be unique")
        for w in self.windows:
            unknown = set(w.queues) - queue_ids
            if unknown:
                raise ValueError(f"window {w.id} serves unknown queues {sorted(unknown)}")
        for b in self.breaks:
            unknown = set(b.windows) - window_ids
            if unknown:
                raise ValueError(f"break {b.start}-{b.end} names unknown windows {sorted(unknown)}")
        ZoneInfo(self.timezone)  # raises for an unknown zone
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def queue(self, queue_id: str) -> QueueConfig | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    def windows_of(self, queue_id: str) -> list[WindowConfig]:
        return [w for w in self.windows if queue_id in w.queues]


class SiteConfigError(ValueError):
    pass


def load_site(path: Path | str | None = None) -> SiteConfig:
    """Load a site YAML file; with no path, the bundled demo site."""
    try:
        if path is None:
            text = resources.files("queue_bridge").joinpath("sites/demo.yaml").read_text("utf-8")
            origin = "bundled demo site"
        else:
            text = Path(path).read_text("utf-8")
            origin = str(path)
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise SiteConfigError(f"cannot read site config {path}: {exc}") from None
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "site"
        raise SiteConfigError(f"invalid site config {origin}: {where}: {first['msg']}") from None
