"""The one schema module for every MQTT (and ROS String) payload of Lobby Guide.

Every publisher builds its payload with these models and every subscriber parses with `parse_*`,
so a message that one side accepts the other side produced. Each payload carries `version`; a
subscriber rejects versions it does not know rather than guessing.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

SCHEMA_VERSION = 1
TOPIC_ROOT = "lobby/v1"
#: Larger payloads are rejected before parsing: no legitimate event is anywhere near this.
MAX_PAYLOAD_BYTES = 4096

# Identifiers that end up in topics, URLs and CSV cells: short, printable, no separators.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]
TicketNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{1,16}$")]


class EventType(StrEnum):
    ISSUED = "issued"
    CALLED = "called"
    RECALLED = "recalled"
    SERVED = "served"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    WINDOW_OPEN = "window_open"
    WINDOW_CLOSE = "window_close"


TICKET_EVENTS = frozenset(
    {
        EventType.ISSUED,
        EventType.CALLED,
        EventType.RECALLED,
        EventType.SERVED,
        EventType.NO_SHOW,
        EventType.TRANSFERRED,
    }
)
WINDOW_EVENTS = frozenset({EventType.WINDOW_OPEN, EventType.WINDOW_CLOSE})
#: Events that happen at a window and therefore must name it.
NEEDS_WINDOW = frozenset(
    {EventType.CALLED, EventType.RECALLED, EventType.SERVED, EventType.WINDOW_OPEN, EventType.WINDOW_CLOSE}
)


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class QueueEvent(_Payload):
    """A ticket-system event: `lobby/v1/{site}/queues/{queue}/events`, QoS 1."""

    version: Literal[1] = 1
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    type: EventType
    ticket: TicketNumber | None = None
    queue: Ident
    window: Ident | None = None
    #: Destination queue of a `transferred` event.
    to_queue: Ident | None = None
    ts: AwareDatetime

    @model_validator(mode="after")
    def _fields_fit_type(self) -> QueueEvent:
        if self.type in TICKET_EVENTS and self.ticket is None:
            raise ValueError(f"a {self.type} event needs a ticket")
        if self.type in WINDOW_EVENTS and self.ticket is not None:
            raise ValueError(f"a {self.type} event has no ticket")
        if self.type in NEEDS_WINDOW and self.window is None:
            raise ValueError(f"a {self.type} event needs a window")
        if (self.type is EventType.TRANSFERRED) != (self.to_queue is not None):
            raise ValueError("to_queue is required for transferred events and only for them")
        return self


class WaitEstimate(_Payload):
    """An estimated wait, always a range: `point_s` is the middle, never shown alone."""

    point_s: Annotated[float, Field(ge=0)]
    lower_s: Annotated[float, Field(ge=0)]
    upper_s: Annotated[float, Field(ge=0)]
    method: str


class EstimateAccuracy(_Payload):
    """How accurate today's estimates for a queue were: realized, not claimed.

    Over today's tickets that have been called: the mean absolute error of the wait estimated
    when each ticket was issued, and the share whose realized wait fell inside the range shown.
    """

    mae_s: Annotated[float, Field(ge=0)]
    within_range: Annotated[float, Field(ge=0, le=1)]
    samples: Annotated[int, Field(ge=1)]


class NowCalling(_Payload):
    window: Ident
    ticket: TicketNumber
    called_at: datetime


class QueueStatus(_Payload):
    """Live state of one queue: `lobby/v1/{site}/queues/{queue}/status`, QoS 1, retained."""

    version: Literal[1] = 1
    site: Ident
    queue: Ident
    waiting: Annotated[int, Field(ge=0)]
    now_calling: list[NowCalling]
    open_windows: list[Ident]
    estimate: WaitEstimate | None
    accuracy_today: EstimateAccuracy | None = None
    served_today: Annotated[int, Field(ge=0)] = 0
    updated_at: datetime


SpeechLang = Literal["ja", "en", "ko"]
_SpeechText = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class SpeechTranscript(_Payload):
    """What the robot heard: ROS `/speech/transcript` (std_msgs/String). Text only, never audio."""

    version: Literal[1] = 1
    text: Annotated[str, StringConstraints(max_length=1000)]
    lang: SpeechLang
    duration_s: Annotated[float, Field(ge=0)]
    backend: str
    #: The recognizer's next-best hypotheses, best first (the dialogue tries them when `text` names
    #: nothing it knows).
    alternatives: Annotated[
        list[Annotated[str, StringConstraints(max_length=1000)]], Field(max_length=5)
    ] = []


class SayRequest(_Payload):
    """What the robot should say: ROS `/speech/say` (std_msgs/String)."""

    version: Literal[1] = 1
    text: _SpeechText
    lang: SpeechLang


class DialogueIntent(_Payload):
    """What the robot understood and decided: ROS `/dialogue/intent` (std_msgs/String)."""

    version: Literal[1] = 1
    text: Annotated[str, StringConstraints(max_length=1000)]  # what was heard
    lang: SpeechLang
    procedure: str | None
    destination: str | None  # point of interest: the counter's, or the facility id
    handoff: bool
    clarify: list[str] = Field(default_factory=list)
    escort: bool = False  # the visitor accepted to be walked to `destination`
    answer: str


class PayloadError(ValueError):
    """A payload that is not valid: the message says what is wrong, in one line."""


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"


def parse_event(raw: bytes | str) -> QueueEvent:
    """Parse and validate one event payload, raising `PayloadError` with a one-line reason."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload too large: {len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("payload must be a JSON object")
    if data.get("version") != SCHEMA_VERSION:
        raise PayloadError(f"unsupported version {data.get('version')!r}; expected {SCHEMA_VERSION}")
    try:
        return QueueEvent.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc)) from None


def parse_status(raw: bytes | str) -> QueueStatus:
    try:
        return QueueStatus.model_validate_json(raw)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc)) from None


def events_topic(site: str, queue: str = "+") -> str:
    return f"{TOPIC_ROOT}/{site}/queues/{queue}/events"


def status_topic(site: str, queue: str) -> str:
    return f"{TOPIC_ROOT}/{site}/queues/{queue}/status"


_P = TypeVar("_P", bound=_Payload)


def parse_payload(model: type[_P], raw: bytes | str) -> _P:
    """Parse any payload model, raising `PayloadError` with a one-line reason."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload too large: {len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc)) from None
