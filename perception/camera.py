"""Camera sources behind one interface, and sensor_msgs/Image ↔ numpy without cv_bridge.

- `VideoSource`: a V4L2 device (`/dev/video0` or its number) or a video file, via cv2.VideoCapture;
- `ImageDirSource`: the images of a directory in name order (a recorded sequence);
- `PushSource`: frames pushed in by someone else (the ROS node's `/camera/image_raw` callback).

Each yields `Frame`s (BGR uint8, a timestamp in seconds). Nothing here writes an image anywhere.

`decode_image` / `encode_image` convert the fields of a sensor_msgs/Image (height, width,
encoding, is_bigendian, step, data) to and from a BGR array, honouring `step` (rows padded to an
alignment) and the encodings bgr8, rgb8, bgra8, rgba8, mono8, mono16, yuv422 (UYVY, the ROS
meaning) and yuv422_yuy2 (YUYV). They take plain values, so they are tested without ROS.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from perception.detect import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".webp")
#: Larger frames are refused: no camera this robot uses comes near, and a corrupt header must
#: not make us allocate gigabytes.
MAX_SIDE = 4096


class CameraError(Exception):
    """A source that cannot deliver frames, or a frame that cannot be decoded: one line."""


@dataclass(frozen=True)
class Frame:
    image: Image
    stamp: float
    index: int


class FrameSource(Protocol):
    def frames(self) -> Iterator[Frame]:
        """Frames until the source ends (a file) or is closed (a device, a topic)."""
        ...


class VideoSource:
    """A video file, or a V4L2 device given as `/dev/videoN` or `N`."""

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        self.path = str(path)
        device = self.path[len("/dev/video") :] if self.path.startswith("/dev/video") else self.path
        target: int | str = int(device) if device.isdigit() else self.path
        if isinstance(target, str) and not Path(target).is_file():
            raise CameraError(f"cannot open {self.path}: no such file")
        with _quiet_stderr():
            self.capture = cv2.VideoCapture(target)
        if not self.capture.isOpened():
            raise CameraError(f"cannot open {self.path}: not a video OpenCV can read")
        self.fps = fps or float(self.capture.get(cv2.CAP_PROP_FPS)) or 30.0
        self.live = isinstance(target, int)

    def frames(self) -> Iterator[Frame]:
        index = 0
        try:
            while True:
                ok, image = self.capture.read()
                if not ok or image is None:
                    if index == 0:
                        raise CameraError(f"cannot read a frame from {self.path}")
                    return
                stamp = time.monotonic() if self.live else index / self.fps
                yield Frame(_as_bgr(image), stamp, index)
                index += 1
        finally:
            self.capture.release()


class ImageDirSource:
    """The images of a directory in name order, stamped at `fps`. Unreadable files are
    skipped and counted in `errors` (one bad file does not end a recording)."""

    def __init__(self, path: str | Path, fps: float = 15.0) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise CameraError(f"{self.path} is not a directory")
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise CameraError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {self.path}")
        self.fps = fps
        self.errors: list[str] = []

    def frames(self) -> Iterator[Frame]:
        index = 0
        for file in self.files:
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                self.errors.append(f"cannot read {file}")
                continue
            yield Frame(image, index / self.fps, index)
            index += 1


class PushSource:
    """Frames pushed from another thread (a ROS callback). Keeps only the newest `depth`
    frames: a slow consumer sees the present, not a growing backlog."""

    def __init__(self, depth: int = 1) -> None:
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=depth)
        self.dropped = 0
        self._index = 0

    def push(self, image: Image, stamp: float) -> None:
        self._put(Frame(image, stamp, self._index))
        self._index += 1

    def _put(self, item: Frame | None) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def close(self) -> None:
        """End `frames()`: the frames not yet taken are dropped."""
        self._put(None)

    def frames(self) -> Iterator[Frame]:
        while (frame := self._queue.get()) is not None:
            yield frame


def open_source(spec: str, fps: float = 15.0) -> FrameSource:
    """`video:PATH`, `device:N` or `/dev/videoN`, `dir:PATH`, or a plain path (a directory or a
    video file)."""
    kind, _, rest = spec.partition(":")
    if kind == "dir":
        return ImageDirSource(rest, fps)
    if kind == "video":
        return VideoSource(rest)
    if kind == "device":
        return VideoSource(rest)
    if Path(spec).is_dir():
        return ImageDirSource(spec, fps)
    return VideoSource(spec)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """FFmpeg prints its own complaint about a bad file straight to file descriptor 2 (no
    environment variable silences the wheel's build); we report the error in one line ourselves."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _as_bgr(image: np.ndarray) -> Image:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


# -- sensor_msgs/Image ----------------------------------------------------------------------------

#: encoding → (bytes per pixel, channels, conversion to BGR or None when already BGR)
ENCODINGS: dict[str, tuple[int, int, int | None]] = {
    "bgr8": (3, 3, None),
    "rgb8": (3, 3, cv2.COLOR_RGB2BGR),
    "bgra8": (4, 4, cv2.COLOR_BGRA2BGR),
    "rgba8": (4, 4, cv2.COLOR_RGBA2BGR),
    "mono8": (1, 1, cv2.COLOR_GRAY2BGR),
    "mono16": (2, 1, cv2.COLOR_GRAY2BGR),
    "yuv422": (2, 2, cv2.COLOR_YUV2BGR_UYVY),
    "yuv422_yuy2": (2, 2, cv2.COLOR_YUV2BGR_YUY2),
}


def decode_image(
    height: int,
    width: int,
    encoding: str,
    step: int,
    data: bytes | bytearray | memoryview,
    is_bigendian: int = 0,
) -> Image:
    """A sensor_msgs/Image's fields → a BGR uint8 array (a copy). Raises `CameraError` with one
    line on anything inconsistent: unknown encoding, step shorter than a row, data shorter or
    longer than step × height, odd width in a YUV 4:2:2 encoding."""
    if encoding not in ENCODINGS:
        raise CameraError(f"unsupported encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise CameraError(f"bad size {width}x{height}")
    bpp, channels, conversion = ENCODINGS[encoding]
    row = width * bpp
    if step < row:
        raise CameraError(f"step {step} is shorter than a row of {width} {encoding} pixels ({row} bytes)")
    if len(data) != step * height:
        raise CameraError(f"data is {len(data)} bytes; step {step} x height {height} = {step * height}")
    if encoding.startswith("yuv422") and width % 2:
        raise CameraError(f"{encoding} needs an even width, got {width}")
    rows = np.frombuffer(data, dtype=np.uint8).reshape(height, step)[:, :row]
    if encoding == "mono16":
        dtype = np.dtype(">u2" if is_bigendian else "<u2")
        grey16 = np.ascontiguousarray(rows).view(dtype).reshape(height, width)
        pixels = (grey16 >> 8).astype(np.uint8)
    else:
        shape = (height, width) if channels == 1 else (height, width, channels)
        pixels = np.ascontiguousarray(rows).reshape(shape)
    if conversion is None:
        return pixels.copy()
    return np.ascontiguousarray(cv2.cvtColor(pixels, conversion))


def encode_image(image: Image, encoding: str = "bgr8", align: int = 1) -> tuple[int, bytes]:
    """A BGR array → (step, data) of a sensor_msgs/Image in `encoding`, rows padded to a multiple
    of `align` bytes (as some camera drivers do). For the debug stream and for tests."""
    if encoding == "bgr8":
        pixels = image
    elif encoding == "rgb8":
        pixels = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif encoding == "mono8":
        pixels = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif encoding in ("yuv422", "yuv422_yuy2"):
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV)
        y, u, v = yuv[:, :, 0], yuv[:, 0::2, 1], yuv[:, 0::2, 2]
        packed = np.empty((image.shape[0], image.shape[1] * 2), np.uint8)
        if encoding == "yuv422":  # UYVY
            packed[:, 0::4], packed[:, 1::4], packed[:, 2::4], packed[:, 3::4] = u, y[:, 0::2], v, y[:, 1::2]
        else:  # YUYV
            packed[:, 0::4], packed[:, 1::4], packed[:, 2::4], packed[:, 3::4] = y[:, 0::2], u, y[:, 1::2], v
        pixels = packed
    else:
        raise CameraError(f"cannot encode {encoding!r}")
    rows = np.ascontiguousarray(pixels).reshape(image.shape[0], -1)
    row = rows.shape[1]
    step = -(-row // align) * align
    if step != row:
        rows = np.pad(rows, ((0, 0), (0, step - row)))
    return step, rows.tobytes()
