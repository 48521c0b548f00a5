"""Fleet telemetry core, without a broker: payloads from the behaviour's state, command verification,
the taught examples' check and the file a robot keeps them in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lobby.schema import (
    Pose2D,
    RobotCommand,
    RobotEvent,
    RobotState,
    SiteExamples,
    parse_payload,
    sign_payload,
)
from robot.behaviour import BehaviourState, PublishEvent
from robot.telemetry import (
    CommandGate,
    check_examples,
    event_payload,
    offline_payload,
    read_examples_cache,
    state_payload,
    write_examples_cache,
)

NOW = datetime(2026, 4, 1, 0, 30, tzinfo=UTC)
SECRET = b"shared-secret"


def command(id_: str = "c1", robot: str = "robot1", issued: datetime = NOW, **kw: object) -> RobotCommand:
    fields: dict[str, object] = {"command": "pause", "issued_by": "staff-1", **kw}
    return RobotCommand(id=id_, robot=robot, issued_at=issued, **fields)  # type: ignore[arg-type]


def raw(cmd: RobotCommand) -> bytes:
    return cmd.model_dump_json().encode()


def test_state_payload_round_trips_through_the_schema() -> None:
    state = BehaviourState(mode="safe_stop", battery=0.42, faults=("lidar",), safety="bumper")
    payload = state_payload("robot1", state, NOW, Pose2D(x=1.0, y=2.0, yaw=0.5), floor=2)
    back = parse_payload(RobotState, payload.model_dump_json())
    assert (back.mode, back.floor, back.battery) == ("safe_stop", 2, 0.42)
    assert back.faults == ["safety: bumper", "lidar"]
    assert back.pose == Pose2D(x=1.0, y=2.0, yaw=0.5)


def test_offline_will_keeps_the_last_pose() -> None:
    last = state_payload("robot1", BehaviourState(battery=0.5), NOW, Pose2D(x=3.0, y=4.0))
    will = offline_payload("robot1", NOW + timedelta(seconds=5), last)
    assert will.mode == "offline" and will.pose == last.pose and will.updated_at > last.updated_at
    assert offline_payload("robot1", NOW).mode == "offline"


def test_event_payload_drops_non_identifier_procedures() -> None:
    action = PublishEvent("handoff", "text", "ja", "転入届", "counter_shimin")
    event = parse_payload(RobotEvent, event_payload("robot1", action, NOW).model_dump_json())
    assert (event.kind, event.procedure, event.poi, event.lang) == ("handoff", None, "counter_shimin", "ja")
    ack = event_payload("robot1", PublishEvent("command_ack", "ok", command_id="c9", accepted=True), NOW)
    assert (ack.command_id, ack.accepted) == ("c9", True)


@pytest.mark.parametrize(
    ("cmd", "secret", "now", "accepted", "reason"),
    [
        (sign_payload(command(), SECRET), SECRET, NOW, True, "ok"),
        (sign_payload(command(), SECRET), SECRET, NOW + timedelta(seconds=59), True, "ok"),
        (command(), SECRET, NOW, False, "signature"),
        (sign_payload(command(), b"other"), SECRET, NOW, False, "signature"),
        (
            sign_payload(command(), SECRET).model_copy(update={"command": "resume"}),
            SECRET,
            NOW,
            False,
            "signature",
        ),
        (sign_payload(command(), SECRET), SECRET, NOW + timedelta(seconds=61), False, "stale"),
        (sign_payload(command(), SECRET), SECRET, NOW - timedelta(seconds=61), False, "stale"),
        (sign_payload(command(robot="robot2"), SECRET), SECRET, NOW, False, "robot2"),
        (sign_payload(command(), SECRET), None, NOW, False, "no command secret"),
    ],
    ids=[
        "signed",
        "59s-old",
        "unsigned",
        "wrong-key",
        "altered",
        "stale",
        "future",
        "other-robot",
        "no-secret",
    ],
)
def test_command_gate(
    cmd: RobotCommand, secret: bytes | None, now: datetime, accepted: bool, reason: str
) -> None:
    verdict = CommandGate("robot1", secret).check(raw(cmd), now)
    assert verdict.accepted is accepted
    assert reason in verdict.reason
    assert verdict.command_id == cmd.id


def test_a_replayed_command_is_refused_and_forgeries_do_not_block_the_real_one() -> None:
    gate = CommandGate("robot1", SECRET)
    forged = command("c7")  # unsigned, same id as the real command to come
    assert not gate.check(raw(forged), NOW).accepted
    real = sign_payload(command("c7"), SECRET)
    assert gate.check(raw(real), NOW).accepted
    again = gate.check(raw(real), NOW + timedelta(seconds=1))
    assert not again.accepted and "replayed" in again.reason


def test_invalid_payloads_are_refused_with_the_id_when_there_is_one() -> None:
    gate = CommandGate("robot1", SECRET)
    verdict = gate.check(b'{"version": 1, "id": "c8", "command": "dance"}', NOW)
    assert (
        not verdict.accepted and verdict.reason.startswith("invalid command") and verdict.command_id == "c8"
    )
    assert gate.check(b"not json", NOW).command_id is None


def _taught(site: str = "demo", **examples: list[str]) -> SiteExamples:
    return SiteExamples(
        site=site, updated_at=NOW, examples=examples or {"nursing_care": ["ひだまり窓口はどこ"]}
    )


@pytest.mark.parametrize(
    ("payload", "secret", "why"),
    [
        (sign_payload(_taught(), b"other"), SECRET, "bad or missing signature"),
        (_taught(), SECRET, "bad or missing signature"),
        (sign_payload(_taught(), SECRET).model_copy(update={"examples": {"pension": ["x"]}}), SECRET, "signature"),
        (sign_payload(_taught("elsewhere"), SECRET), SECRET, "for site 'elsewhere', this is 'demo'"),
        (sign_payload(_taught(), SECRET), None, "no command secret"),
        (b"{not json", SECRET, "invalid examples"),
        (b'{"version": 1, "site": "demo", "updated_at": "2026-04-01T00:30:00Z", "examples": {"a b": ["x"]}}',
         SECRET, "invalid examples"),
        (b"x" * (SiteExamples.max_bytes + 1), SECRET, "payload too large"),
    ],
    ids=["other-secret", "unsigned", "altered", "other-site", "no-secret", "not-json", "bad-id", "too-large"],
)  # fmt: skip
def test_taught_examples_are_learnt_only_when_the_server_signed_them_for_this_site(
    payload: SiteExamples | bytes, secret: bytes | None, why: str
) -> None:
    raw = payload if isinstance(payload, bytes) else payload.model_dump_json()
    verdict = check_examples(raw, "demo", secret)
    assert isinstance(verdict, str) and why in verdict and "\n" not in verdict


def test_older_taught_examples_than_those_learnt_are_refused() -> None:
    raw = sign_payload(_taught(), SECRET).model_dump_json()
    assert isinstance(check_examples(raw, "demo", SECRET, learnt_at=NOW), SiteExamples)  # the same again
    verdict = check_examples(raw, "demo", SECRET, learnt_at=NOW + timedelta(seconds=1))
    assert isinstance(verdict, str) and "older than those learnt" in verdict


def test_signed_taught_examples_for_this_site_are_passed_on_whole() -> None:
    many = {"nursing_care": [f"ひだまり窓口 {i}" for i in range(2000)], "handoff": ["駐輪場の定期券"]}
    signed = sign_payload(_taught(**many), SECRET)
    raw = signed.model_dump_json().encode()
    assert len(raw) > 4096  # far more than any event: examples have a limit of their own
    verdict = check_examples(raw, "demo", SECRET)
    assert isinstance(verdict, SiteExamples) and verdict.examples == many


def test_kept_taught_examples_are_read_back_only_while_they_still_pass_the_check(tmp_path: Path) -> None:
    kept = tmp_path / "var" / "taught.json"
    assert read_examples_cache(kept, "demo", SECRET) is None  # nothing kept yet
    signed = sign_payload(_taught(), SECRET)
    write_examples_cache(kept, signed)
    assert read_examples_cache(kept, "demo", SECRET) == signed
    assert [p.name for p in kept.parent.iterdir()] == ["taught.json"]  # nothing half-written left
    for site, secret, why in (
        ("other", SECRET, "for site 'demo'"),
        ("demo", b"new", "bad or missing signature"),
    ):
        verdict = read_examples_cache(kept, site, secret)
        assert isinstance(verdict, str) and str(kept) in verdict and why in verdict
    kept.write_bytes(kept.read_bytes()[:40])  # damaged: refused with a reason, not an exception
    verdict = read_examples_cache(kept, "demo", SECRET)
    assert isinstance(verdict, str) and "invalid examples" in verdict
