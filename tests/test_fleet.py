"""The fleet view's rules as data: state, telemetry and events in; online/offline and summaries out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lobby.schema import Pose2D, RobotEvent, RobotState, RobotTelemetry
from queue_bridge.fleet import (
    Fleet,
    apply_event,
    apply_state,
    apply_telemetry,
    is_online,
    map_pixel,
    shown_mode,
    summary,
)

T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


def _s(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def state(mode: str, at: float, **kw: object) -> RobotState:
    return RobotState.model_validate(
        {"robot": "r1", "mode": mode, "pose": {"x": 1.0, "y": 2.0}, "updated_at": _s(at), **kw}
    )


def telemetry(x: float, at: float, battery: float | None = 0.5) -> RobotTelemetry:
    return RobotTelemetry(robot="r1", pose=Pose2D(x=x, y=3.0), battery=battery, at=_s(at))


def test_state_then_silence_goes_offline_after_the_configured_time() -> None:
    view = apply_state(None, state("idle", 0), _s(0), retained=False)
    assert is_online(view, _s(3), offline_after_s=3)
    assert not is_online(view, _s(3.1), offline_after_s=3)
    assert shown_mode(view, _s(10), 3) == "offline"
    assert summary(view, _s(10), 3)["mode"] == "offline"
    assert summary(view, _s(10), 3)["reported_mode"] == "idle"


def test_telemetry_keeps_a_robot_online_and_moves_it() -> None:
    view = apply_state(None, state("escorting", 0), _s(0), retained=False)
    for n in range(1, 10):
        view = apply_telemetry(view, telemetry(float(n), n), _s(n))
        assert is_online(view, _s(n + 1), 3)
    assert view.mode == "escorting"
    assert view.pose == Pose2D(x=9.0, y=3.0)
    assert view.battery == 0.5


def test_last_will_offline_is_immediate_even_though_it_was_composed_at_connect_time() -> None:
    view = apply_telemetry(apply_state(None, state("idle", 5), _s(5), False), telemetry(1, 6), _s(6))
    will = state("offline", 0)  # the will's time is when the robot connected, before its "idle"
    view = apply_state(view, will, _s(6.5), retained=False)
    assert not is_online(view, _s(6.6), 3)
    assert view.mode == "offline" and view.pose == Pose2D(x=1.0, y=3.0)  # last known place kept
    # When it comes back, its new state applies.
    assert apply_state(view, state("idle", 20), _s(20), False).mode == "idle"


def test_retained_state_does_not_prove_a_robot_alive_now() -> None:
    # Delivered when the bridge subscribes: the robot said "idle" an hour ago and nothing since.
    view = apply_state(None, state("idle", 0), _s(3600), retained=True)
    assert view.last_contact == _s(0)
    assert not is_online(view, _s(3600), 3)
    # ... whereas a live one comes back with its next telemetry.
    assert is_online(apply_telemetry(view, telemetry(1, 3601), _s(3601)), _s(3601.5), 3)


def test_an_older_state_delivered_late_changes_nothing() -> None:
    view = apply_state(None, state("paused", 10), _s(10), False)
    late = apply_state(view, state("escorting", 5), _s(11), False)
    assert late.mode == "paused"


def test_telemetry_after_offline_brings_the_robot_back() -> None:
    view = apply_state(None, state("offline", 0), _s(0), False)
    view = apply_telemetry(view, telemetry(2, 5), _s(5))
    assert is_online(view, _s(5), 3) and view.mode == "idle"


def test_fault_events_are_shown_until_the_next_state() -> None:
    view = apply_state(None, state("idle", 0), _s(0), False)
    fault = RobotEvent(robot="r1", kind="fault", at=_s(1), text="bumper pressed")
    view = apply_event(view, fault, _s(1))
    view = apply_event(view, fault, _s(1.2))  # duplicate
    assert view.faults == ("bumper pressed",)
    assert view.last_contact == _s(1.2)
    view = apply_state(view, state("fault", 2, faults=["lidar timeout"]), _s(2), False)
    assert view.faults == ("lidar timeout",)


def test_map_pixels_put_the_origin_bottom_left() -> None:
    assert map_pixel(0.0, 0.0, (0.0, 0.0), 0.05, 840) == (0.0, 840.0)
    assert map_pixel(32.0, 42.0, (0.0, 0.0), 0.05, 840) == (640.0, 0.0)
    assert map_pixel(1.0, 1.0, (-1.0, -1.0), 0.1, 100) == (20.0, 80.0)


def test_fleet_holder_lists_robots_in_order() -> None:
    fleet = Fleet()
    for robot in ("b", "a"):
        fleet.update(
            robot,
            lambda v, r=robot: apply_state(v, state("idle", 0).model_copy(update={"robot": r}), _s(0), False),
        )
    assert [v.robot for v in fleet.all()] == ["a", "b"]
    assert fleet.get("c") is None
