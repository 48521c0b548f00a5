"""Perception core without ROS: Image conversion, detectors on composed scenes, tracking, the
approaching / engaged / left events on synthetic sequences, and `lobby faces` (real images
from scikit-image, real detectors)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest

from lobby.schema import PayloadError, PerceivedFaces, VisitorEvent, parse_payload
from perception import scenes
from perception.camera import (
    CameraError,
    ImageDirSource,
    PushSource,
    VideoSource,
    decode_image,
    encode_image,
    open_source,
)
from perception.detect import Face, FaceScanner, HaarDetector, YuFaceDetector, iou, make_detector
from perception.engagement import (
    CameraIntrinsics,
    EngagementConfig,
    EngagementMonitor,
    HourlyCounter,
    distance_m,
    frontality,
)
from perception.pipeline import FacePipeline, FrameResult, PipelineConfig, TrackedFace
from perception.privacy import blurred, debug_view
from perception.scenes import Sequence, Walker
from perception.track import Track, Tracker


@pytest.fixture(scope="module")
def yu() -> YuFaceDetector:
    return YuFaceDetector()


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


# -- sensor_msgs/Image conversion -----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "mono8", "yuv422", "yuv422_yuy2"])
@pytest.mark.parametrize("align", [1, 64])
def test_image_fields_round_trip_with_padded_rows(encoding: str, align: int) -> None:
    image = scenes.compose(np.random.default_rng(3), 322, 240, n_faces=1).image  # 322: rows need padding
    step, data = encode_image(image, encoding, align=align)
    assert step % align == 0 and len(data) == step * 240
    decoded = decode_image(240, 322, encoding, step, data)
    assert decoded.shape == (240, 322, 3) and decoded.dtype == np.uint8
    expected = (
        cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        if encoding == "mono8"
        else image
    )
    tolerance = 12 if encoding.startswith("yuv") else 0  # 4:2:2 halves the colour resolution
    assert np.abs(decoded.astype(int) - expected.astype(int)).mean() <= tolerance


def test_rgb8_channels_are_swapped_to_bgr() -> None:
    red_rgb = bytes([255, 0, 0] * 4)
    assert decode_image(2, 2, "rgb8", 6, red_rgb)[0, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((2, 2, "jpeg", 6, bytes(12)), "unsupported encoding"),
        ((2, 2, "bgr8", 5, bytes(10)), "shorter than a row"),
        ((2, 2, "bgr8", 6, bytes(11)), "data is 11 bytes"),
        ((0, 2, "bgr8", 6, b""), "bad size"),
        ((2, 3, "yuv422", 6, bytes(12)), "even width"),
    ],
)
def test_malformed_image_fields_are_refused_in_one_line(
    fields: tuple[int, int, str, int, bytes], message: str
) -> None:
    with pytest.raises(CameraError, match=message) as exc:
        decode_image(*fields)
    assert "\n" not in str(exc.value)


# -- sources --------------------------------------------------------------------------------------


def test_directory_and_video_sources_deliver_frames_and_refuse_bad_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    frames = [scenes.compose(rng, 160, 120, n_faces=1).image for _ in range(3)]
    for i, image in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), image)
    (tmp_path / "004.png").write_bytes(b"not a png")  # skipped and counted, the rest still plays
    source = ImageDirSource(tmp_path, fps=10)
    got = list(source.frames())
    assert [f.index for f in got] == [0, 1, 2] and got[2].stamp == pytest.approx(0.2)
    assert np.array_equal(got[1].image, frames[1]) and len(source.errors) == 1
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for image in frames:
        writer.write(image)
    writer.release()
    assert [f.image.shape for f in open_source(f"video:{video}").frames()] == [(120, 160, 3)] * 3
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CameraError, match="no images"):
        ImageDirSource(empty)
    with pytest.raises(CameraError, match="no such file"):
        VideoSource(tmp_path / "missing.mp4")
    with pytest.raises(CameraError):
        list(VideoSource(tmp_path / "004.png").frames())


def test_push_source_keeps_only_the_newest_frame() -> None:
    source = PushSource(depth=1)
    for i in range(3):
        source.push(np.full((4, 4, 3), i, np.uint8), float(i))
    frames = [next(source.frames())]
    source.close()
    assert list(source.frames()) == []
    assert [f.stamp for f in frames] == [2.0] and source.dropped == 2


# -- detection ------------------------------------------------------------------------------------


def test_yuface_finds_the_astronaut_with_landmarks(yu: YuFaceDetector) -> None:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    faces = yu.detect(image)
    assert len(faces) == 1 and faces[0].score > 0.8
    assert iou(faces[0].box, (170, 50, 112, 112)) > 0.5
    assert len(faces[0].landmarks) == 5 and (frontality(faces[0].landmarks) or 0) > 0.6


def test_scanner_finds_small_and_large_faces_in_pixel_coordinates(yu: YuFaceDetector) -> None:
    image = scenes.background(np.random.default_rng(7), 640, 480)
    sprites = scenes.face_sprites()
    truth = [(40.0, 60.0, 40.0, 40.0), (300.0, 150.0, 160.0, 160.0), (520.0, 380.0, 56.0, 56.0)]
    for k, box in enumerate(truth):
        scenes.paste(image, sprites[10 + k], box)
    found = FaceScanner(yu).full(image)
    for box in truth:
        assert max(iou(box, f.box) for f in found) >= 0.5, box
    assert len(found) == 3
    coarse_only = FaceScanner(yu).coarse(image)  # the 40 px face is too small for 320×240
    assert max((iou(truth[0], f.box) for f in coarse_only), default=0) < 0.5


def test_no_face_in_face_free_backgrounds(yu: YuFaceDetector) -> None:
    rng = np.random.default_rng(11)
    scanner = FaceScanner(yu)
    false = sum(len(scanner.full(scenes.compose(rng, n_faces=0, n_distractors=4).image)) for _ in range(6))
    assert false <= 1


def test_haar_alternative_behind_the_same_interface() -> None:
    from skimage import data

    haar = make_detector("haar")
    assert isinstance(haar, HaarDetector)
    faces = haar.detect(np.ascontiguousarray(data.astronaut()[:, :, ::-1]))
    assert any(iou(f.box, (170, 50, 112, 112)) > 0.5 for f in faces)
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("nope")


def test_the_debug_view_blurs_faces_past_detection(yu: YuFaceDetector) -> None:
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    assert sharpness(blurred(image)) < sharpness(image) / 20
    faces = [TrackedFace(1, f.box, f.score, 1.0, None, True) for f in yu.detect(image)]
    view = debug_view(image, faces)
    assert view.shape == image.shape and len(faces) == 1
    assert yu.detect(view) == [] and YuFaceDetector(min_score=0.3).detect(view) == []


# -- tracking and engagement (pure) ---------------------------------------------------------------


def face(x: float, y: float, w: float, landmarks: tuple[tuple[float, float], ...] = ()) -> Face:
    return Face((x, y, w, w), 0.9, landmarks)


def test_tracker_keeps_ids_across_frames_and_drops_lost_tracks() -> None:
    tracker = Tracker()
    for i in range(5):
        tracker.update([face(100 + 8 * i, 100, 40), face(400 - 8 * i, 200, 60)], i / 15)
    assert sorted(t.id for t in tracker.confirmed()) == [1, 2]
    assert tracker.predict(5 / 15) == [] and len(tracker.tracks) == 2  # a skipped frame
    lost = []
    for i in range(6, 20):  # the second person is gone; the first walks on
        lost += tracker.update([face(100 + 8 * i, 100, 40)], i / 15)
    assert [t.id for t in lost] == [2] and [t.id for t in tracker.tracks] == [1]
    tracker.update([face(500, 300, 40)], 20 / 15)  # far from every track: a new id, never a reused one
    assert sorted(t.id for t in tracker.tracks) == [1, 3]


def test_distance_from_face_width_and_intrinsics() -> None:
    camera = CameraIntrinsics(fx=600)
    assert distance_m((0, 0, 60, 60), camera, 0.15) == pytest.approx(1.5)
    half = camera.scaled_to(320, 240)  # the same face at half resolution is at the same distance
    assert distance_m((0, 0, 30, 30), half, 0.15) == pytest.approx(1.5)


def test_frontality_from_landmarks() -> None:
    eyes = ((100.0, 100.0), (140.0, 100.0))
    assert frontality((*eyes, (120.0, 120.0))) == pytest.approx(1.0)
    assert frontality((*eyes, (136.0, 120.0))) == pytest.approx(0.2)  # turned away
    assert frontality(()) is None


def run_monitor(
    frames: Iterable[list[Face]], monitor: EngagementMonitor, fps: float = 15
) -> list[tuple[int, str]]:
    tracker = Tracker()
    events = []
    for i, faces in enumerate(frames):
        lost = tracker.update(faces, i / fps)
        events += [(e.track_id, e.type.value) for e in monitor.update(tracker.confirmed(), lost, i / fps)]
    return events


def frontal(x: float, w: float) -> tuple[tuple[float, float], ...]:
    return ((x + 0.3 * w, 100.0), (x + 0.7 * w, 100.0), (x + 0.5 * w, 115.0))


def turned(x: float, w: float) -> tuple[tuple[float, float], ...]:
    return ((x + 0.3 * w, 100.0), (x + 0.7 * w, 100.0), (x + 0.68 * w, 115.0))


def test_range_and_dwell_are_configurable() -> None:
    # 24 frames at 15/s of a face growing from 2.8 m to 1.2 m, then 20 frames still at 1.2 m.
    widths = [30 + (70 - 30) * min(i, 23) / 23 for i in range(44)]
    frames = [[face(300, 100, w, turned(300, w))] for w in widths]
    assert run_monitor(frames, EngagementMonitor()) == [(1, "approaching")]  # turned away: never engaged
    assert run_monitor(frames, EngagementMonitor(config=EngagementConfig(range_m=1.0))) == []
    assert run_monitor(frames, EngagementMonitor(config=EngagementConfig(dwell_s=5.0))) == []
    standing = [[face(300, 100, 70, turned(300, 70))] for _ in range(44)]  # near, but never nearer
    assert run_monitor(standing, EngagementMonitor()) == []


def test_walking_away_is_left_and_the_counter_counts_people_not_frames() -> None:
    near = [[face(300, 100, 80, frontal(300, 80))] for _ in range(20)]
    away = [[face(300, 100, 80 - 3 * i, frontal(300, 80 - 3 * i))] for i in range(20)]
    events = run_monitor(near + away, EngagementMonitor())
    assert events == [(1, "engaged"), (1, "left")]
    counter = HourlyCounter()
    tracker = Tracker()
    for i in range(10):
        tracker.update([face(100, 100, 40), face(300, 100, 40)], i / 15)
        counter.update(tracker.confirmed())
    assert sum(counter.counts.values()) == 2


def test_people_are_counted_per_hour_and_old_hours_forgotten() -> None:
    from datetime import UTC, datetime, timedelta

    counter = HourlyCounter()
    day = datetime(2026, 4, 1, 9, 15, tzinfo=UTC)
    tracks = [Track(i, (0, 0, 40, 40), 0.9, (), 0, 0) for i in (1, 2, 3)]
    assert counter.update(tracks[:2], day)
    assert not counter.update(tracks[:2], day + timedelta(minutes=10))  # the same people: no change
    counter.update(tracks, day + timedelta(hours=1))
    assert counter.counts == {"2026-04-01T09:00:00+00:00": 2, "2026-04-01T10:00:00+00:00": 1}
    counter.update([Track(4, (0, 0, 40, 40), 0.9, (), 0, 0)], day + timedelta(days=3))
    assert counter.counts == {"2026-04-04T09:00:00+00:00": 1}


# -- the whole pipeline on synthetic sequences with the real detector -----------------------------


def run_pipeline(sequence: Sequence, config: PipelineConfig | None = None) -> list[FrameResult]:
    pipeline = FacePipeline(YuFaceDetector(), config)
    return [pipeline.process(image, stamp) for stamp, image in sequence.frames()]


def events_of(results: list[FrameResult]) -> list[tuple[int, str]]:
    return [(e.track_id, e.type.value) for r in results for e in r.events]


def test_a_visitor_walking_up_is_approaching_then_engaged_then_left() -> None:
    # 3 s walking up (crop 40 → 150 px: ~3 m → ~0.8 m), 1 s standing, then gone for 1.3 s.
    walker = Walker(sprite=7, start=(320, 220, 40), end=(320, 230, 150), first=0, last=44)
    still = Walker(sprite=7, start=(320, 230, 150), end=(320, 230, 150), first=45, last=59)
    results = run_pipeline(Sequence([walker, still], n_frames=80, seed=2))
    events = events_of(results)
    ids = {i for i, _ in events}
    assert len(ids) == 1, events  # one person, one id all the way
    assert [t for _, t in events] in (["approaching", "engaged", "left"], ["engaged", "approaching", "left"])
    first = {t: r.index for r in results for e in r.events for t in [e.type.value]}
    assert first["approaching"] >= 15 and first["left"] > 59
    near = next(r for r in results if r.index == 58).faces
    assert len(near) == 1 and 0.5 < near[0].distance_m < 1.2


def test_passing_by_and_standing_far_away_trigger_nothing() -> None:
    passer = Walker(sprite=20, start=(40, 150, 56), end=(600, 160, 56), first=0, last=44)
    far = Walker(sprite=30, start=(500, 380, 40), end=(501, 380, 40), first=0, last=44)
    results = run_pipeline(Sequence([passer, far], n_frames=45, seed=4))
    assert events_of(results) == []
    tracked = {f.track_id for r in results[30:] for f in r.faces}
    assert len(tracked) == 2  # both were seen and tracked: nothing happened because of who they are
    assert all(f.distance_m > 1.5 for r in results for f in r.faces)


def test_standing_still_near_and_facing_is_engaged_not_approaching() -> None:
    near = Walker(sprite=3, start=(320, 240, 110), end=(320, 240, 110), first=0, last=29)
    assert events_of(run_pipeline(Sequence([near], n_frames=30, seed=6))) == [(1, "engaged")]


# -- payloads and the command line ----------------------------------------------------------------


def test_payloads_validate_and_refuse_bad_ones() -> None:
    ok = parse_payload(VisitorEvent, '{"version": 1, "type": "left", "track_id": 3, "stamp": 1.5}')
    assert ok.type == "left"
    with pytest.raises(PayloadError):
        parse_payload(VisitorEvent, '{"version": 1, "type": "waved", "track_id": 3, "stamp": 1.5}')
    with pytest.raises(PayloadError):
        parse_payload(
            PerceivedFaces,
            '{"version": 1, "stamp": 0, "frame": 0, "width": 1, "height": 1, "faces": [{"box": [1, 2, 3]}]}',
        )


def lobby(*args: str) -> subprocess.CompletedProcess[str]:
    # As the `lobby` console script does (`python -m lobby.cli` would define a second CliError).
    main = "import sys; from lobby.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", main, *args], capture_output=True, text=True, timeout=120)


def test_lobby_faces_image_json_in_input_pixels(tmp_path: Path) -> None:
    from skimage import data

    # Half size: the box must be in the pixels of this image, whatever the scanner does inside.
    image = cv2.resize(np.ascontiguousarray(data.astronaut()[:, :, ::-1]), (256, 256))
    path = tmp_path / "astronaut.jpg"
    cv2.imwrite(str(path), image)
    out = lobby("faces", str(path), "--json")
    assert out.returncode == 0, out.stderr
    faces = json.loads(out.stdout)["faces"]
    assert len(faces) == 1 and 0.8 < faces[0]["score"] <= 1
    assert iou(tuple(faces[0]["box"]), (85, 25, 56, 56)) > 0.5


def test_lobby_faces_on_a_sequence_prints_events_per_frame(tmp_path: Path) -> None:
    walker = Walker(sprite=7, start=(160, 110, 20), end=(160, 115, 75), first=0, last=29)
    sequence = Sequence([walker], n_frames=36, width=320, height=240, seed=2)
    for i, (_, image) in enumerate(sequence.frames()):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), image)
    out = lobby("faces", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["frame"] for line in lines] == list(range(36))
    assert "approaching" in [e["type"] for line in lines for e in line["events"]]


@pytest.mark.parametrize("make", ["missing", "not_image", "empty_dir", "corrupt_dir", "corrupt_video"])
def test_lobby_faces_bad_input_is_one_line_and_non_zero(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x"
    if make == "not_image":
        path = tmp_path / "photo.jpg"
        path.write_text("hello")
    elif make in ("empty_dir", "corrupt_dir"):
        path.mkdir()
        if make == "corrupt_dir":
            (path / "000.png").write_bytes(b"\x89PNG truncated")
    elif make == "corrupt_video":
        path = tmp_path / "clip.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")
    out = lobby("faces", str(path), "--json")
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.startswith("lobby: error:") and len(out.stderr.strip().splitlines()) == 1, out.stderr
