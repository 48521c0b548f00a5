"""The robot's behaviour: one pure state machine, `step(state, event, config) -> Transition`.

    idle ──approach──▶ greeting ──heard──▶ conversing ──intent(escort)──▶ escorting
      ▲                   │ left/timeout        │ left/timeout               │ arrived / stuck / lost
      └───────────────────┴─────────────────────┘◀──── returning ◀───────────┘
                                                    (to the post, or to the dock when the battery is low)
    charging ──battery ≥ resume──▶ returning(post)
    any ──pause──▶ paused ──resume──▶ where it was;  any ──fault──▶ fault;  any ──safety──▶ safe_stop

Inputs are the plain event dataclasses below (the ROS node translates perception, speech, navigation,
battery and verified staff commands into them); outputs are the new state and a list of actions
(say, navigate, escort, stop, publish an event). No ROS, no clock: time arrives as `Tick(now)`, and
timeouts compare `now` with the moment the current episode started, so tests run in microseconds.

Rules worth knowing:
- A low battery never interrupts a visitor: the robot finishes the conversation or the escort, then
  docks; it charges until `resume_battery` and goes back to its post.
- A stuck escort apologises, gives the directions (place and floor) itself and hands off to staff.
- Pause stops motion at once but lets the current sentence finish (the speaker queue plays to the
  end), then asks the visitor to wait; resume restarts whatever motion was interrupted.
- A safety stop (bumper, emergency stop) beats everything; a fault beats everything but safety.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from lobby.schema import CommandName, EventKind

Mode = Literal[
    "idle", "greeting", "conversing", "escorting", "returning", "charging", "paused", "fault", "safe_stop"
]  # fmt: skip
Lang = Literal["ja", "en", "ko"]
Place = Literal["post", "dock"]

# -- events (inputs) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitorApproaching:
    track_id: int


@dataclass(frozen=True)
class VisitorEngaged:
    track_id: int


@dataclass(frozen=True)
class VisitorLeft:
    track_id: int


@dataclass(frozen=True)
class Heard:
    text: str
    lang: Lang


@dataclass(frozen=True)
class IntentDecided:
    """From the dialogue's `DialogueIntent`: what the visitor needs and whether to walk them there."""

    lang: Lang
    procedure: str | None = None
    destination: str | None = None  # POI id
    escort: bool = False
    handoff: bool = False
    text: str = ""  # what was heard (used only for the record of an unanswered question)
    guessed: bool = False  # answered from the intent examples alone: staff should check the guess


@dataclass(frozen=True)
class EscortArrived:
    pass


@dataclass(frozen=True)
class EscortStuck:
    reason: str = "blocked"


@dataclass(frozen=True)
class VisitorLost:
    pass


@dataclass(frozen=True)
class ReturnedHome:
    place: Place


@dataclass(frozen=True)
class BatteryLevel:
    fraction: float


@dataclass(frozen=True)
class Command:
    """A staff command whose signature the telemetry node already checked."""

    name: CommandName
    command_id: str
    poi: str | None = None


@dataclass(frozen=True)
class Fault:
    reason: str


@dataclass(frozen=True)
class FaultCleared:
    reason: str


@dataclass(frozen=True)
class SafetyStop:
    reason: str


@dataclass(frozen=True)
class SafetyCleared:
    pass


@dataclass(frozen=True)
class Tick:
    now: float  # seconds on any monotonic clock


Event = (
    VisitorApproaching | VisitorEngaged | VisitorLeft | Heard | IntentDecided | EscortArrived | EscortStuck
    | VisitorLost | ReturnedHome | BatteryLevel | Command | Fault | FaultCleared | SafetyStop
    | SafetyCleared | Tick
)  # fmt: skip

# -- actions (outputs) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str
    lang: Lang


@dataclass(frozen=True)
class NavigateTo:
    """Drive (alone) to a POI: the post or the dock."""

    poi: str
    place: Place


