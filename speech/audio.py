"""Audio data (16-bit mono PCM), WAV files, and the sources that stream it in fixed-size frames.

`Audio`, `read_wav`, `write_wav`, `concat` and `reframe` are the functional core: plain data in, plain
data out. `WavFileSource`, `MicrophoneSource` and `PushSource` are the shells that produce frames from
a file, a sound card and a ROS subscription; all three yield the same thing, 16 kHz mono int16 bytes.
"""

from __future__ import annotations

import collections
import math
import os
import tempfile
import threading
import time
import wave
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16000
"""The rate of every frame a source yields, and the rate the recognizers expect."""

FRAME_MS = 30
"""Default frame length: webrtcvad accepts 10, 20 or 30 ms and 30 ms costs the least per second."""

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]


class AudioError(ValueError):
    """Unusable audio input; the message is one line that says what to do next."""


# --------------------------------------------------------------------------------------------------
# Audio: an immutable utterance or recording


@dataclass(frozen=True, eq=False)
class Audio:
    """Mono 16-bit PCM samples at `rate` Hz. eq=False: comparing arrays element-wise is not a bool."""

    samples: Int16Array
    rate: int

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 1:
            raise TypeError(f"Audio needs a 1-D int16 array, got {self.samples.ndim}-D {self.samples.dtype}")
        if self.rate <= 0:
            raise ValueError(f"sample rate must be positive, got {self.rate}")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate

    def to_float32(self) -> npt.NDArray[np.float32]:
        """Samples in [-1, 1): what Whisper and onnx models take."""
        return (self.samples.astype(np.float32) / 32768.0).astype(np.float32)

    def to_bytes(self) -> bytes:
        """Little-endian int16 PCM, whatever the host's byte order (WAV and webrtcvad expect it)."""
        return self.samples.astype("<i2", copy=False).tobytes()

    def rms_dbfs(self) -> float:
        """Loudness in dB relative to full scale; -inf for empty or digital silence."""
        if len(self.samples) == 0:
            return -math.inf
        rms = float(np.sqrt(np.mean(np.square(self.samples.astype(np.float64)))))
        return 20 * math.log10(rms / 32768.0) if rms > 0 else -math.inf

    def resampled(self, rate: int) -> Audio:
        if rate == self.rate:
            return self
        y = resample(self.samples.astype(np.float64), self.rate, rate)
        return Audio(_to_int16(y), rate)

    def slice_s(self, start_s: float, end_s: float) -> Audio:
        a, b = (max(0, round(t * self.rate)) for t in (start_s, end_s))
        return Audio(self.samples[a:b], self.rate)

    @classmethod
    def from_float(cls, x: npt.ArrayLike, rate: int) -> Audio:
        """From floats in [-1, 1] (piper, numpy DSP); values outside are clipped, not wrapped."""
        return cls(_to_int16(np.asarray(x, dtype=np.float64) * 32767.0), rate)

    @classmethod
    def from_bytes(cls, data: bytes, rate: int = SAMPLE_RATE) -> Audio:
        if len(data) % 2:
            raise AudioError(
                f"PCM data has an odd length ({len(data)} bytes); 16-bit samples are 2 bytes each"
            )
        return cls(np.frombuffer(data, dtype="<i2").astype(np.int16), rate)

    @classmethod
    def silence(cls, seconds: float, rate: int = SAMPLE_RATE) -> Audio:
        return cls(np.zeros(round(seconds * rate), dtype=np.int16), rate)


def concat(parts: Iterable[Audio], rate: int | None = None) -> Audio:
    """Join clips end to end. All must share one rate; `rate` is only needed when `parts` is empty."""
    clips = list(parts)
    rates = {a.rate for a in clips} | ({rate} if rate else set())
    if len(rates) != 1:
        raise AudioError(f"cannot join audio at different rates {sorted(rates)} Hz — resample first")
    samples = np.concatenate([a.samples for a in clips]) if clips else np.zeros(0, np.int16)
    return Audio(samples.astype(np.int16, copy=False), rates.pop())


def _to_int16(x: FloatArray) -> Int16Array:
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------------------------------
# Resampling: band-limited FFT resampling in overlapping blocks (numpy only)

_BLOCK_S = 10.0  # memory stays flat for long files; speech utterances fit in one block
_OVERLAP = 2048  # input samples discarded at each block edge: longer than the filter's ringing


