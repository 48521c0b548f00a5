"""The shared schema: valid events parse, anything else raises PayloadError with one line."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lobby.schema import MAX_PAYLOAD_BYTES, EventType, PayloadError, QueueStatus, parse_event, parse_status

GOOD = {
    "version": 1,
    "event_id": "e1",
    "type": "called",
    "ticket": "A001",
    "queue": "A",
    "window": "W1",
    "ts": "2026-04-01T09:00:00+09:00",
}


def test_a_valid_event_parses() -> None:
    e = parse_event(json.dumps(GOOD))
    assert e.type is EventType.CALLED and e.ts.utcoffset() is not None


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"version": 2}, "unsupported version"),
        ({"ts": "2026-04-01T09:00:00"}, "ts"),
        ({"window": None}, "needs a window"),
        ({"ticket": "A 1"}, "ticket"),
        ({"type": "transferred"}, "to_queue"),
        ({"nickname": "x"}, "nickname"),
        ({"queue": "A/B"}, "queue"),
    ],
)
def test_invalid_events_say_what_is_wrong(change: dict[str, object], fragment: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_event(json.dumps({**GOOD, **change}))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadError, match="too large"):
        parse_event(b" " * (MAX_PAYLOAD_BYTES + 1))


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_bytes_only_ever_raise_payload_error(raw: bytes | str) -> None:
    with contextlib.suppress(PayloadError):
        parse_event(raw)


def test_status_round_trips() -> None:
    status = QueueStatus(
        site="demo",
        queue="A",
        waiting=3,
        now_calling=[],
        open_windows=["W1"],
        estimate=None,
        updated_at="2026-04-01T09:00:00+09:00",
    )
    assert parse_status(status.model_dump_json()) == status


def test_robot_commands_are_signed_and_tampering_is_detected() -> None:
    from datetime import UTC, datetime

    from lobby.schema import RobotCommand, parse_payload, payload_is_signed, sign_payload

    command = RobotCommand(
        id="c-1", robot="robot1", command="guide_to", poi="counter_shimin", issued_by="operator",
        issued_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )  # fmt: skip
    signed = sign_payload(command, b"server secret")
    assert payload_is_signed(parse_payload(RobotCommand, signed.model_dump_json()), b"server secret")
    assert not payload_is_signed(signed, b"another secret") and not payload_is_signed(
        command, b"server secret"
    )
    assert not payload_is_signed(signed.model_copy(update={"poi": "exit"}), b"server secret")
    with pytest.raises(PayloadError, match="guide_to needs a poi"):
        parse_payload(RobotCommand, signed.model_dump_json().replace('"counter_shimin"', "null"))


def test_robot_state_rejects_an_unknown_mode_and_a_battery_over_full() -> None:
    from lobby.schema import RobotState, parse_payload

    base = '{"version": 1, "robot": "robot1", "updated_at": "2026-11-23T10:00:00+09:00", '
    assert parse_payload(RobotState, base + '"mode": "escorting", "battery": 0.8}').mode == "escorting"
    with pytest.raises(PayloadError, match="mode"):
        parse_payload(RobotState, base + '"mode": "dancing"}')
    with pytest.raises(PayloadError, match="battery"):
        parse_payload(RobotState, base + '"mode": "idle", "battery": 1.5}')
