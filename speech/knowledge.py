"""The robot's knowledge of one site: procedures, where they are handled, what to bring, facilities.

It lives in the `guide:` section of the same site YAML file the queue bridge reads (see
`queue_bridge/sites/demo.yaml`), so a procedure's ticket queue is the bridge's queue id and the
robot can quote that queue's live wait. Validated here, with errors naming the file and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from queue_bridge.site import SiteConfig, SiteConfigError, load_site

#: Fixed by the product: what a city-hall robot is expected to explain.
PROCEDURE_IDS = [
    "moving_in",
    "moving_out",
    "moving_within",
    "resident_certificate",
    "family_register",
    "seal_registration",
    "my_number_card",
    "health_insurance",
    "pension",
    "child_allowance",
    "birth",
    "death",
    "marriage",
    "tax_certificate",
    "nursing_care",
]
FACILITY_IDS = ("restroom", "elevator", "information_desk", "exit")


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ja: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.ja


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ja: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)

    def get(self, lang: str) -> list[str]:
        return self.en if lang == "en" else self.ja


class Place(BaseModel):
    """Something the robot can send or walk a visitor to."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Text
    floor: int
    poi: str  # point of interest on the floor map (maps/)
    phrases: Texts = Field(default_factory=Texts)


class Procedure(Place):
    queue: str | None = None  # the ticket queue whose live wait applies, if any
    counter: Text
    documents: Texts = Field(default_factory=Texts)
    #: The procedures that usually follow this one at other counters (出生届 → 児童手当; 死亡届 →
    #: 国保, 年金): the answer names their counters too, so the visitor need not come back to ask.
    #: One id or a list.
    also: tuple[str, ...] = ()

    @field_validator("also", mode="before")
    @classmethod
    def _one_or_more(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class Facility(Place):
    where: Text


class ClarifyRule(BaseModel):
    """Words that point at several procedures at once, and the question that tells them apart."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    when: Texts
    candidates: Annotated[list[str], Field(min_length=2)]
    #: Per candidate, short answers to the question ("市内です"), too vague to listen for otherwise.
    answers: dict[str, Texts] = Field(default_factory=dict)
    question: Text


class Knowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    information_desk: str = "information_desk"  # POI where hand-offs are sent
    #: This city's own place names as Open JTalk's dictionary writes them (横浜 for 横浜市): never
    #: read as "another city" when a visitor says they come from or move to it (normalize.py).
    home: list[str] = Field(default_factory=list)
    procedures: dict[str, Procedure]
    facilities: dict[str, Facility]
    clarify: list[ClarifyRule] = Field(default_factory=list)
    #: Matters for staff that sound like a procedure (駐車券にハンコ is not 印鑑登録): matched like
    #: phrases, and when one wins, the visitor is handed off instead of being sent to a wrong counter.
    staff_only: Texts = Field(default_factory=Texts)

    @model_validator(mode="after")
    def _known_ids(self) -> Knowledge:
        for kind, given, allowed in (
            ("procedure", self.procedures, PROCEDURE_IDS),
            ("facility", self.facilities, FACILITY_IDS),
        ):
            unknown = sorted(set(given) - set(allowed))
            if unknown:
                raise ValueError(f"unknown {kind} ids {unknown}; allowed: {', '.join(allowed)}")
        for pid, procedure in self.procedures.items():
            for also in procedure.also:
                if also not in self.procedures:
                    raise ValueError(f"procedure {pid} names an `also` the site does not have: {also!r}")
        for rule in self.clarify:
            unknown = sorted((set(rule.candidates) | set(rule.answers)) - set(self.procedures))
            if unknown:
                raise ValueError(f"clarify names procedures the site does not have: {unknown}")
        return self


class KnowledgeError(ValueError):
    """A one-line explanation of what is wrong with the site's guide section."""


def knowledge_of(site: SiteConfig, origin: str = "site file") -> Knowledge:
    if site.guide is None:
        raise KnowledgeError(f"{origin}: no `guide:` section; see queue_bridge/sites/demo.yaml for one")
    try:
        knowledge = Knowledge.model_validate(site.guide)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("guide", *first["loc"]))
        raise KnowledgeError(f"{origin}: {where}: {first['msg']}") from None
    queues = {q.id for q in site.queues}
    for pid, procedure in knowledge.procedures.items():
        if procedure.queue is not None and procedure.queue not in queues:
            raise KnowledgeError(
                f"{origin}: guide.procedures.{pid}.queue: {procedure.queue!r} is not one of the site's queues"
            )
    return knowledge


def load_knowledge(path: Path | str | None = None) -> tuple[SiteConfig, Knowledge]:
    """The site and its guide section; with no path, the bundled demo site."""
    try:
        site = load_site(path)
    except SiteConfigError as exc:
        raise KnowledgeError(str(exc)) from None
    return site, knowledge_of(site, str(path) if path else "bundled demo site")
