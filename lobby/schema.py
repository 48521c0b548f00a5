"""The one schema module for every MQTT (and ROS String) payload of Lobby Guide.

Every publisher builds its payload with these models and every subscriber parses with `parse_*`,
so a message that one side accepts the other side produced. Each payload carries `version`; a
subscriber rejects versions it does not know rather than guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, TypeVar

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
    #: Larger payloads of this kind are rejected before parsing (`parse_payload`).
    max_bytes: ClassVar[int] = MAX_PAYLOAD_BYTES


class _Signed(_Payload):
    """A payload only the server may send: `signature` is the HMAC-SHA256 (hex) of its other fields
    (`signing_bytes`) with the secret the server and the robots share, so a robot obeys only the
    server, whoever else can publish on the broker."""

    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


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
    #: No phrase of the knowledge base matched; the examples classifier chose, with this probability.
    guessed: Annotated[float, Field(ge=0, le=1)] | None = None


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
    if len(raw) > model.max_bytes:
        raise PayloadError(f"payload too large: {len(raw)} bytes > {model.max_bytes}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc)) from None


# -- perception (issue 5): faces and visitor events on ROS, as JSON in std_msgs/String -----------
# Boxes, scores, distances and counts only: never an image, never anything that identifies a person.


class FaceDetection(_Payload):
    """One tracked face: box `[x, y, w, h]` in pixels of the camera frame."""

    box: Annotated[list[float], Field(min_length=4, max_length=4)]
    score: Annotated[float, Field(ge=0, le=1)]
    track_id: Annotated[int, Field(ge=1)]
    distance_m: Annotated[float, Field(ge=0)]
    #: 1 when the face looks straight at the robot, towards 0 as it turns away; null if unknown.
    frontality: Annotated[float, Field(ge=0, le=1)] | None = None


class PerceivedFaces(_Payload):
    """ROS `/perception/faces` (std_msgs/String), one per processed camera frame."""

    version: Literal[1] = 1
    stamp: float  # the camera frame's time (s)
    frame: Annotated[int, Field(ge=0)]
    width: Annotated[int, Field(ge=1)]
    height: Annotated[int, Field(ge=1)]
    #: At most 20 (the nearest first), which keeps the message under MAX_PAYLOAD_BYTES.
    faces: Annotated[list[FaceDetection], Field(max_length=20)]


class VisitorEvent(_Payload):
    """ROS `/perception/visitor_events` (std_msgs/String): a track's approach, engagement, leaving."""

    version: Literal[1] = 1
    type: Literal["approaching", "engaged", "left"]
    track_id: Annotated[int, Field(ge=1)]
    stamp: float
    distance_m: Annotated[float, Field(ge=0)] | None = None


class VisitorCount(_Payload):
    """ROS `/perception/visitor_count` (latched): people seen per hour, for the fleet view. A
    person leaving the camera's view and coming back is counted again."""

    version: Literal[1] = 1
    #: Hour start (ISO 8601, UTC) → number of people first seen in that hour; last 24 hours.
    per_hour: dict[str, Annotated[int, Field(ge=0)]]
    updated_at: AwareDatetime


# -- fleet (issue 7): robots ↔ bridge over MQTT, `lobby/v1/{site}/robots/{robot}/...` -------------
# State, telemetry and events carry no audio, no images and nothing that identifies a visitor.

RobotMode = Literal[
    "idle", "greeting", "conversing", "escorting", "returning", "charging", "paused", "fault", "safe_stop",
    "offline",
]  # fmt: skip
CommandName = Literal["go_home", "pause", "resume", "guide_to"]
EventKind = Literal["handoff", "unanswered", "conversation", "escort", "fault", "alert", "command_ack"]


class Pose2D(_Payload):
    """Map metres and radians, on `floor`'s map (maps/)."""

    x: float
    y: float
    yaw: float = 0.0


class RobotState(_Payload):
    """`robots/{robot}/state`, QoS 1, retained; the robot's last will is this with mode "offline"."""

    version: Literal[1] = 1
    robot: Ident
    mode: RobotMode
    floor: int = 1
    pose: Pose2D | None = None
    battery: Annotated[float, Field(ge=0, le=1)] | None = None  # fraction of full charge
    faults: Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Field(max_length=20)] = []
    updated_at: AwareDatetime


class RobotTelemetry(_Payload):
    """`robots/{robot}/telemetry`, QoS 0, ~1 Hz."""

    version: Literal[1] = 1
    robot: Ident
    floor: int = 1
    pose: Pose2D
    v: float = 0.0  # m/s
    w: float = 0.0  # rad/s
    battery: Annotated[float, Field(ge=0, le=1)] | None = None
    at: AwareDatetime


class RobotEvent(_Payload):
    """`robots/{robot}/events`, QoS 1: hand-offs, unanswered questions (text only), conversation and
    escort summaries, faults, alerts, and the acknowledgement of a command (`command_id`, `accepted`)."""

    version: Literal[1] = 1
    robot: Ident
    kind: EventKind
    at: AwareDatetime
    text: Annotated[str, StringConstraints(max_length=1000)] = ""
    lang: Literal["ja", "en", "ko"] | None = None
    procedure: Ident | None = None
    poi: Ident | None = None
    command_id: Ident | None = None
    accepted: bool | None = None


class RobotCommand(_Signed):
    """`robots/{robot}/commands`, QoS 1, from the staff dashboard; signed (`_Signed`)."""

    version: Literal[1] = 1
    id: Ident
    robot: Ident
    command: CommandName
    poi: Ident | None = None  # guide_to: where
    issued_by: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    issued_at: AwareDatetime

    @model_validator(mode="after")
    def _guide_to_needs_a_place(self) -> RobotCommand:
        if (self.command == "guide_to") != (self.poi is not None):
            raise ValueError("guide_to needs a poi, and only guide_to takes one")
        return self


#: What visitors said, as staff taught it (the dashboard allows 500 characters).
ExampleText = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SiteExamples(_Signed):
    """`guide/examples`, QoS 1, retained, from the server: the intent examples staff taught from the
    robots' unanswered questions (intent id → what visitors said), for every robot of the site to
    learn on top of the ones it ships with (speech/examples.py). Signed (`_Signed`): what a robot
    tells visitors is the server's to change."""

    max_bytes: ClassVar[int] = 1024 * 1024  # ~4,000 taught sentences; a city hall teaches far fewer
    version: Literal[1] = 1
    site: Ident
    updated_at: AwareDatetime
    examples: dict[Ident, list[ExampleText]]


_S = TypeVar("_S", bound=_Signed)


def signing_bytes(payload: _Signed) -> bytes:
    """The canonical bytes that are signed: every field but the signature, keys sorted."""
    fields = payload.model_dump(mode="json", exclude={"signature"})
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_payload(payload: _S, secret: bytes) -> _S:
    mac = hmac.new(secret, signing_bytes(payload), hashlib.sha256).hexdigest()
    return payload.model_copy(update={"signature": mac})


def payload_is_signed(payload: _Signed, secret: bytes) -> bool:
    """True only for a payload signed with `secret` and not altered since."""
    if payload.signature is None:
        return False
    mac = hmac.new(secret, signing_bytes(payload), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, payload.signature)


def robot_topic(site: str, robot: str, kind: Literal["state", "telemetry", "events", "commands"]) -> str:
    return f"{TOPIC_ROOT}/{site}/robots/{robot}/{kind}"


def examples_topic(site: str) -> str:
    return f"{TOPIC_ROOT}/{site}/guide/examples"
