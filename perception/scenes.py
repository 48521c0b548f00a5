"""Deterministic lobby scenes composed from images that ship inside scikit-image, for the tests,
the benchmark and demos: no camera, no downloads, no photographs of anyone but the public-domain
pictures in the package.

Faces: the 100 face crops of `skimage.data.lfw_subset()` (25×25 grey, tinted to skin tones),
the astronaut (colour) and the cameraman. Backgrounds without faces: coffee, chelsea, rocket,
brick, grass, gravel, coins, clock, page, text, immunohistochemistry, colorwheel, moon and the
Hubble deep field (the last two hold blobs that weak detectors take for faces), with the 100
non-face crops of the LFW subset pasted in as distractors.

A face's ground-truth box is the square it is pasted into. Every function takes a seed or a
`numpy.random.Generator`: the same seed gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np

from perception.detect import Box, Image

BACKGROUNDS = (
    "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "coins", "clock", "page", "text",
    "immunohistochemistry", "colorwheel", "moon", "hubble_deep_field",
)  # fmt: skip
#: Face regions (x, y, side) of the two full photographs, around the face as a detector sees it.
PHOTO_FACES = {"astronaut": (170, 50, 112), "camera": (185, 105, 86)}
SKIN_TONES = ((0.80, 0.88, 1.00), (0.70, 0.80, 1.00), (0.62, 0.76, 0.95), (0.85, 0.85, 0.92))


def _bgr(image: np.ndarray) -> Image:
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2BGR)
    return np.ascontiguousarray(image[:, :, ::-1])


@cache
def backgrounds() -> tuple[Image, ...]:
    from skimage import data

    return tuple(_bgr(np.asarray(getattr(data, name)())) for name in BACKGROUNDS)


@cache
def face_sprites() -> tuple[Image, ...]:
    """Square BGR face crops; the whole square is the face's ground-truth box."""
    from skimage import data

    lfw = data.lfw_subset()  # type: ignore[no-untyped-call]
    sprites = []
    for i in range(100):
        grey = (lfw[i] * 255).astype(np.float32)
        tone = np.array(SKIN_TONES[i % len(SKIN_TONES)], dtype=np.float32)
        sprites.append(np.clip(grey[:, :, None] * tone, 0, 255).astype(np.uint8))
    for name, (x, y, side) in PHOTO_FACES.items():
        photo = _bgr(np.asarray(getattr(data, name)()))
        sprites.append(np.ascontiguousarray(photo[y : y + side, x : x + side]))
    return tuple(sprites)


@cache
def distractor_sprites() -> tuple[Image, ...]:
    """The LFW subset's 100 non-face crops (bits of the same photographs: hair, clothes, walls)."""
    from skimage import data

    lfw = data.lfw_subset()  # type: ignore[no-untyped-call]
    return tuple(_bgr((lfw[i] * 255).astype(np.uint8)) for i in range(100, 200))


def background(rng: np.random.Generator, width: int, height: int) -> Image:
    """A random crop of a random face-free picture, resized to width×height."""
    pictures = backgrounds()
    src = pictures[int(rng.integers(len(pictures)))]
    h, w = src.shape[:2]
    aspect = width / height
    cw = int(min(w, h * aspect) * rng.uniform(0.6, 1.0))
    ch = int(cw / aspect)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    image = cv2.resize(src[y0 : y0 + ch, x0 : x0 + cw], (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


@cache
def _feather(side: int) -> Image:
    """Alpha for pasting: opaque inside, fading over the outer 5 % of the square, so the
    sprite has no hard edge for a detector to latch onto."""
    ramp = max(1.0, side * 0.05)
    d = np.minimum(np.arange(side), np.arange(side)[::-1]).astype(np.float32)
    edge = np.clip((d + 0.5) / ramp, 0, 1)
    alpha: Image = np.minimum(edge[:, None], edge[None, :])[:, :, None]
    return alpha


def paste(image: Image, sprite: Image, box: Box) -> None:
    """Paste `sprite` resized into the square `box` (clipped to the image), in place."""
    x, y, side, _ = (round(v) for v in box)
    if side < 2:
        return
    interpolation = cv2.INTER_AREA if side < sprite.shape[0] else cv2.INTER_CUBIC
    patch = cv2.resize(sprite, (side, side), interpolation=interpolation).astype(np.float32)
    alpha = _feather(side)
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + side), min(h, y + side)
    if x1 <= x0 or y1 <= y0:
        return
    sub = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    region = image[y0:y1, x0:x1].astype(np.float32)
    a = alpha[sub]
    image[y0:y1, x0:x1] = (patch[sub] * a + region * (1 - a)).astype(np.uint8)


def occlude(image: Image, box: Box, rng: np.random.Generator, fraction: float = 0.3) -> None:
    """Cover `fraction` of the face from one side (a hand, a phone, a document), in place."""
    x, y, s, _ = (round(v) for v in box)
    cut = max(1, round(s * fraction))
    side = int(rng.integers(4))
    colour = tuple(int(c) for c in rng.integers(20, 230, 3))
    x0, y0, x1, y1 = {
        0: (x, y + s - cut, x + s, y + s),  # lower face
        1: (x, y, x + cut, y + s),  # one side
        2: (x + s - cut, y, x + s, y + s),  # the other side
        3: (x, y, x + s, y + cut),  # forehead (a cap)
    }[side]
    cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), colour, thickness=-1)


