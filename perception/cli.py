"""`lobby faces IMAGE --json` (boxes and scores) and `lobby faces VIDEO` (visitor events per frame).

A still image gets every pass of the scanner (the coarse frame and all pyramid tiles); a video
or a directory of images runs the robot's real-time pipeline, tracks and events included.
Nothing is written: the input is only read.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".webp")


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="an image, a video file, or a directory of images (a recorded sequence)")
    p.add_argument("--detector", default="yuface", choices=("yuface", "haar"), help="face detector")
    p.add_argument("--fps", type=float, default=15.0, help="frame rate of a directory of images")
    p.add_argument("--range", dest="range_m", type=float, default=1.5, help="engagement range in metres")
    p.add_argument(
        "--dwell", dest="dwell_s", type=float, default=0.8, help="seconds in range to be approaching"
    )


def run(args: argparse.Namespace) -> int:
    import json

    import cv2

    from lobby.errors import CliError

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our one-line errors only
    path = Path(args.path)
    if not path.exists():
        raise CliError(f"{path}: no such file or directory")
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        faces = _faces_in_image(path, args.detector)
        if args.json:
            print(json.dumps({"faces": faces}))
        else:
            for f in faces:
                print(f"face at {f['box']} score {f['score']:.2f}")
            print(f"{len(faces)} face(s)")
        return 0
    for line in _events_in_sequence(path, args):
        print(json.dumps(line) if args.json else _describe(line))
    return 0


def _faces_in_image(path: Path, detector_name: str) -> list[dict[str, object]]:
    import cv2

    from lobby.errors import CliError
    from perception.detect import FaceScanner, make_detector

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise CliError(f"{path}: cannot read this image (not an image file, or corrupt)")
    scanner = FaceScanner(make_detector(detector_name))
    return [
        {"box": [round(v) for v in f.box], "score": round(f.score, 3)}
        for f in sorted(scanner.full(image), key=lambda f: -f.score)
    ]


def _events_in_sequence(path: Path, args: argparse.Namespace) -> Iterator[dict[str, object]]:
    """One line per frame, as the frame is processed (a long video prints as it goes)."""
    from lobby.errors import CliError
    from perception.camera import CameraError, open_source
    from perception.detect import make_detector
    from perception.engagement import EngagementConfig
    from perception.pipeline import FacePipeline, PipelineConfig

    config = PipelineConfig(engagement=EngagementConfig(range_m=args.range_m, dwell_s=args.dwell_s))
    processed = 0
    try:
        source = open_source(str(path), fps=args.fps)
        pipeline = FacePipeline(make_detector(args.detector), config)
        for frame in source.frames():
            processed += 1
            result = pipeline.process(frame.image, frame.stamp)
            yield {
                "frame": result.index,
                "t": round(result.stamp, 3),
                "faces": [
                    {"track_id": f.track_id, "distance_m": round(f.distance_m, 2)} for f in result.faces
                ],
                "events": [{"type": e.type.value, "track_id": e.track_id} for e in result.events],
            }
    except CameraError as exc:
        raise CliError(str(exc)) from None
    if processed == 0:
        raise CliError(f"{path}: no readable frame (corrupt images or video)")


def _describe(line: dict[str, object]) -> str:
    faces = line["faces"]
    events = line["events"]
    assert isinstance(faces, list) and isinstance(events, list)
    said = ", ".join(f"{e['type']} #{e['track_id']}" for e in events)
    return f"frame {line['frame']} t={line['t']}s faces={len(faces)}" + (f" events: {said}" if said else "")