@dataclass(frozen=True)
class StartEscort:
    """Walk a visitor to a POI at their pace (robot.navigation.escort)."""

    poi: str


@dataclass(frozen=True)
class Stop:
    """Stop all motion now (cancel the escort and any goal)."""

    reason: str


@dataclass(frozen=True)
class PublishEvent:
    kind: EventKind
    text: str = ""
    lang: Lang | None = None
    procedure: str | None = None
    poi: str | None = None
    command_id: str | None = None
    accepted: bool | None = None


Action = Say | NavigateTo | StartEscort | Stop | PublishEvent

# -- configuration and state -----------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceInfo:
    """What the robot says about a POI when it cannot walk there: name and floor."""

    name_ja: str
    name_en: str
    floor: int


@dataclass(frozen=True)
class BehaviourConfig:
    post: str = "information_desk"  # where the robot waits for visitors (its home)
    dock: str = "dock"
    low_battery: float = 0.25
    resume_battery: float = 0.80
    greeting_timeout_s: float = 20.0  # approached but never spoke
    conversation_timeout_s: float = 45.0  # no words for this long: the visitor has gone
    places: Mapping[str, PlaceInfo] = field(default_factory=dict)  # empty: any POI id is accepted


@dataclass(frozen=True)
class BehaviourState:
    mode: Mode = "idle"
    clock: float = 0.0  # the latest Tick
    since: float = 0.0  # when the current episode (greeting, conversation) last saw activity
    lang: Lang = "ja"  # the current visitor's language
    visitor: int | None = None  # perception track id of the visitor being served
    intent: IntentDecided | None = None  # the latest, for directions and the summary
    destination: str | None = None  # escort POI
    target: Place | None = None  # where `returning` goes
    battery: float | None = None
    dock_pending: bool = False  # battery low: dock after the current visitor
    resume: Mode | None = None  # where pause / safe stop / fault return to
    faults: tuple[str, ...] = ()
    safety: str | None = None


@dataclass(frozen=True)
class Transition:
    state: BehaviourState
    actions: tuple[Action, ...] = ()


# -- what the robot says ---------------------------------------------------------------------------

_TEXT: dict[str, dict[str, str]] = {
    "greet": {
        "ja": "こんにちは。ご用件をお聞かせください。",
        "en": "Hello! How can I help you?",
        "ko": "안녕하세요. 무엇을 도와드릴까요?",
    },
    "escort": {
        "ja": "ご案内します。こちらへどうぞ。",
        "en": "Please follow me.",
        "ko": "안내해 드리겠습니다.",
    },
    "sorry_stuck": {
        "ja": "申し訳ありません。道がふさがっていて、ご案内を続けられません。",
        "en": "I'm sorry, the way is blocked and I cannot take you any further.",
        "ko": "죄송합니다. 길이 막혀 안내를 계속할 수 없습니다.",
    },
    "handoff": {
        "ja": "職員を呼びましたので、少々お待ちください。",
        "en": "I have called a member of staff; they will be with you shortly.",
        "ko": "직원을 불렀습니다. 잠시만 기다려 주세요.",
    },
    "lost": {
        "ja": "お連れの方が見えなくなりましたので、持ち場に戻ります。",
        "en": "I can no longer see the visitor, so I am going back to my post.",
        "ko": "방문자가 보이지 않아 제자리로 돌아갑니다.",
    },
    "pause": {
        "ja": "少々お待ちください。",
        "en": "Please wait a moment.",
        "ko": "잠시만 기다려 주세요.",
    },
    "resume": {"ja": "お待たせしました。", "en": "Thank you for waiting.", "ko": "기다려 주셔서 감사합니다."},
    "charging": {
        "ja": "ただいま充電中です。総合案内の窓口でおたずねください。",
        "en": "I'm charging right now; please ask at the information desk.",
        "ko": "지금 충전 중입니다. 안내 데스크에 문의해 주세요.",
    },
    "fault": {
        "ja": "申し訳ありません。故障のため、ご案内できません。職員を呼びました。",
        "en": "I'm sorry, I have a fault and cannot help you. I have called a member of staff.",
        "ko": "죄송합니다. 고장으로 안내할 수 없습니다. 직원을 불렀습니다.",
    },
}


