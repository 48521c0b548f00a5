"""Camera frame in → tracked faces and visitor events out: the whole perception core, no ROS.

Which detector passes run on which frame is what makes 640×480 real-time on the robot's CPU
(yuface on the whole 640×480 frame takes ~60 ms on these cores; the budget is 33 ms):

- the coarse pass (whole frame at 320×240, ~12 ms) every `coarse_every` searched frames: near faces;
- one tile of the finer pyramid levels every `tile_every` searched frames, round robin (the other
  frames): far faces are found within one cycle (13 tiles at 640×480, ~1 s at 30 frames/s);
- around each tracked face not found by those passes, a region of interest scaled so the face
  is ~48 px (~2 ms): the track's box and landmarks whatever the face size;
- while every track is stable (confirmed, measured on the last frame) only every
  (`stable_skip` + 1)-th frame is searched; the frames between are predicted by the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from perception.detect import Detector, Face, FaceScanner, Image, ScanConfig, iou, make_detector
from perception.engagement import (
    CameraIntrinsics,
    EngagementConfig,
    EngagementMonitor,
    HourlyCounter,
    VisitorEvent,
    frontality,
)
from perception.track import Track, Tracker, TrackerConfig


@dataclass(frozen=True)
class PipelineConfig:
    coarse_every: int = 2
    tile_every: int = 1
    stable_skip: int = 1
    scan: ScanConfig = field(default_factory=ScanConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    engagement: EngagementConfig = field(default_factory=EngagementConfig)
    camera: CameraIntrinsics = field(default_factory=CameraIntrinsics)


@dataclass(frozen=True)
class TrackedFace:
    track_id: int
    box: tuple[float, float, float, float]
    score: float
    distance_m: float
    frontality: float | None
    #: False when the box was predicted on a skipped frame rather than detected.
    measured: bool


@dataclass(frozen=True)
class FrameResult:
    index: int
    stamp: float
    width: int
    height: int
    faces: list[TrackedFace]
    events: list[VisitorEvent]
    searched: bool


class FacePipeline:
    def __init__(self, detector: Detector | None = None, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()
        self.scanner = FaceScanner(detector or make_detector(), self.config.scan)
        self.tracker = Tracker(self.config.tracker)
        self.monitor = EngagementMonitor(camera=self.config.camera, config=self.config.engagement)
        self.counter = HourlyCounter()
        self.index = 0
        self._tile = 0
        self._searches = 0
        self._skipped = 0
        self._size: tuple[int, int] | None = None

    def process(self, image: Image, stamp: float, now: datetime | None = None) -> FrameResult:
        """One camera frame (BGR) taken at `stamp` seconds; `now` is the wall-clock time for the
        hourly count (the current time when None)."""
        h, w = image.shape[:2]
        if self._size != (w, h):  # a new camera mode: distances need the intrinsics at this size
            self._size = (w, h)
            self.monitor.camera = self.config.camera.scaled_to(w, h)
        searched = self._should_search()
        if searched:
            self._skipped = 0
            lost = self.tracker.update(self._detect(image, stamp), stamp)
        else:
            self._skipped += 1
            lost = self.tracker.predict(stamp)
        confirmed = self.tracker.confirmed()
        events = self.monitor.update(confirmed, lost, stamp)
        self.counter.update(confirmed, now)
        self.counter.forget(t.id for t in lost)
        result = FrameResult(
            self.index, stamp, w, h, [self._face(t, stamp) for t in confirmed], events, searched
        )
        self.index += 1
        return result

    def _should_search(self) -> bool:
        # Tentative tracks (maybe a stray detection) do not hold the search: they are confirmed
        # or dropped on the next searched frame.
        confirmed = self.tracker.confirmed()
        stable = bool(confirmed) and all(t.measured for t in confirmed)
        return not stable or self._skipped >= self.config.stable_skip

    def _detect(self, image: Image, stamp: float) -> list[Face]:
        faces: list[Face] = []
        n = self._searches
        self._searches += 1
        if n % self.config.coarse_every == 0:
            faces += self.scanner.coarse(image)
        if self.scanner.n_tiles(image) and n % self.config.tile_every == 1 % self.config.tile_every:
            faces += self.scanner.tile(image, self._tile)
            self._tile += 1
        for track in self.tracker.tracks:
            guess = track.predicted(stamp)
            if not any(iou(guess, f.box) > 0.3 for f in faces):
                faces += self.scanner.roi(image, guess)
        return self.scanner.merge(faces)

    def _face(self, track: Track, stamp: float) -> TrackedFace:
        box = track.box if track.measured else track.predicted(stamp)
        return TrackedFace(
            track_id=track.id,
            box=box,
            score=track.score,
            distance_m=self.monitor.distance(box),
            frontality=frontality(track.landmarks),
            measured=track.measured,
        )