def resample(x: FloatArray, rate_in: int, rate_out: int) -> FloatArray:
    """Resample a float signal. Above 90 % of the lower Nyquist frequency a raised-cosine taper
    removes what would alias (and softens the brick-wall ringing of a plain FFT resample)."""
    if rate_in == rate_out or len(x) == 0:
        return x
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    hop = down * max(1, int(_BLOCK_S * rate_in) // down)  # block starts on the `down` grid: exact output
    ov = down * -(-_OVERLAP // down)
    out = []
    for start in range(0, len(x), hop):
        lo = max(0, start - ov)
        y = _resample_block(x[lo : start + hop + ov], up, down, pad=ov)
        lead = (start - lo) * up // down
        out.append(y[lead : lead + hop * up // down])
    n_out = round(len(x) * up / down)
    return np.concatenate(out)[:n_out]


def _resample_block(seg: FloatArray, up: int, down: int, pad: int) -> FloatArray:
    # Zero padding keeps the FFT's circular wrap-around away from the samples we keep; rounding the
    # length to `down` × a 2·3·5·7-smooth number keeps the output length exact and the FFT fast.
    blocks = _smooth(-(-(len(seg) + pad) // down))
    n_in, n_out = blocks * down, blocks * up
    spectrum = np.fft.rfft(seg, n_in)
    keep = min(len(spectrum), n_out // 2 + 1)
    taper = np.ones(keep)
    edge = int(keep * 0.9)
    taper[edge:] = 0.5 * (1 + np.cos(np.pi * np.arange(keep - edge) / max(1, keep - edge)))
    out = np.zeros(n_out // 2 + 1, dtype=np.complex128)
    out[:keep] = spectrum[:keep] * taper
    y: FloatArray = np.fft.irfft(out, n_out) * (n_out / n_in)
    return y[: len(seg) * up // down]


def _smooth(n: int) -> int:
    """The smallest integer ≥ n with no prime factor above 7."""
    while True:
        m = n
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


# --------------------------------------------------------------------------------------------------
# WAV files

_CONVERT = "convert with: sox {path} -r {rate} -c 1 -b 16 out.wav"


def read_wav(path: str | os.PathLike[str], *, require_rate: int | None = None) -> Audio:
    """Read a mono 16-bit PCM WAV. Anything else is an AudioError that says how to convert it."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(
            f"{p}: {'is a directory' if p.is_dir() else 'no such file'} — give the path of a WAV file"
        )
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: the file is empty (0 bytes) — record or synthesize it again")
    try:
        with wave.open(str(p), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise AudioError(
            f"{p}: not a PCM WAV file ({e}) — {_CONVERT.format(path=p, rate=SAMPLE_RATE)}"
        ) from None
    problems = _format_problems(channels, width, rate, require_rate)
    if problems:
        want = f"{require_rate / 1000:g} kHz mono 16-bit PCM" if require_rate else "mono 16-bit PCM"
        fix = _CONVERT.format(path=p, rate=require_rate or rate)
        raise AudioError(f"{p}: {problems}; expected {want} — {fix}")
    data = data[: len(data) - len(data) % 2]  # a truncated file can end mid-sample
    if not data:
        raise AudioError(f"{p}: the file has no audio samples — record or synthesize it again")
    return Audio.from_bytes(data, rate)


def _format_problems(channels: int, width: int, rate: int, require_rate: int | None) -> str:
    bad = (channels != 1) or (width != 2) or (require_rate is not None and rate != require_rate)
    if not bad:
        return ""
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels} channels")
    return f"{rate} Hz {layout} {8 * width}-bit"


def write_wav(path: str | os.PathLike[str], audio: Audio) -> None:
    """Write a mono 16-bit WAV atomically: readers never see a half-written file."""
    p = Path(path)
    if not p.parent.is_dir():
        raise AudioError(f"{p}: directory {p.parent} does not exist — create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            with wave.open(f, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(audio.rate)
                w.writeframes(audio.to_bytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------------
# Sources: anything that yields 16 kHz mono int16 frames


class AudioSource(Protocol):
    def chunks(self) -> Iterator[bytes]:
        """16 kHz mono little-endian int16 frames, each exactly the source's frame length."""
        ...


def frame_bytes(chunk_ms: int, rate: int = SAMPLE_RATE) -> int:
    if chunk_ms <= 0 or rate * chunk_ms % 1000:
        raise ValueError(f"a {chunk_ms} ms frame is not a whole number of samples at {rate} Hz")
    return rate * chunk_ms // 1000 * 2


def reframe(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut arbitrary byte chunks into frames of exactly `size` bytes. The tail is zero-padded to a
    whole frame so the last words of a stream still reach the recognizer."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        whole = len(buf) - len(buf) % size
        for i in range(0, whole, size):
            yield bytes(buf[i : i + size])
        del buf[:whole]
    if buf:
        yield bytes(buf) + b"\0" * (size - len(buf))


class WavFileSource:
    """Frames from a mono 16-bit WAV (resampled to 16 kHz if needed). realtime=True paces them like a
    microphone would, for end-to-end latency measurements."""

    def __init__(self, path: str | os.PathLike[str], chunk_ms: int = FRAME_MS, realtime: bool = False):
        self.audio = read_wav(path).resampled(SAMPLE_RATE)
        self.size = frame_bytes(chunk_ms)
        self.chunk_s = chunk_ms / 1000
        self.realtime = realtime

    def chunks(self) -> Iterator[bytes]:
        start = time.monotonic()
        for i, frame in enumerate(reframe([self.audio.to_bytes()], self.size)):
            if self.realtime:
                # A frame exists only once it has been "recorded": wait until its end time.
                delay = start + (i + 1) * self.chunk_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield frame


class PushSource:
    """A source fed from another thread (e.g. a ROS subscription callback) with push(); chunks() blocks
    until data arrives and ends after close(). If the consumer falls behind by more than `max_buffered_s`
    the oldest audio is dropped (and counted): a robot must answer what is said now, not a minute ago."""

    def __init__(self, chunk_ms: int = FRAME_MS, max_buffered_s: float = 30.0):
        self.size = frame_bytes(chunk_ms)
        self._max_bytes = int(max_buffered_s * SAMPLE_RATE * 2)
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._closed = False
        self._cond = threading.Condition()
        self.dropped_bytes = 0

    def push(self, chunk: bytes) -> None:
        """Add PCM bytes of any length. Ignored after close(): late callbacks during shutdown are normal."""
        with self._cond:
            if self._closed or not chunk:
                return
            self._queue.append(bytes(chunk))
            self._queued += len(chunk)
            while self._queued > self._max_bytes and len(self._queue) > 1:
                self._queued -= len(old := self._queue.popleft())
                self.dropped_bytes += len(old)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _pending(self) -> Iterator[bytes]:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                chunk = self._queue.popleft()
                self._queued -= len(chunk)
            yield chunk

    def chunks(self) -> Iterator[bytes]:
        return reframe(self._pending(), self.size)


class MicrophoneSource:
    """Frames from a sound card through PyAudio (PortAudio), opened at 16 kHz mono int16."""

    def __init__(self, device_index: int | None = None, chunk_ms: int = FRAME_MS):
        self.device_index = device_index
        self.size = frame_bytes(chunk_ms)
        self._pa: Any = None
        self._stream: Any = None

    def open(self) -> None:
        """Open the device now (chunks() does it too); raises AudioError when there is none."""
        if self._stream is not None:
            return
        try:
            import pyaudio
        except ImportError as e:
            raise AudioError(
                f"PyAudio is not usable ({e}) — apt-get install portaudio19-dev, then pip install PyAudio==0.2.14"
            ) from None
        with _quiet_stderr():
            self._pa = pyaudio.PyAudio()
            try:
                self._check_device()
                self._stream = self._pa.open(
                    format=pyaudio.paInt16,
                    channels=1,
                    rate=SAMPLE_RATE,
                    input=True,
                    input_device_index=self.device_index,
                    frames_per_buffer=self.size // 2,
                )
            except (OSError, ValueError) as e:
                self.close()
                raise AudioError(self._no_device_message(e)) from None

    def _check_device(self) -> None:
        """PortAudio crashes (SIGSEGV) on a device index it does not have, so check it first."""
        if self.device_index is None:
            return
        count = self._pa.get_device_count()
        if not 0 <= self.device_index < count:
            raise ValueError(f"no device {self.device_index}; PortAudio sees {count}")
        if self._pa.get_device_info_by_index(self.device_index)["maxInputChannels"] < 1:
            raise ValueError(f"device {self.device_index} has no input channels")

    def _no_device_message(self, error: Exception) -> str:
        which = (
            "the default input device" if self.device_index is None else f"input device {self.device_index}"
        )
        return (
            f"cannot open {which} at {SAMPLE_RATE} Hz mono ({error}) — connect a microphone "
            "(check with `arecord -l`), pass another device_index, or use a WAV file or ROS topic source"
        )

    def chunks(self) -> Iterator[bytes]:
        self.open()
        try:
            while self._stream is not None:
                # An overflow means we were late; losing 30 ms beats crashing the listener.
                yield self._stream.read(self.size // 2, exception_on_overflow=False)
        finally:
            self.close()

    def close(self) -> None:
        stream, pa = self._stream, self._pa
        self._stream = self._pa = None
        if stream is not None:
            with suppress(OSError):
                stream.stop_stream()
            stream.close()
        if pa is not None:
            pa.terminate()


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """ALSA and JACK print dozens of probe failures straight to fd 2 while PortAudio scans devices;
    the outcome is reported as one AudioError instead, so hide the noise for that moment."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def as_frames(audio: Audio, chunk_ms: int = FRAME_MS) -> Sequence[bytes]:
    """An Audio as the frames a source would have yielded (resampled to 16 kHz)."""
    return list(reframe([audio.resampled(SAMPLE_RATE).to_bytes()], frame_bytes(chunk_ms)))