def _say(key: str, lang: Lang) -> Say:
    return Say(_TEXT[key][lang], lang)


def directions(poi: str | None, lang: Lang, config: BehaviourConfig) -> Say | None:
    """Where the place is, in words, for a visitor who must go on alone."""
    place = config.places.get(poi) if poi else None
    if place is None:
        return None
    if lang == "ja":
        return Say(f"{place.name_ja}は{place.floor}階です。案内表示に沿ってお進みください。", "ja")
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(place.floor, f"{place.floor}th")
    return Say(f"The {place.name_en} is on the {ordinal} floor; please follow the signs.", "en")


# -- the machine -----------------------------------------------------------------------------------

_WITH_VISITOR: frozenset[Mode] = frozenset({"greeting", "conversing", "escorting"})


def step(state: BehaviourState, event: Event, config: BehaviourConfig) -> Transition:
    """The next state and what to do, for one event. Never raises for an event out of place:
    it is ignored (the world is asynchronous; a late 'arrived' after a pause is normal)."""
    # Precedence: safety, then faults, then battery bookkeeping, commands and time, then the mode.
    if isinstance(event, SafetyStop):
        return _safety_stop(state, event)
    if isinstance(event, SafetyCleared):
        return _safety_cleared(state, config)
    if isinstance(event, Fault):
        return _fault(state, event)
    if isinstance(event, FaultCleared):
        return _fault_cleared(state, event, config)
    if state.mode in ("safe_stop", "fault"):
        return _while_stopped(state, event, config)
    if isinstance(event, BatteryLevel):
        return _battery(state, event, config)
    if isinstance(event, Command):
        return _command(state, event, config)
    if isinstance(event, Tick):
        return _tick(state, event, config)
    if state.mode == "paused":
        return Transition(state)
    return _by_mode(state, event, config)


def _by_mode(state: BehaviourState, event: Event, config: BehaviourConfig) -> Transition:
    mode = state.mode
    if isinstance(event, VisitorApproaching | VisitorEngaged):
        if mode == "idle" or (mode == "returning" and state.target == "post"):
            stop: tuple[Action, ...] = (Stop("visitor"),) if mode == "returning" else ()
            new = replace(state, mode="greeting", visitor=event.track_id, since=state.clock, intent=None)
            return Transition(new, (*stop, _say("greet", "ja"), _say("greet", "en")))
        if mode == "charging" or (mode == "returning" and state.target == "dock"):
            return Transition(state, (_say("charging", state.lang),))
        if mode in ("greeting", "conversing") and state.visitor is None:
            return Transition(replace(state, visitor=event.track_id, since=state.clock))
        return Transition(state)
    if isinstance(event, VisitorLeft):
        # Only the visitor being served ends the episode; during an escort the escort itself
        # watches the visitor (VisitorLost), since the camera may lose a face while walking.
        if mode in ("greeting", "conversing") and state.visitor in (None, event.track_id):
            return _end_visit(state, config)
        return Transition(state)
    if isinstance(event, Heard):
        if mode in ("idle", "greeting", "conversing"):
            return Transition(replace(state, mode="conversing", lang=event.lang, since=state.clock))
        return Transition(state)
    if isinstance(event, IntentDecided):
        if mode in ("idle", "greeting", "conversing"):
            return _intent(state, event)
        return Transition(state)
    if isinstance(event, EscortArrived):
        if mode != "escorting":
            return Transition(state)
        done = PublishEvent("escort", "arrived", state.lang, _procedure(state), state.destination)
        return _go_back(replace(state, visitor=None, intent=None), config, (done,))
    if isinstance(event, EscortStuck):
        if mode == "escorting":
            return _escort_stuck(state, event, config)
        if mode == "returning":
            alert = PublishEvent(
                "alert", f"cannot reach {state.target}: {event.reason}", poi=_target_poi(state, config)
            )
            return _fault(state, Fault(f"navigation: {event.reason}"), (alert,))
        return Transition(state)
    if isinstance(event, VisitorLost):
        if mode != "escorting":
            return Transition(state)
        alert = PublishEvent("escort", "visitor lost", state.lang, _procedure(state), state.destination)
        return _go_back(replace(state, visitor=None, intent=None), config, (_say("lost", state.lang), alert))
    if isinstance(event, ReturnedHome):
        if mode != "returning" or event.place != state.target:
            return Transition(state)
        if event.place == "dock":
            return Transition(replace(state, mode="charging", target=None))
        return Transition(replace(state, mode="idle", target=None, since=state.clock))
    return Transition(state)


