"""Face tracking across frames: stable ids, no identity.

A track is a box that moves; it is matched to the next frame's faces by overlap and closeness
of centres (Hungarian assignment), predicted with a constant velocity on frames where detection
was skipped, confirmed after a few hits (a single spurious detection never becomes a visitor),
and dropped after it has not been seen for a while. Nothing about the face's appearance is kept:
ids are counters, so a person who leaves and comes back gets a new id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import count

import numpy as np
from scipy.optimize import linear_sum_assignment

from perception.detect import Box, Face, iou

MAX_PREDICTION_S = 0.3


@dataclass(frozen=True)
class TrackerConfig:
    #: Hits needed before a track is published (a stray detection is not a person).
    confirm_hits: int = 3
    #: A track not matched for this long is dropped (s).
    lost_after_s: float = 0.8
    #: Match when IoU >= this, or the centres are closer than `max_jump` face widths.
    min_iou: float = 0.2
    max_jump: float = 0.6
    #: Box smoothing: weight of the new detection (the rest is the prediction).
    smoothing: float = 0.7


@dataclass
class Track:
    id: int
    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...]
    first_seen: float
    last_seen: float
    hits: int = 1
    #: Box velocity (dx, dy, dw, dh per second), for prediction on skipped frames.
    velocity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    #: Was the box measured on the latest frame (True) or predicted (False)?
    measured: bool = True
    history: list[tuple[float, Box]] = field(default_factory=list)

    def predicted(self, stamp: float) -> Box:
        # Constant velocity holds for a few frames, not across a long gap (people stop, turn).
        dt = min(max(0.0, stamp - self.last_seen), MAX_PREDICTION_S)
        x, y, w, h = self.box
        vx, vy, vw, vh = self.velocity
        return (x + vx * dt, y + vy * dt, max(1.0, w + vw * dt), max(1.0, h + vh * dt))


class Tracker:
    """Frame by frame: `update(faces, stamp)` with detections, `predict(stamp)` on skipped frames."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self._ids = count(1)

    def confirmed(self) -> list[Track]:
        return [t for t in self.tracks if t.hits >= self.config.confirm_hits]

    def update(self, faces: Sequence[Face], stamp: float) -> list[Track]:
        """Match `faces` to tracks, start tracks for the rest, drop lost ones. Returns the tracks
        that ended (lost) on this call."""
        pairs = self._match(faces, stamp)
        matched_faces = set()
        for ti, fi in pairs:
            self._absorb(self.tracks[ti], faces[fi], stamp)
            matched_faces.add(fi)
        matched_tracks = {ti for ti, _ in pairs}
        for i, track in enumerate(self.tracks):
            if i not in matched_tracks:
                track.measured = False
        for fi, face in enumerate(faces):
            if fi not in matched_faces:
                self.tracks.append(
                    Track(
                        next(self._ids),
                        face.box,
                        face.score,
                        face.landmarks,
                        stamp,
                        stamp,
                        history=[(stamp, face.box)],
                    )
                )
        return self._drop_lost(stamp)

    def predict(self, stamp: float) -> list[Track]:
        """A frame without detection: tracks keep their last box (moved by their velocity when
        the caller asks `Track.predicted`); lost ones are dropped and returned."""
        for track in self.tracks:
            track.measured = False
        return self._drop_lost(stamp)

    def _drop_lost(self, stamp: float) -> list[Track]:
        lost = [t for t in self.tracks if stamp - t.last_seen > self.config.lost_after_s]
        self.tracks = [t for t in self.tracks if stamp - t.last_seen <= self.config.lost_after_s]
        return lost

    def _match(self, faces: Sequence[Face], stamp: float) -> list[tuple[int, int]]:
        if not self.tracks or not faces:
            return []
        cost = np.ones((len(self.tracks), len(faces)))
        for ti, track in enumerate(self.tracks):
            guess = track.predicted(stamp)
            for fi, face in enumerate(faces):
                overlap = iou(guess, face.box)
                jump = _centre_distance(guess, face.box) / max(guess[2], face.box[2], 1.0)
                if overlap >= self.config.min_iou or jump <= self.config.max_jump:
                    cost[ti, fi] = 1.0 - overlap + 0.1 * jump  # prefer overlap, then closeness
                else:
                    cost[ti, fi] = 10.0
        rows, cols = linear_sum_assignment(cost)
        return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 10.0]

    def _absorb(self, track: Track, face: Face, stamp: float) -> None:
        dt = stamp - track.last_seen
        a = self.config.smoothing
        guess = track.predicted(stamp)
        box = tuple(a * n + (1 - a) * g for n, g in zip(face.box, guess, strict=True))
        new_box: Box = (box[0], box[1], box[2], box[3])
        if dt > 1e-6:
            measured_v = tuple((n - o) / dt for n, o in zip(new_box, track.box, strict=True))
            track.velocity = (
                0.5 * measured_v[0] + 0.5 * track.velocity[0],
                0.5 * measured_v[1] + 0.5 * track.velocity[1],
                0.5 * measured_v[2] + 0.5 * track.velocity[2],
                0.5 * measured_v[3] + 0.5 * track.velocity[3],
            )
        track.box = new_box
        track.score = face.score
        if face.landmarks:
            track.landmarks = face.landmarks
        track.last_seen = stamp
        track.hits += 1
        track.measured = True
        track.history.append((stamp, new_box))
        del track.history[:-64]  # a few seconds are enough to judge an approach


def _centre_distance(a: Box, b: Box) -> float:
    return float(np.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2))


def snapshot(track: Track, stamp: float) -> Track:
    """A copy of `track` with its box predicted to `stamp` (for publishing a skipped frame)."""
    return replace(track, box=track.predicted(stamp) if not track.measured else track.box, history=[])
