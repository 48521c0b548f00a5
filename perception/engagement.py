"""Is a visitor coming to the robot? Distance, facing, and the approaching / engaged / left
events, from tracks alone (boxes, landmarks, timestamps): no image, no identity.

- distance: pinhole camera, `distance = fx * face_width_m / face_width_px`;
- facing: how symmetric the eyes are about the nose (yaw), from the detector's landmarks;
- *approaching*: the track got nearer (by `min_approach_m` over its recent history) and has
  stayed within `range_m` for `dwell_s`;
- *engaged*: within `range_m` and facing the robot for `engaged_dwell_s` (someone standing still
  in front of the robot, looking at it, is engaged without approaching);
- *left*: a track that was approaching or engaged is lost, or walks out beyond `range_m` +
  `leave_margin_m`.

Every event is emitted once per track. Times are the frames' timestamps, so replaying a
recording gives the same events as living it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from perception.detect import Box, Point
from perception.track import Track


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics at the calibration resolution; `scaled_to` adapts them to frames of
    another size (a camera delivering 320×240 in a mode calibrated at 640×480)."""

    fx: float = 554.0  # 60° horizontal field of view at 640 px
    fy: float = 554.0
    cx: float = 320.0
    cy: float = 240.0
    width: int = 640
    height: int = 480

    def scaled_to(self, width: int, height: int) -> CameraIntrinsics:
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)


#: Width of an adult face as the detector boxes it (cheek to cheek), in metres.
FACE_WIDTH_M = 0.15


def distance_m(box: Box, camera: CameraIntrinsics, face_width_m: float = FACE_WIDTH_M) -> float:
    """Distance from the camera along the optical axis, from the face's width in pixels."""
    return camera.fx * face_width_m / max(box[2], 1.0)


def frontality(landmarks: Sequence[Point]) -> float | None:
    """1.0 for a face looking straight at the camera, towards 0 as it turns away; None without
    landmarks. The nose tip sits midway between the eyes when the head faces the camera and
    moves towards one eye as it turns (yaw); the measure is 1 - |offset| / half the eye distance."""
    if len(landmarks) < 3:
        return None
    (rx, _), (lx, _), (nx, _) = landmarks[0], landmarks[1], landmarks[2]
    half = abs(lx - rx) / 2
    if half < 1e-6:
        return 0.0
    offset = abs(nx - (lx + rx) / 2) / half
    return max(0.0, 1.0 - offset)


class EventType(StrEnum):
    APPROACHING = "approaching"
    ENGAGED = "engaged"
    LEFT = "left"


@dataclass(frozen=True)
class VisitorEvent:
    type: EventType
    track_id: int
    stamp: float
    distance_m: float | None


@dataclass(frozen=True)
class EngagementConfig:
    range_m: float = 1.5
    dwell_s: float = 0.8
    min_approach_m: float = 0.4
    #: Over how much of the track's recent history the approach is measured (s).
    approach_window_s: float = 4.0
    engaged_dwell_s: float = 0.5
    min_frontality: float = 0.6
    leave_margin_m: float = 0.5


@dataclass
class _State:
    in_range_since: float | None = None
    facing_since: float | None = None
    approaching: bool = False
    engaged: bool = False


@dataclass
class EngagementMonitor:
    """Feed it the confirmed tracks of every frame and the tracks that were lost."""

    camera: CameraIntrinsics = field(default_factory=CameraIntrinsics)
    config: EngagementConfig = field(default_factory=EngagementConfig)
    face_width_m: float = FACE_WIDTH_M
    _states: dict[int, _State] = field(default_factory=dict)

    def distance(self, box: Box) -> float:
        return distance_m(box, self.camera, self.face_width_m)

    def update(self, tracks: Iterable[Track], lost: Iterable[Track], stamp: float) -> list[VisitorEvent]:
        events: list[VisitorEvent] = []
        for track in tracks:
            events += self._update_track(track, stamp)
        for track in lost:
            state = self._states.pop(track.id, None)
            if state is not None and (state.approaching or state.engaged):
                events.append(VisitorEvent(EventType.LEFT, track.id, stamp, self.distance(track.box)))
        return events

    def _update_track(self, track: Track, stamp: float) -> list[VisitorEvent]:
        state = self._states.setdefault(track.id, _State())
        cfg = self.config
        dist = self.distance(track.box)
        events = []
        if (state.approaching or state.engaged) and dist > cfg.range_m + cfg.leave_margin_m:
            events.append(VisitorEvent(EventType.LEFT, track.id, stamp, dist))
            self._states[track.id] = _State()  # may come back: a new approach
            return events
        if dist <= cfg.range_m:
            state.in_range_since = stamp if state.in_range_since is None else state.in_range_since
        else:
            state.in_range_since = None
        front = frontality(track.landmarks)
        facing = dist <= cfg.range_m and front is not None and front >= cfg.min_frontality
        if facing:
            state.facing_since = stamp if state.facing_since is None else state.facing_since
        else:
            state.facing_since = None
        dwelt = state.in_range_since is not None and stamp - state.in_range_since >= cfg.dwell_s
        if dwelt and not state.approaching and self._came_nearer(track):
            state.approaching = True
            events.append(VisitorEvent(EventType.APPROACHING, track.id, stamp, dist))
        if (
            not state.engaged
            and state.facing_since is not None
            and stamp - state.facing_since >= cfg.engaged_dwell_s
        ):
            state.engaged = True
            events.append(VisitorEvent(EventType.ENGAGED, track.id, stamp, dist))
        return events

    def _came_nearer(self, track: Track) -> bool:
        """The track's distance fell by `min_approach_m` within the approach window."""
        recent = [box for t, box in track.history if track.last_seen - t <= self.config.approach_window_s]
        if len(recent) < 2:
            return False
        farthest = max(self.distance(b) for b in recent[: max(1, len(recent) // 2)])
        now = self.distance(track.box)
        return farthest - now >= self.config.min_approach_m


KEEP_COUNTS = timedelta(hours=48)


@dataclass
class HourlyCounter:
    """People seen per hour for the fleet view: a count of confirmed tracks by the hour in which
    they were first confirmed. No id, no face, no image is kept: only the numbers."""

    counts: dict[str, int] = field(default_factory=dict)
    _counted: set[int] = field(default_factory=set)

    def update(self, tracks: Iterable[Track], now: datetime | None = None) -> bool:
        """Count the tracks not counted yet; True when a count changed."""
        start = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
        hour = start.isoformat()
        for old in [h for h in self.counts if h < (start - KEEP_COUNTS).isoformat()]:
            del self.counts[old]  # the fleet view shows the last day; older hours are not kept
        changed = False
        for track in tracks:
            if track.id not in self._counted:
                self._counted.add(track.id)
                self.counts[hour] = self.counts.get(hour, 0) + 1
                changed = True
        return changed

    def forget(self, ids: Iterable[int]) -> None:
        """Lost tracks: their ids are not needed any more (the count stays)."""
        self._counted.difference_update(ids)