def _intent(state: BehaviourState, intent: IntentDecided) -> Transition:
    state = replace(state, mode="conversing", lang=intent.lang, intent=intent, since=state.clock)
    if intent.handoff:
        # The dialogue already passed the visitor to staff; staff see the question it could not
        # answer (text only, no audio) and may teach the robot what it meant (staff page).
        return Transition(state, (PublishEvent("unanswered", intent.text[:1000], intent.lang),))
    # An answer guessed from the examples alone goes to staff too, with the guess, to confirm or correct.
    i = intent
    guess = (
        (PublishEvent("unanswered", i.text[:1000], i.lang, i.procedure, i.destination),) if i.guessed else ()
    )
    if i.escort and i.destination:
        summary = PublishEvent("conversation", "escorting", i.lang, i.procedure, i.destination)
        new = replace(state, mode="escorting", destination=i.destination)
        return Transition(new, (*guess, summary, _say("escort", i.lang), StartEscort(i.destination)))
    return Transition(state, guess)


def _end_visit(state: BehaviourState, config: BehaviourConfig) -> Transition:
    """The visitor left (or went quiet) at the post: a summary, then dock if the battery asked to."""
    actions: tuple[Action, ...] = ()
    if state.intent is not None:
        i = state.intent
        actions = (PublishEvent("conversation", "answered", i.lang, i.procedure, i.destination),)
    state = replace(state, mode="idle", visitor=None, intent=None, destination=None, since=state.clock)
    if state.dock_pending:
        return _navigate(state, "dock", config, actions)
    return Transition(state, actions)


def _go_back(state: BehaviourState, config: BehaviourConfig, actions: tuple[Action, ...]) -> Transition:
    place: Place = "dock" if state.dock_pending else "post"
    return _navigate(replace(state, destination=None), place, config, actions)


def _navigate(
    state: BehaviourState, place: Place, config: BehaviourConfig, actions: tuple[Action, ...] = ()
) -> Transition:
    poi = config.dock if place == "dock" else config.post
    new = replace(state, mode="returning", target=place, resume=None)
    return Transition(new, (*actions, NavigateTo(poi, place)))


def _target_poi(state: BehaviourState, config: BehaviourConfig) -> str:
    return config.dock if state.target == "dock" else config.post


def _procedure(state: BehaviourState) -> str | None:
    return state.intent.procedure if state.intent else None


def _escort_stuck(state: BehaviourState, event: EscortStuck, config: BehaviourConfig) -> Transition:
    lang = state.lang
    said: list[Action] = [_say("sorry_stuck", lang)]
    way = directions(state.destination, lang, config)
    if way is not None:
        said.append(way)
    said.append(_say("handoff", lang))
    handoff = PublishEvent(
        "handoff", f"escort stuck: {event.reason}", lang, _procedure(state), state.destination
    )
    return _go_back(replace(state, visitor=None, intent=None), config, (Stop("escort stuck"), *said, handoff))


