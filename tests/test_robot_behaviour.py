"""The behaviour state machine, table-driven, without ROS: every mode × event that changes something."""

from __future__ import annotations

from dataclasses import replace

import pytest

from robot.behaviour import (
    Action,
    BatteryLevel,
    Behaviour,
    BehaviourConfig,
    BehaviourState,
    Command,
    EscortArrived,
    EscortStuck,
    Event,
    Fault,
    FaultCleared,
    Heard,
    IntentDecided,
    NavigateTo,
    PlaceInfo,
    PublishEvent,
    ReturnedHome,
    SafetyCleared,
    SafetyStop,
    Say,
    StartEscort,
    Stop,
    Tick,
    VisitorApproaching,
    VisitorEngaged,
    VisitorLeft,
    VisitorLost,
    step,
)

CONFIG = BehaviourConfig(
    places={
        "counter_mynumber": PlaceInfo("マイナンバーカード窓口", "My Number Card counter", 2),
        "counter_shimin": PlaceInfo("市民課", "Citizens Division", 1),
    }
)
S = BehaviourState
ESCORT_INTENT = IntentDecided("ja", "mynumber", "counter_mynumber", escort=True)
ESCORTING = S(mode="escorting", destination="counter_mynumber", intent=ESCORT_INTENT, visitor=3, battery=0.9)


def kinds(actions: tuple[Action, ...]) -> list[str]:
    """Actions as short words: Say, NavigateTo:dock, StartEscort:poi, Stop, event:kind."""
    out = []
    for a in actions:
        if isinstance(a, NavigateTo):
            out.append(f"NavigateTo:{a.poi}")
        elif isinstance(a, StartEscort):
            out.append(f"StartEscort:{a.poi}")
        elif isinstance(a, PublishEvent):
            out.append(f"event:{a.kind}" + ("" if a.accepted is None else f":{a.accepted}"))
        else:
            out.append(type(a).__name__)
    return out


