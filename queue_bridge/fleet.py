"""The fleet view as data: robot state, telemetry and events in; what the dashboard shows out.

Pure functions over frozen values, plus `Fleet`, a lock around a dict of them for the shells.
"Last contact" is the bridge's own receive time (robot clocks may be wrong), except for a retained
state delivered when the bridge subscribes, which says nothing about the robot being alive now: its
own `updated_at` is used (never later than now). A robot is offline when its last will (or itself)
said so, or when nothing has been heard from it for `offline_after_s`, whichever comes first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lobby.schema import Pose2D, RobotEvent, RobotMode, RobotState, RobotTelemetry


@dataclass(frozen=True)
class RobotView:
    robot: str
    mode: RobotMode = "offline"
    floor: int = 1
    pose: Pose2D | None = None
    battery: float | None = None
    faults: tuple[str, ...] = ()
    v: float = 0.0
    w: float = 0.0
    last_contact: datetime | None = None
    state_at: datetime | None = None  # the robot's `updated_at` of the state applied


def apply_state(
    view: RobotView | None, state: RobotState, received_at: datetime, retained: bool
) -> RobotView:
    """A state message. Older states than the one applied (out-of-order delivery) change nothing,
    except "offline": a last will is composed when the robot connects, so its time is always old."""
    base = view or RobotView(state.robot)
    if state.mode == "offline":
        return replace(
            base, mode="offline", state_at=max(state.updated_at, base.state_at or state.updated_at)
        )
    if base.state_at is not None and state.updated_at < base.state_at:
        return base
    contact = min(state.updated_at, received_at) if retained else received_at
    if base.last_contact is not None and contact < base.last_contact:
        contact = base.last_contact
    return replace(
        base,
        mode=state.mode,
        floor=state.floor,
        pose=state.pose or base.pose,
        battery=state.battery if state.battery is not None else base.battery,
        faults=tuple(state.faults),
        last_contact=contact,
        state_at=state.updated_at,
    )


def apply_telemetry(view: RobotView | None, telemetry: RobotTelemetry, received_at: datetime) -> RobotView:
    """Telemetry moves the robot and proves it alive. It does not change the mode, except that a robot
    declared offline that speaks again is back (its next state message will say in which mode)."""
    base = view or RobotView(telemetry.robot, mode="idle")
    mode: RobotMode = "idle" if base.mode == "offline" else base.mode
    return replace(
        base,
        mode=mode,
        floor=telemetry.floor,
        pose=telemetry.pose,
        v=telemetry.v,
        w=telemetry.w,
        battery=telemetry.battery if telemetry.battery is not None else base.battery,
        last_contact=received_at,
    )


def apply_event(view: RobotView | None, event: RobotEvent, received_at: datetime) -> RobotView:
    """Any event proves the robot alive; a fault event adds its text to the faults shown until the
    next state message (which carries the robot's own list)."""
    base = view or RobotView(event.robot, mode="idle")
    faults = base.faults
    if event.kind == "fault" and event.text and event.text not in faults:
        faults = (*faults, event.text[:200])[-20:]
    return replace(base, faults=faults, last_contact=received_at)


def is_online(view: RobotView, now: datetime, offline_after_s: float) -> bool:
    if view.mode == "offline" or view.last_contact is None:
        return False
    return (now - view.last_contact).total_seconds() <= offline_after_s


def shown_mode(view: RobotView, now: datetime, offline_after_s: float) -> RobotMode:
    return view.mode if is_online(view, now, offline_after_s) else "offline"


def summary(view: RobotView, now: datetime, offline_after_s: float) -> dict[str, Any]:
    """The JSON-ready view of one robot (without pending commands, which live in the store)."""
    online = is_online(view, now, offline_after_s)
    age = None if view.last_contact is None else max(0.0, (now - view.last_contact).total_seconds())
    return {
        "robot": view.robot,
        "online": online,
        "mode": view.mode if online else "offline",
        "reported_mode": view.mode,
        "floor": view.floor,
        "pose": None if view.pose is None else view.pose.model_dump(),
        "battery": view.battery,
        "faults": list(view.faults),
        "velocity": {"v": view.v, "w": view.w},
        "last_contact": None if view.last_contact is None else view.last_contact.isoformat(),
        "last_contact_age_s": None if age is None else round(age, 1),
    }


def map_pixel(
    x: float, y: float, origin: tuple[float, float], resolution: float, height_px: int
) -> tuple[float, float]:
    """Map metres → image pixels (the PGM's row 0 is the top of the map, the largest y)."""
    return ((x - origin[0]) / resolution, height_px - (y - origin[1]) / resolution)


class Fleet:
    """Thread-safe holder of the robots' views (the MQTT worker writes, HTTP handlers read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._robots: dict[str, RobotView] = {}

    def update(self, robot: str, change: Callable[[RobotView | None], RobotView]) -> RobotView:
        with self._lock:
            view = self._robots[robot] = change(self._robots.get(robot))
            return view

    def get(self, robot: str) -> RobotView | None:
        with self._lock:
            return self._robots.get(robot)

    def all(self) -> list[RobotView]:
        with self._lock:
            return [self._robots[k] for k in sorted(self._robots)]