def _battery(state: BehaviourState, event: BatteryLevel, config: BehaviourConfig) -> Transition:
    level = max(0.0, min(1.0, event.fraction))
    state = replace(state, battery=level)
    if state.mode == "charging" and level >= config.resume_battery:
        return _navigate(replace(state, dock_pending=False), "post", config)
    if level > config.low_battery or state.dock_pending or state.mode == "charging":
        return Transition(state)
    alert = PublishEvent("alert", f"battery low: {level:.0%}; docking after the current visitor")
    state = replace(state, dock_pending=True)
    if state.mode == "idle" or (state.mode == "returning" and state.target == "post"):
        return _navigate(state, "dock", config, (alert,))
    if state.mode == "paused" and state.resume in ("idle", "returning"):
        # Resuming will head for the dock instead of the post.
        return Transition(replace(state, resume="returning", target="dock"), (alert,))
    return Transition(state, (alert,))  # with a visitor: after them (_end_visit / _go_back)


def _tick(state: BehaviourState, event: Tick, config: BehaviourConfig) -> Transition:
    state = replace(state, clock=event.now)
    idle_for = event.now - state.since
    if state.mode == "greeting" and idle_for >= config.greeting_timeout_s:
        return _end_visit(state, config)
    if state.mode == "conversing" and idle_for >= config.conversation_timeout_s:
        return _end_visit(state, config)
    return Transition(state)


def _ack(command: Command, accepted: bool, text: str) -> PublishEvent:
    return PublishEvent("command_ack", text, command_id=command.command_id, accepted=accepted)


def _command(state: BehaviourState, cmd: Command, config: BehaviourConfig) -> Transition:
    mode = state.mode
    if cmd.name == "pause":
        if mode == "paused":
            return Transition(state, (_ack(cmd, True, "already paused"),))
        polite = (_say("pause", state.lang),) if mode in _WITH_VISITOR else ()
        new = replace(state, mode="paused", resume=mode)
        return Transition(new, (Stop("paused by staff"), *polite, _ack(cmd, True, "paused")))
    if cmd.name == "resume":
        if mode != "paused":
            return Transition(state, (_ack(cmd, False, f"not paused ({mode})"),))
        return _resume(state, config, (_ack(cmd, True, "resumed"),))
    if cmd.name == "go_home":
        if mode in _WITH_VISITOR:
            return Transition(state, (_ack(cmd, True, "going home after the current visitor"),))
        if state.battery is not None and state.battery <= config.low_battery:
            return Transition(state, (_ack(cmd, False, "battery low: docking to charge"),))
        return _navigate(replace(state, dock_pending=False), "post", config, (_ack(cmd, True, "going home"),))
    # guide_to
    if cmd.poi is None or (config.places and cmd.poi not in config.places):
        return Transition(state, (_ack(cmd, False, f"unknown place {cmd.poi!r}"),))
    if mode == "escorting":
        return Transition(state, (_ack(cmd, False, "busy: escorting a visitor"),))
    if mode == "paused":
        return Transition(state, (_ack(cmd, False, "paused: resume first"),))
    if state.dock_pending or mode == "charging":
        return Transition(state, (_ack(cmd, False, "battery low: charging"),))
    stop: tuple[Action, ...] = (Stop("guide_to"),) if mode == "returning" else ()
    new = replace(state, mode="escorting", destination=cmd.poi, target=None, since=state.clock)
    actions = (
        *stop,
        _ack(cmd, True, f"guiding to {cmd.poi}"),
        _say("escort", state.lang),
        StartEscort(cmd.poi),
    )
    return Transition(new, actions)


def _resume(state: BehaviourState, config: BehaviourConfig, actions: tuple[Action, ...]) -> Transition:
    """Back to the mode before the interruption, restarting its motion."""
    back = state.resume or "idle"
    state = replace(state, mode=back, resume=None, since=state.clock)
    if back == "escorting" and state.destination:
        return Transition(state, (*actions, _say("resume", state.lang), StartEscort(state.destination)))
    if back == "returning":
        return _navigate(state, state.target or "post", config, actions)
    if back in ("greeting", "conversing"):
        return Transition(state, (*actions, _say("resume", state.lang)))
    return Transition(state, actions)