# (name, state before, event, mode after, actions (as words))
TABLE: list[tuple[str, BehaviourState, Event, str, list[str]]] = [
    # idle at the post
    ("approach greets", S(), VisitorApproaching(1), "greeting", ["Say", "Say"]),
    ("engaged greets too", S(), VisitorEngaged(1), "greeting", ["Say", "Say"]),
    ("words without a face", S(), Heard("すみません", "ja"), "conversing", []),
    ("a left track at idle", S(), VisitorLeft(1), "idle", []),
    ("late arrival ignored", S(), EscortArrived(), "idle", []),
    # greeting
    ("heard starts the talk", S(mode="greeting", visitor=1), Heard("hi", "en"), "conversing", []),
    ("visitor leaves", S(mode="greeting", visitor=1), VisitorLeft(1), "idle", []),
    ("another track leaves", S(mode="greeting", visitor=1), VisitorLeft(2), "greeting", []),
    ("silent visitor times out", S(mode="greeting", visitor=1), Tick(25.0), "idle", []),
    ("not yet", S(mode="greeting", visitor=1), Tick(5.0), "greeting", []),
    # conversing
    ("intent without escort", S(mode="conversing"), IntentDecided("ja", "juminhyo", "counter_shimin"), "conversing", []),
    ("escort accepted", S(mode="conversing"), ESCORT_INTENT, "escorting",
     ["event:conversation", "Say", "StartEscort:counter_mynumber"]),
    ("hand-off", S(mode="conversing"), IntentDecided("ja", None, None, handoff=True, text="犬の登録"), "conversing",
     ["event:unanswered"]),
    ("guessed answer", S(mode="conversing"), IntentDecided("ja", "juminhyo", "counter_shimin", text="あれ", guessed=True),
     "conversing", ["event:unanswered"]),
    ("leaves after an answer", S(mode="conversing", visitor=1, intent=IntentDecided("ja", "juminhyo")),
     VisitorLeft(1), "idle", ["event:conversation"]),
    ("quiet too long", S(mode="conversing"), Tick(50.0), "idle", []),
    ("low battery waits for the visitor", S(mode="conversing", visitor=1, dock_pending=True, battery=0.2),
     VisitorLeft(1), "returning", ["NavigateTo:dock"]),
    # escorting
    ("arrival: back to post", ESCORTING, EscortArrived(), "returning", ["event:escort", "NavigateTo:information_desk"]),
    ("arrival with low battery: dock", replace(ESCORTING, dock_pending=True), EscortArrived(), "returning",
     ["event:escort", "NavigateTo:dock"]),
    ("stuck: apologise, directions, hand off", ESCORTING, EscortStuck("blocked"), "returning",
     ["Stop", "Say", "Say", "Say", "event:handoff", "NavigateTo:information_desk"]),
    ("visitor lost", ESCORTING, VisitorLost(), "returning", ["Say", "event:escort", "NavigateTo:information_desk"]),
    ("battery low mid-escort: keep going", ESCORTING, BatteryLevel(0.1), "escorting", ["event:alert"]),
    ("a face leaving mid-escort", ESCORTING, VisitorLeft(3), "escorting", []),
    # returning
    ("home", S(mode="returning", target="post"), ReturnedHome("post"), "idle", []),
    ("docked", S(mode="returning", target="dock"), ReturnedHome("dock"), "charging", []),
    ("the other place", S(mode="returning", target="dock"), ReturnedHome("post"), "returning", []),
    ("a visitor on the way back", S(mode="returning", target="post"), VisitorApproaching(4), "greeting",
     ["Stop", "Say", "Say"]),
    ("on the way to charge", S(mode="returning", target="dock"), VisitorApproaching(4), "returning", ["Say"]),
    ("stuck on the way back: fault", S(mode="returning", target="post"), EscortStuck("blocked"), "fault",
     ["event:alert", "Stop", "event:fault"]),
    ("low battery on the way back", S(mode="returning", target="post"), BatteryLevel(0.2), "returning",
     ["event:alert", "NavigateTo:dock"]),
    # battery and charging
    ("low battery at idle: dock", S(battery=0.5), BatteryLevel(0.2), "returning", ["event:alert", "NavigateTo:dock"]),
    ("battery fine", S(battery=0.5), BatteryLevel(0.4), "idle", []),
    ("charged: back to post", S(mode="charging", dock_pending=True), BatteryLevel(0.85), "returning",
     ["NavigateTo:information_desk"]),
    ("still charging", S(mode="charging", dock_pending=True), BatteryLevel(0.5), "charging", []),
    ("visitor at the dock", S(mode="charging"), VisitorApproaching(5), "charging", ["Say"]),
    # commands
    ("pause at idle", S(), Command("pause", "c1"), "paused", ["Stop", "event:command_ack:True"]),
    ("pause mid-escort: finish the sentence, then ask to wait", ESCORTING, Command("pause", "c1"), "paused",
     ["Stop", "Say", "event:command_ack:True"]),
    ("pause twice", S(mode="paused", resume="idle"), Command("pause", "c1"), "paused", ["event:command_ack:True"]),
    ("resume an escort", replace(ESCORTING, mode="paused", resume="escorting"), Command("resume", "c2"), "escorting",
     ["event:command_ack:True", "Say", "StartEscort:counter_mynumber"]),
    ("resume a return", S(mode="paused", resume="returning", target="dock"), Command("resume", "c2"), "returning",
     ["event:command_ack:True", "NavigateTo:dock"]),
    ("resume charging", S(mode="paused", resume="charging"), Command("resume", "c2"), "charging",
     ["event:command_ack:True"]),
    ("resume when not paused", S(), Command("resume", "c2"), "idle", ["event:command_ack:False"]),
    ("go home at idle", S(), Command("go_home", "c3"), "returning", ["event:command_ack:True", "NavigateTo:information_desk"]),
    ("go home with a visitor: after them", ESCORTING, Command("go_home", "c3"), "escorting", ["event:command_ack:True"]),
    ("go home, battery low", S(battery=0.1, dock_pending=True), Command("go_home", "c3"), "idle",
     ["event:command_ack:False"]),
    ("go home from a pause", S(mode="paused", resume="escorting"), Command("go_home", "c3"), "returning",
     ["event:command_ack:True", "NavigateTo:information_desk"]),
    ("guide_to at idle", S(), Command("guide_to", "c4", "counter_shimin"), "escorting",
     ["event:command_ack:True", "Say", "StartEscort:counter_shimin"]),
    ("guide_to while returning", S(mode="returning", target="post"), Command("guide_to", "c4", "counter_shimin"),
     "escorting", ["Stop", "event:command_ack:True", "Say", "StartEscort:counter_shimin"]),
    ("guide_to unknown place", S(), Command("guide_to", "c4", "moon"), "idle", ["event:command_ack:False"]),
    ("guide_to while escorting", ESCORTING, Command("guide_to", "c4", "counter_shimin"), "escorting",
     ["event:command_ack:False"]),
    ("guide_to while paused", S(mode="paused"), Command("guide_to", "c4", "counter_shimin"), "paused",
     ["event:command_ack:False"]),
    ("guide_to while charging", S(mode="charging"), Command("guide_to", "c4", "counter_shimin"), "charging",
     ["event:command_ack:False"]),
    ("paused ignores visitors", S(mode="paused", resume="idle"), VisitorApproaching(1), "paused", []),
    # faults
    ("fault at idle", S(), Fault("lidar"), "fault", ["Stop", "event:fault"]),
    ("fault mid-escort hands off", ESCORTING, Fault("lidar"), "fault", ["Stop", "Say", "event:handoff", "event:fault"]),
    ("same fault again", S(mode="fault", faults=("lidar",)), Fault("lidar"), "fault", []),
    ("fault cleared: back to post", S(mode="fault", faults=("lidar",), resume="returning"), FaultCleared("lidar"),
     "returning", ["event:alert", "NavigateTo:information_desk"]),
    ("one of two cleared", S(mode="fault", faults=("lidar", "motor")), FaultCleared("lidar"), "fault", []),
    ("fault cleared at the dock", S(mode="fault", faults=("x",), resume="charging"), FaultCleared("x"), "charging",
     ["event:alert"]),
    ("commands refused in fault", S(mode="fault", faults=("x",)), Command("go_home", "c5"), "fault",
     ["event:command_ack:False"]),
    # safety
    ("safety stop mid-escort", ESCORTING, SafetyStop("bumper"), "safe_stop", ["Stop", "event:alert"]),
    ("safety cleared: escort goes on", replace(ESCORTING, mode="safe_stop", safety="bumper", resume="escorting"),
     SafetyCleared(), "escorting", ["event:alert", "Say", "StartEscort:counter_mynumber"]),
    ("safety cleared into a fault", S(mode="safe_stop", safety="bumper", faults=("motor",)), SafetyCleared(), "fault", []),
    ("safety cleared while paused", S(mode="safe_stop", safety="bumper", resume="paused"), SafetyCleared(), "paused", []),
    ("fault during safety stop waits", S(mode="safe_stop", safety="bumper"), Fault("motor"), "safe_stop", []),
    ("commands refused in safe stop", S(mode="safe_stop", safety="bumper"), Command("resume", "c6"), "safe_stop",
     ["event:command_ack:False"]),
    ("safety beats a pause", S(mode="paused", resume="escorting"), SafetyStop("estop"), "safe_stop", ["Stop", "event:alert"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "event", "mode", "actions"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_transition(state: BehaviourState, event: Event, mode: str, actions: list[str]) -> None:
    result = step(state, event, CONFIG)
    assert result.state.mode == mode
    assert kinds(result.actions) == actions


def test_the_table_reaches_every_mode_and_uses_every_event() -> None:
    modes = {t[1].mode for t in TABLE} | {t[3] for t in TABLE}
    assert modes == {
        "idle", "greeting", "conversing", "escorting", "returning", "charging", "paused", "fault", "safe_stop"
    }  # fmt: skip
    assert {type(t[2]) for t in TABLE} == set(Event.__args__)  # type: ignore[attr-defined]


def test_stuck_escort_apologises_and_names_the_counter_and_floor() -> None:
    result = step(replace(ESCORTING, lang="en"), EscortStuck("blocked"), CONFIG)
    said = [a.text for a in result.actions if isinstance(a, Say)]
    assert "sorry" in said[0].lower()
    assert "My Number Card counter" in said[1] and "2nd floor" in said[1]
    handoff = next(a for a in result.actions if isinstance(a, PublishEvent))
    assert handoff.kind == "handoff" and handoff.poi == "counter_mynumber"
    ja = step(ESCORTING, EscortStuck("blocked"), CONFIG)
    assert any("マイナンバーカード窓口は2階" in a.text for a in ja.actions if isinstance(a, Say))


def test_a_visit_in_english_then_low_battery_docks_after_the_visitor_and_charges_back() -> None:
    """A whole day in miniature, through the mutable holder the node uses."""
    b = Behaviour(CONFIG, BehaviourState(battery=0.5))
    b.handle(Tick(0.0))
    greet = b.handle(VisitorApproaching(7))
    assert {a.lang for a in greet if isinstance(a, Say)} == {"ja", "en"}
    b.handle(Heard("Where do I renew my My Number card?", "en"))
    assert b.handle(BatteryLevel(0.2)) == (
        PublishEvent("alert", "battery low: 20%; docking after the current visitor"),
    )
    assert b.state.mode == "conversing"  # the visitor is not abandoned
    actions = b.handle(IntentDecided("en", "mynumber", "counter_mynumber", escort=True))
    assert b.state.mode == "escorting" and Say("Please follow me.", "en") in actions
    assert NavigateTo("dock", "dock") in b.handle(EscortArrived())
    b.handle(ReturnedHome("dock"))
    assert b.state.mode == "charging"
    b.handle(BatteryLevel(0.79))
    assert b.state.mode == "charging"
    assert b.handle(BatteryLevel(0.8)) == (NavigateTo("information_desk", "post"),)
    b.handle(ReturnedHome("post"))
    assert b.state.mode == "idle" and not b.state.dock_pending


def test_pause_then_resume_restores_a_paused_escort_once() -> None:
    b = Behaviour(CONFIG, ESCORTING)
    assert Stop("paused by staff") in b.handle(Command("pause", "p1"))
    assert b.handle(EscortArrived()) == ()  # a late arrival while paused changes nothing
    assert b.state.mode == "paused"
    assert StartEscort("counter_mynumber") in b.handle(Command("resume", "r1"))
    assert b.state.mode == "escorting" and b.state.resume is None


def test_low_battery_while_paused_heads_for_the_dock_on_resume() -> None:
    b = Behaviour(CONFIG, BehaviourState(mode="paused", resume="idle", battery=0.5))
    b.handle(BatteryLevel(0.1))
    assert b.state.mode == "paused"
    assert NavigateTo("dock", "dock") in b.handle(Command("resume", "r"))
