"""Perception: face detection accuracy per face size, false detections, and end-to-end frame rate.

What is measured, and how:

1. Accuracy on still scenes composed by `perception.scenes` (seed 1; the detector threshold was
   chosen on seed 0): 640×480 crops of face-free scikit-image pictures with LFW-subset faces
   (tinted), the astronaut and the cameraman pasted at 24-200 px, 15 % partly occluded, 15 % in
   dim light with sensor noise, LFW non-face crops pasted as distractors; plus face-free frames.
   A detection is right when its IoU with a pasted face is >= 0.5 (one detection per face).
   Recall and precision per face size band (a false detection falls in the band of its own
   size), for occluded and dim faces, and false detections per face-free frame, for:
   the scanner (`lobby faces`, and one full cycle of the robot's pipeline: the coarse 320×240
   frame + all pyramid tiles), yuface once on the full frame, yuface on the 320×240 frame only,
   and OpenCV's Haar cascade on the full frame.
2. Frames per second end to end (`FacePipeline.process`: camera frame in → tracks, distances and
   events out, with its coarse pass / rolling tiles / regions of interest / frame skipping) on
   a busy-lobby sequence (`scenes.lobby_sequence(1)`: 150 frames, five people walking up,
   passing at two distances, standing, arriving), at 640×480 and 320×240, on one core
   (`os.sched_setaffinity` + `cv2.setNumThreads(1)`) and on two. The reference in the same run
   and configuration is the plain detector: yuface on every full frame; figures are also given
   as a ratio to it, which compares across runs on this shared, noisy machine. Tracking quality
   on the sequence: per-frame recall / precision of the published tracks (IoU >= 0.5).

Targets (issue 5): recall >= 0.95 for faces >= 32 px at precision >= 0.97 (the scanner), and
>= 30 frames/s end to end at 640×480 (judged on two cores, the robot's CPU; one core reported),
by wall clock or, when other jobs share the machine, by the process's CPU time (frames per CPU
second: conservative, it counts every thread's time).
Exit status 1 when a target is missed.

    .venv/bin/python -m bench.perception [--scenes 100] [--free 30] [--frames 150] [--only accuracy|fps]

A full run takes ~3-4 min on these 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.common import machine_note
from perception import scenes
from perception.detect import Box, Face, FaceScanner, HaarDetector, Image, YuFaceDetector, iou
from perception.pipeline import FacePipeline

TARGET_RECALL, TARGET_PRECISION, TARGET_FPS = 0.95, 0.97, 30.0
BANDS = scenes.SIZE_BANDS
ROOT = Path(__file__).resolve().parent.parent


def code_fingerprint() -> str:
    """Short hash of what is measured (perception/*.py and this file)."""
    digest = hashlib.sha256()
    for f in [*sorted((ROOT / "perception").glob("*.py")), Path(__file__)]:
        digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def band_of(size: float) -> tuple[int, int] | None:
    return next((b for b in BANDS if b[0] <= size < b[1]), None)


# -- accuracy -------------------------------------------------------------------------------------


@dataclass
class Tally:
    tp: dict[str, int] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    fp: dict[str, int] = field(default_factory=dict)
    free_fp: int = 0
    free_frames: int = 0
    seconds: float = 0.0
    calls: int = 0

    def add(self, key: str, hit: bool) -> None:
        self.n[key] = self.n.get(key, 0) + 1
        self.tp[key] = self.tp.get(key, 0) + int(hit)

    def recall(self, key: str) -> float:
        return self.tp.get(key, 0) / self.n[key] if self.n.get(key) else float("nan")

    def precision(self, key: str) -> float:
        tp, fp = self.tp.get(key, 0), self.fp.get(key, 0)
        return tp / (tp + fp) if tp + fp else float("nan")


def band_key(band: tuple[int, int]) -> str:
    return f"{band[0]}-{band[1] - 1} px"


def match(truth: Sequence[Box], found: Sequence[Face]) -> tuple[list[bool], list[Face]]:
    """Greedy one-to-one matching at IoU >= 0.5, best overlaps first: hits per truth, and the
    detections left over (false)."""
    pairs = sorted(
        ((iou(t, f.box), ti, fi) for ti, t in enumerate(truth) for fi, f in enumerate(found)), reverse=True
    )
    hit, used = [False] * len(truth), set()
    for overlap, ti, fi in pairs:
        if overlap < 0.5:
            break
        if not hit[ti] and fi not in used:
            hit[ti] = True
            used.add(fi)
    return hit, [f for fi, f in enumerate(found) if fi not in used]


def score(tally: Tally, scene: scenes.Scene, found: Sequence[Face]) -> None:
    hit, false = match(scene.faces, found)
    if not scene.faces:
        tally.free_frames += 1
        tally.free_fp += len(false)
    for box, ok, hidden in zip(scene.faces, hit, scene.occluded, strict=True):
        band = band_of(box[2])
        if band is not None:
            tally.add(band_key(band), ok)
            tally.add(">= 32 px" if box[2] >= 32 else "< 32 px", ok)
        tally.add("all", ok)
        if hidden:
            tally.add("occluded", ok)
        if scene.dim:
            tally.add("dim light", ok)
    for f in false:
        # The pasted square is ~1.35× the detector's box width (the box is the face, not the hair).
        size = max(f.box[2], f.box[3]) * 1.2
        band = band_of(size) or (BANDS[0] if size < BANDS[0][0] else BANDS[-1])
        tally.fp[band_key(band)] = tally.fp.get(band_key(band), 0) + 1
        tally.fp[">= 32 px" if size >= 32 else "< 32 px"] = (
            tally.fp.get(">= 32 px" if size >= 32 else "< 32 px", 0) + 1
        )
        tally.fp["all"] = tally.fp.get("all", 0) + 1


def accuracy(
    methods: dict[str, Callable[[Image], list[Face]]], n_scenes: int, n_free: int, seed: int
) -> dict[str, Tally]:
    rng = np.random.default_rng(seed)
    tallies = {name: Tally() for name in methods}
    for i in range(n_scenes + n_free):
        scene = scenes.compose(rng, n_faces=int(rng.integers(1, 5)) if i < n_scenes else 0, n_distractors=3)
        for name, detect in methods.items():
            t0 = time.perf_counter()
            found = detect(scene.image)
            tallies[name].seconds += time.perf_counter() - t0
            tallies[name].calls += 1
            score(tallies[name], scene, found)
        if (i + 1) % 40 == 0:
            print(f"  … {i + 1}/{n_scenes + n_free} scenes", file=sys.stderr)
    return tallies


def print_accuracy(tallies: dict[str, Tally]) -> None:
    keys = [band_key(b) for b in BANDS] + [">= 32 px", "occluded", "dim light", "all"]
    first = next(iter(tallies.values()))
    print("  faces per group: " + ", ".join(f"{k} {first.n.get(k, 0)}" for k in keys))
    print(f"  {'method':<34}" + "".join(f"{k:>15}" for k in keys) + f"{'false/free fr.':>16}{'ms/frame':>10}")
    for name, t in tallies.items():
        cells = []
        for k in keys:
            p = t.precision(k) if k not in ("occluded", "dim light") else float("nan")
            cells.append(f"R{t.recall(k):.3f}" + (f" P{p:.3f}" if not np.isnan(p) else "       "))
        free = t.free_fp / t.free_frames if t.free_frames else float("nan")
        print(
            f"  {name:<34}"
            + "".join(f"{c:>15}" for c in cells)
            + f"{free:>16.3f}{t.seconds / t.calls * 1000:>10.1f}"
        )
    print("  (R recall, P precision at IoU >= 0.5; occluded / dim rows: recall only)")


# -- frame rate -----------------------------------------------------------------------------------


@contextmanager
def cores(n: int) -> Iterator[None]:
    """Run on `n` cores: the process's CPU affinity and OpenCV's thread pool."""
    every = os.sched_getaffinity(0)
    threads = cv2.getNumThreads()
    os.sched_setaffinity(0, sorted(every)[:n])
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        os.sched_setaffinity(0, every)
        cv2.setNumThreads(threads)


@dataclass
class RateResult:
    fps: float
    cpu_fps: float
    reference_fps: float
    recall: float
    precision: float
    events: int


def frame_rate(
    frames: list[tuple[float, Image]], truth: list[list[Box]], reference: YuFaceDetector
) -> RateResult:
    """The pipeline over the whole sequence, and the plain detector on the same frames, in
    interleaved chunks of 10 frames: a burst of load from other jobs hits both alike. Besides
    wall-clock time, the process's CPU time: what the frame rate is when the core is ours."""
    FacePipeline(YuFaceDetector()).process(frames[0][1], -1.0)  # warm-up: loads the network
    pipeline = FacePipeline(YuFaceDetector())
    results = []
    wall = cpu = reference_wall = 0.0
    for start in range(0, len(frames), 10):
        chunk = frames[start : start + 10]
        t0, c0 = time.perf_counter(), time.process_time()
        results += [pipeline.process(image, stamp) for stamp, image in chunk]
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        t0 = time.perf_counter()
        for _, image in chunk:
            reference.detect(image)
        reference_wall += time.perf_counter() - t0
    tp = fn = fp = events = 0
    for result, boxes in zip(results, truth, strict=True):
        hit, false = match(boxes, [Face(f.box, f.score) for f in result.faces])
        tp, fn, fp = tp + sum(hit), fn + hit.count(False), fp + len(false)
        events += len(result.events)
    n = len(frames)
    return RateResult(
        n / wall, n / cpu, n / reference_wall, tp / max(1, tp + fn), tp / max(1, tp + fp), events
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.perception", description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=100, help="composed scenes with faces")
    parser.add_argument("--free", type=int, default=30, help="face-free frames")
    parser.add_argument("--frames", type=int, default=150, help="frames of the lobby sequence")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", choices=("accuracy", "fps"), help="one section; the other's target is not judged"
    )
    args = parser.parse_args(argv)

    print("# bench.perception — face detection accuracy and end-to-end frame rate")
    print(f"  machine: {machine_note()}")
    print(f"  command: {' '.join([Path(sys.executable).name, '-m', 'bench.perception', *sys.argv[1:]])}")
    print(f"  code: {code_fingerprint()}, opencv {cv2.__version__}, seed {args.seed}")
    failures: list[str] = []
    if args.only != "fps":
        run_accuracy(args, failures)
    if args.only != "accuracy":
        run_fps(args, failures)
    print("\n## Targets")
    for f in failures:
        print(f"  MISSED: {f}")
    print("  all targets judged were met" if not failures else f"  {len(failures)} target(s) missed")
    return 1 if failures else 0


def run_accuracy(args: argparse.Namespace, failures: list[str]) -> None:
    yu = YuFaceDetector()
    scanner = FaceScanner(yu)
    methods: dict[str, Callable[[Image], list[Face]]] = {
        "yuface scanner (default)": scanner.full,
        "yuface >= 0.7, full frame once": YuFaceDetector(0.7).detect,
        "yuface, 320x240 frame only": scanner.coarse,
        "haar cascade, full frame": HaarDetector().detect,
    }
    print(f"\n## Accuracy: {args.scenes} scenes with 1-4 faces + {args.free} face-free frames, 640x480")
    t0 = time.perf_counter()
    tallies = accuracy(methods, args.scenes, args.free, args.seed)
    print_accuracy(tallies)
    print(f"  ({time.perf_counter() - t0:.0f} s, load avg now {os.getloadavg()[0]:.2f})")
    default = tallies["yuface scanner (default)"]
    r32, p32 = default.recall(">= 32 px"), default.precision(">= 32 px")
    print(
        f"  target, faces >= 32 px (scanner): recall {r32:.3f} [>= {TARGET_RECALL}], "
        f"precision {p32:.3f} [>= {TARGET_PRECISION}]"
    )
    if r32 < TARGET_RECALL or p32 < TARGET_PRECISION:
        failures.append(f"faces >= 32 px: recall {r32:.3f}, precision {p32:.3f}")


def run_fps(args: argparse.Namespace, failures: list[str]) -> None:
    yu = YuFaceDetector()
    print(f"\n## Frame rate end to end: lobby sequence, {args.frames} frames, 5 people")
    print(
        f"  {'size':<9}{'cores':>6}{'pipeline fps':>14}{'(CPU time)':>12}{'full-frame yuface fps':>23}"
        f"{'ratio':>7}{'track recall':>14}{'precision':>11}{'events':>8}"
    )
    for width, height in ((640, 480), (320, 240)):
        sequence = scenes.lobby_sequence(args.seed, args.frames, width, height)
        frames = list(sequence.frames())
        truth = [sequence.truth(i) for i in range(len(frames))]
        for n in (1, 2):
            with cores(n):
                r = frame_rate(frames, truth, yu)
            print(
                f"  {width}x{height:<5}{n:>6}{r.fps:>14.1f}{r.cpu_fps:>12.1f}{r.reference_fps:>23.1f}"
                f"{r.fps / r.reference_fps:>7.2f}{r.recall:>14.3f}{r.precision:>11.3f}{r.events:>8}"
            )
            if (width, n) == (640, 2) and max(r.fps, r.cpu_fps) < TARGET_FPS:
                failures.append(f"640x480 on two cores: {r.fps:.1f} frames/s, {r.cpu_fps:.1f} by CPU time")
    print(f"  load avg now: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  target, 640x480 on two cores: >= {TARGET_FPS:.0f} frames/s by wall clock or CPU time")


if __name__ == "__main__":
    sys.exit(main())