def dim(image: Image, rng: np.random.Generator) -> Image:
    """Dim light: a third of the brightness, with the sensor noise that comes with it."""
    dark = image.astype(np.float32) * rng.uniform(0.25, 0.4)
    dark += rng.normal(0, 3.0, image.shape).astype(np.float32)
    out: Image = np.clip(dark, 0, 255).astype(np.uint8)
    return out


@dataclass(frozen=True)
class Scene:
    image: Image
    faces: tuple[Box, ...]
    occluded: tuple[bool, ...] = ()
    dim: bool = False


#: Face size bands (pixels, lower bound inclusive, upper exclusive) of the benchmark.
SIZE_BANDS = ((24, 32), (32, 48), (48, 96), (96, 201))


def _free(box: Box, taken: list[Box], margin: float = 0.15) -> bool:
    x, y, s, _ = box
    for tx, ty, ts, _ in taken:
        m = margin * max(s, ts)
        if x < tx + ts + m and tx < x + s + m and y < ty + ts + m and ty < y + s + m:
            return False
    return True


def compose(
    rng: np.random.Generator,
    width: int = 640,
    height: int = 480,
    n_faces: int = 3,
    sizes: tuple[int, int] = (24, 201),
    p_occluded: float = 0.15,
    p_dim: float = 0.15,
    n_distractors: int = 3,
) -> Scene:
    """One still scene: a background, distractors, up to `n_faces` faces of sizes in `sizes`."""
    image = background(rng, width, height)
    sprites, distractors = face_sprites(), distractor_sprites()
    taken: list[Box] = []
    for _ in range(n_distractors):
        side = int(rng.integers(20, 90))
        box = (
            float(rng.integers(0, width - side)),
            float(rng.integers(0, height - side)),
            float(side),
            float(side),
        )
        paste(image, distractors[int(rng.integers(len(distractors)))], box)
    occluded = []
    for _ in range(n_faces):
        for _attempt in range(30):
            side = int(rng.integers(sizes[0], min(sizes[1], height)))
            box = (
                float(rng.integers(0, width - side + 1)),
                float(rng.integers(0, height - side + 1)),
                float(side),
                float(side),
            )
            if _free(box, taken):
                break
        else:
            continue
        taken.append(box)
        paste(image, sprites[int(rng.integers(len(sprites)))], box)
        hidden = bool(rng.random() < p_occluded)
        if hidden:
            occlude(image, box, rng)
        occluded.append(hidden)
    dark = bool(rng.random() < p_dim)
    if dark:
        image = dim(image, rng)
    return Scene(image=image, faces=tuple(taken), occluded=tuple(occluded), dim=dark)


# -- moving scenes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walker:
    """A face moving in a straight line from `start` to `end` (centre x, centre y, side) between
    frames `first` and `last`, absent outside them."""

    sprite: int
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    first: int
    last: int

    def box(self, frame: int) -> Box | None:
        if not self.first <= frame <= self.last:
            return None
        t = 0.0 if self.last == self.first else (frame - self.first) / (self.last - self.first)
        cx, cy, s = (a + (b - a) * t for a, b in zip(self.start, self.end, strict=True))
        return (cx - s / 2, cy - s / 2, s, s)


@dataclass
class Sequence:
    """Frames of a static background with walkers; rendered lazily, frame by frame."""

    walkers: list[Walker]
    n_frames: int
    width: int = 640
    height: int = 480
    fps: float = 15.0
    seed: int = 0
    _background: Image | None = field(default=None, repr=False)

    def backdrop(self) -> Image:
        if self._background is None:
            self._background = background(np.random.default_rng(self.seed), self.width, self.height)
        return self._background

    def truth(self, frame: int) -> list[Box]:
        return [b for w in self.walkers if (b := w.box(frame)) is not None]

    def frame(self, index: int) -> Image:
        image = self.backdrop().copy()
        sprites = face_sprites()
        for walker in self.walkers:
            box = walker.box(index)
            if box is not None:
                paste(image, sprites[walker.sprite], box)
        return image

    def frames(self) -> Iterator[tuple[float, Image]]:
        """(timestamp in seconds, image) for every frame."""
        for i in range(self.n_frames):
            yield i / self.fps, self.frame(i)


def lobby_sequence(seed: int, n_frames: int = 150, width: int = 640, height: int = 480) -> Sequence:
    """A busy lobby: a visitor walking up to the robot, two passing by at different distances,
    one standing still far away, one arriving half-way through."""
    rng = np.random.default_rng(seed)
    n = len(face_sprites())
    pick = [int(v) for v in rng.choice(n, 5, replace=False)]
    w, h = width / 640, height / 480  # the paths are designed at 640×480
    walkers = [
        Walker(pick[0], (320 * w, 200 * h, 40 * w), (330 * w, 230 * h, 150 * w), 0, n_frames - 1),
        Walker(pick[1], (40 * w, 80 * h, 60 * w), (600 * w, 84 * h, 60 * w), 0, n_frames * 2 // 3),
        Walker(pick[2], (620 * w, 440 * h, 34 * w), (60 * w, 440 * h, 34 * w), 10, n_frames - 1),
        Walker(pick[3], (120 * w, 330 * h, 48 * w), (122 * w, 331 * h, 48 * w), 0, n_frames - 1),
        Walker(pick[4], (560 * w, 330 * h, 28 * w), (520 * w, 360 * h, 90 * w), n_frames // 2, n_frames - 1),
    ]
    return Sequence(walkers=walkers, n_frames=n_frames, width=width, height=height, seed=seed)