def _safety_stop(state: BehaviourState, event: SafetyStop) -> Transition:
    if state.mode == "safe_stop":
        return Transition(replace(state, safety=event.reason))
    alert = PublishEvent("alert", f"safety stop: {event.reason}")
    new = replace(state, mode="safe_stop", safety=event.reason, resume=_resume_mode(state))
    return Transition(new, (Stop(f"safety: {event.reason}"), alert))


def _resume_mode(state: BehaviourState) -> Mode:
    """Where an interrupted robot goes back to (a pause stays a pause)."""
    if state.mode in ("safe_stop", "fault", "paused"):
        return state.resume or "idle"
    return state.mode


def _safety_cleared(state: BehaviourState, config: BehaviourConfig) -> Transition:
    if state.mode != "safe_stop":
        return Transition(replace(state, safety=None))
    state = replace(state, safety=None)
    if state.faults:
        return Transition(replace(state, mode="fault"))
    if state.resume == "paused":
        return Transition(replace(state, mode="paused", resume="idle"))
    return _resume(state, config, (PublishEvent("alert", "safety stop cleared"),))


def _fault(state: BehaviourState, event: Fault, before: tuple[Action, ...] = ()) -> Transition:
    if event.reason in state.faults:
        return Transition(state, before)
    faults = (*state.faults, event.reason)
    if state.mode == "safe_stop":  # safety first: the fault waits behind it
        return Transition(replace(state, faults=faults), before)
    actions: list[Action] = [*before]
    if state.mode != "fault":
        actions.append(Stop(f"fault: {event.reason}"))
        if state.mode in _WITH_VISITOR:
            actions.append(_say("fault", state.lang))
            actions.append(
                PublishEvent(
                    "handoff", f"fault: {event.reason}", state.lang, _procedure(state), state.destination
                )
            )
    actions.append(PublishEvent("fault", event.reason))
    # After a fault the robot does not pick the visitor up again: it goes back to its post.
    new = replace(state, mode="fault", faults=faults, resume="charging" if state.mode == "charging" else "returning",
                  visitor=None, intent=None, destination=None, target=state.target or "post")  # fmt: skip
    return Transition(new, tuple(actions))


def _fault_cleared(state: BehaviourState, event: FaultCleared, config: BehaviourConfig) -> Transition:
    if event.reason not in state.faults:
        return Transition(state)
    state = replace(state, faults=tuple(f for f in state.faults if f != event.reason))
    if state.faults or state.mode != "fault":
        return Transition(state)
    cleared = PublishEvent("alert", f"fault cleared: {event.reason}")
    if state.resume == "charging":
        return Transition(replace(state, mode="charging", resume=None), (cleared,))
    place: Place = "dock" if state.dock_pending else "post"
    return _navigate(state, place, config, (cleared,))


def _while_stopped(state: BehaviourState, event: Event, config: BehaviourConfig) -> Transition:
    """In safe stop or fault: refuse commands, keep the clock and battery, ignore the rest."""
    if isinstance(event, Command):
        why = (
            f"safety stop: {state.safety}"
            if state.mode == "safe_stop"
            else f"fault: {', '.join(state.faults)}"
        )
        return Transition(state, (_ack(event, False, why),))
    if isinstance(event, Tick):
        return Transition(replace(state, clock=event.now))
    if isinstance(event, BatteryLevel):
        level = max(0.0, min(1.0, event.fraction))
        return Transition(
            replace(state, battery=level, dock_pending=state.dock_pending or level <= config.low_battery)
        )
    return Transition(state)


class Behaviour:
    """A mutable holder for the shells: `handle(event)` steps and returns the actions."""

    def __init__(self, config: BehaviourConfig | None = None, state: BehaviourState | None = None) -> None:
        self.config = config or BehaviourConfig()
        self.state = state or BehaviourState()

    def handle(self, event: Event) -> tuple[Action, ...]:
        result = step(self.state, event, self.config)
        self.state = result.state
        return result.actions
