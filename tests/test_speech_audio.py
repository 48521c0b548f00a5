"""speech.audio and speech.vad: WAV files, resampling, frame sources and the endpointer, on real speech
synthesized by our own voices."""

from __future__ import annotations

import struct
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from speech.audio import (
    SAMPLE_RATE,
    Audio,
    AudioError,
    MicrophoneSource,
    PushSource,
    WavFileSource,
    as_frames,
    concat,
    read_wav,
    reframe,
    write_wav,
)
from speech.tts import OpenJTalkVoice, PiperVoice
from speech.vad import END_SILENCE_MS, Endpointer, segment

FRAME = 960  # bytes in 30 ms at 16 kHz


@pytest.fixture(scope="module")
def ja_speech() -> Audio:
    return OpenJTalkVoice().synthesize("住民票の写しがほしいです", "ja").resampled(SAMPLE_RATE)


@pytest.fixture(scope="module")
def en_speech() -> Audio:
    voice = PiperVoice(noise_scale=0.0, noise_w_scale=0.0)  # identical audio on every run
    return voice.synthesize("Where do I get a residence certificate?", "en").resampled(SAMPLE_RATE)


def _tone(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio.from_float(amplitude * np.sin(2 * np.pi * freq * t), rate)


def _write_raw_wav(path: Path, channels: int, width: int, rate: int, frames: bytes) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


# --------------------------------------------------------------------------------------------------
# Audio and resampling


def test_audio_basics() -> None:
    a = _tone(440, 0.5, 16000)
    assert a.duration_s == pytest.approx(0.5)
    f = a.to_float32()
    assert f.dtype == np.float32 and 0.49 < np.abs(f).max() <= 0.5
    assert Audio.from_bytes(a.to_bytes(), 16000).samples.tolist() == a.samples.tolist()
    assert Audio.silence(0.25).duration_s == 0.25 and Audio.silence(0.25).rms_dbfs() == -np.inf
    joined = concat([a, Audio.silence(0.5, 16000), a])
    assert joined.duration_s == pytest.approx(1.5)
    with pytest.raises(AudioError, match="different rates"):
        concat([a, Audio.silence(0.1, 22050)])
    with pytest.raises(TypeError):
        Audio(np.zeros(10, dtype=np.float32), 16000)


@pytest.mark.parametrize("rate_in", [48000, 44100, 22050])
def test_resample_keeps_a_tone_and_removes_what_would_alias(rate_in: int) -> None:
    tone = _tone(1000, 12.3, rate_in)  # longer than one 10 s block: the seam must not show
    out = tone.resampled(16000)
    assert out.rate == 16000 and len(out) == round(len(tone) * 16000 / rate_in)
    expected = _tone(1000, len(out) / 16000, 16000).samples.astype(float)
    middle = slice(1600, -1600)  # edges ring: the signal starts and stops abruptly
    assert np.abs(out.samples[middle] - expected[middle]).max() < 40  # of 16384: -52 dB
    # 10 kHz is above the new 8 kHz Nyquist frequency: it must vanish, not fold back to 6 kHz.
    alias = _tone(10000, 2.0, rate_in).resampled(16000)
    assert alias.rms_dbfs() < -60


def test_resample_up_and_back() -> None:
    a = _tone(300, 1.0, 16000)
    back = a.resampled(48000).resampled(16000)
    assert np.abs(back.samples[800:-800].astype(int) - a.samples[800:-800]).max() < 30


# --------------------------------------------------------------------------------------------------
# WAV files


def test_write_then_read_round_trip(tmp_path: Path, ja_speech: Audio) -> None:
    path = tmp_path / "ja.wav"
    write_wav(path, ja_speech)
    back = read_wav(path, require_rate=16000)
    assert back.rate == 16000 and np.array_equal(back.samples, ja_speech.samples)
    assert [p.name for p in tmp_path.iterdir()] == ["ja.wav"]  # the temp file was renamed, not left
    write_wav(path, Audio.silence(0.1))  # replacing an existing file works too
    assert read_wav(path).duration_s == pytest.approx(0.1)


def test_write_into_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="does not exist"):
        write_wav(tmp_path / "nope" / "x.wav", Audio.silence(0.1))


def test_read_wav_accepts_other_rates_unless_required(tmp_path: Path) -> None:
    path = write_and_get(tmp_path / "cd.wav", _tone(440, 0.2, 44100))
    assert read_wav(path).rate == 44100
    with pytest.raises(AudioError) as e:
        read_wav(path, require_rate=16000)
    message = str(e.value)
    assert "44100 Hz mono 16-bit" in message and "expected 16 kHz mono 16-bit PCM" in message
    assert f"sox {path} -r 16000 -c 1 -b 16 out.wav" in message and "\n" not in message


def write_and_get(path: Path, audio: Audio) -> Path:
    write_wav(path, audio)
    return path


@pytest.mark.parametrize(
    ("channels", "width", "words"),
    [(2, 2, ["stereo", "16-bit"]), (1, 1, ["mono", "8-bit"]), (1, 3, ["24-bit"]), (4, 2, ["4 channels"])],
)
def test_read_wav_rejects_other_formats(tmp_path: Path, channels: int, width: int, words: list[str]) -> None:
    path = _write_raw_wav(tmp_path / "x.wav", channels, width, 16000, b"\x10" * channels * width * 800)
    with pytest.raises(AudioError) as e:
        read_wav(path)
    assert all(w in str(e.value) for w in words), str(e.value)
    assert "sox" in str(e.value)


def test_read_wav_rejects_float_wav(tmp_path: Path) -> None:
    data = np.zeros(160, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)  # format 3 = IEEE float
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    path = tmp_path / "float.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(AudioError, match="not a PCM WAV"):
        read_wav(path)


def test_read_wav_other_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    with pytest.raises(AudioError, match=r"notes\.wav: not a PCM WAV file .* sox"):
        read_wav(text)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        read_wav(empty)
    no_frames = _write_raw_wav(tmp_path / "noframes.wav", 1, 2, 16000, b"")
    with pytest.raises(AudioError, match="no audio samples"):
        read_wav(no_frames)
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "missing.wav")
    with pytest.raises(AudioError, match="is a directory"):
        read_wav(tmp_path)


# --------------------------------------------------------------------------------------------------
# Sources


def test_reframe_cuts_exact_frames_and_pads_the_tail() -> None:
    data = bytes(range(256)) * 20  # 5120 bytes
    pieces = [data[:7], data[7:1007], data[1007:1008], data[1008:]]
    frames = list(reframe(pieces, FRAME))
    assert all(len(f) == FRAME for f in frames) and len(frames) == 6
    joined = b"".join(frames)
    assert joined[: len(data)] == data and joined[len(data) :] == b"\0" * (6 * FRAME - len(data))


def test_push_source_reframes_chunks_pushed_from_another_thread() -> None:
    source = PushSource()
    rng = np.random.default_rng(3)
    data = rng.integers(-2000, 2000, 16000, dtype=np.int16).tobytes()  # 0.5 s
    sizes = [1, 333, 960, 4001, 7, 2000]

    def feed() -> None:
        pos = 0
        for i in range(10_000):
            if pos >= len(data):
                break
            n = sizes[i % len(sizes)]
            source.push(data[pos : pos + n])
            pos += n
        source.close()
        source.push(b"late")  # a callback after shutdown is ignored, not an error

    producer = threading.Thread(target=feed)
    producer.start()
    frames = list(source.chunks())  # ends when the producer closes the source
    producer.join(5)
    assert all(len(f) == FRAME for f in frames)
    joined = b"".join(frames)
    assert joined[: len(data)] == data and set(joined[len(data) :]) <= {0}


def test_push_source_drops_the_oldest_audio_when_the_consumer_falls_behind() -> None:
    source = PushSource(max_buffered_s=0.1)  # 3200 bytes
    for i in range(10):
        source.push(bytes([i]) * 960)
    source.close()
    kept = b"".join(source.chunks())
    assert source.dropped_bytes == 960 * 7
    assert kept[:960] == bytes([7]) * 960  # the newest audio survives


def test_wav_file_source(tmp_path: Path, ja_speech: Audio) -> None:
    path = write_and_get(tmp_path / "ja48k.wav", ja_speech.resampled(48000))
    frames = list(WavFileSource(path).chunks())
    assert all(len(f) == FRAME for f in frames)
    # resampled back to 16 kHz on the way in
    assert len(frames) == -(-len(ja_speech) * 2 // FRAME)
    short = write_and_get(tmp_path / "short.wav", Audio.silence(0.3))
    start = time.monotonic()
    assert len(list(WavFileSource(short, chunk_ms=20, realtime=True).chunks())) == 15
    assert time.monotonic() - start >= 0.29  # paced like a microphone


def test_microphone_source_without_a_sound_card_raises_audio_error() -> None:
    pyaudio = pytest.importorskip("pyaudio")
    pa = pyaudio.PyAudio()
    try:
        inputs = [
            i for i in range(pa.get_device_count()) if pa.get_device_info_by_index(i)["maxInputChannels"]
        ]
    finally:
        pa.terminate()
    if inputs:
        pytest.skip("this machine has an input device")
    mic = MicrophoneSource()
    with pytest.raises(AudioError, match=r"cannot open the default input device .* connect a microphone"):
        mic.open()
    with pytest.raises(AudioError):
        next(iter(MicrophoneSource(device_index=7).chunks()))


# --------------------------------------------------------------------------------------------------
# Endpointer


def _speech_span(a: Audio) -> tuple[float, float]:
    """Where the voice is in a clip: first and last sample above 2 % of the peak."""
    loud = np.flatnonzero(np.abs(a.samples.astype(int)) > 0.02 * np.abs(a.samples.astype(int)).max())
    return loud[0] / a.rate, (loud[-1] + 1) / a.rate


def _with_noise(a: Audio, dbfs: float = -55.0) -> Audio:
    noise = np.random.default_rng(7).standard_normal(len(a)) * 32768 * 10 ** (dbfs / 20)
    return Audio(np.clip(np.rint(a.samples + noise), -32768, 32767).astype(np.int16), a.rate)


def test_two_utterances_with_silence_between(ja_speech: Audio, en_speech: Audio) -> None:
    gap = Audio.silence(1.0)
    stream = _with_noise(concat([gap, ja_speech, gap, en_speech, gap]))
    ja_start, ja_end = _speech_span(ja_speech)
    en_start, en_end = _speech_span(en_speech)
    truth = [
        (1 + ja_start, 1 + ja_end),
        (2 + ja_speech.duration_s + en_start, 2 + ja_speech.duration_s + en_end),
    ]

    utterances = segment(stream)

    assert len(utterances) == 2
    for u, (start, end) in zip(utterances, truth, strict=True):
        assert u.started_at_s == pytest.approx(start, abs=0.1)
        assert u.ended_at_s == pytest.approx(end, abs=0.15)
        assert u.detected_at_s == pytest.approx(u.ended_at_s + END_SILENCE_MS / 1000)
        # the audio carries ~0.3 s of pre-roll and a short tail around the speech
        assert u.ended_at_s - u.started_at_s + 0.2 < u.audio.duration_s < u.ended_at_s - u.started_at_s + 0.5


def test_endpointer_is_incremental_and_reports_at_the_end_of_speech(ja_speech: Audio) -> None:
    ep = Endpointer()
    stream = _with_noise(concat([Audio.silence(0.5), ja_speech, Audio.silence(1.0)]))
    results = [(i, u) for i, f in enumerate(as_frames(stream)) if (u := ep.feed(f))]
    assert len(results) == 1
    index, u = results[0]
    assert (index + 1) * 0.03 == pytest.approx(u.detected_at_s)
    assert ep.flush() is None and not ep.in_speech


def test_muted_frames_produce_nothing(ja_speech: Audio) -> None:
    stream = _with_noise(
        concat([Audio.silence(0.5), ja_speech, Audio.silence(1.0), ja_speech, Audio.silence(1.0)])
    )
    frames = as_frames(stream)
    ep = Endpointer()
    ep.mute(True)
    assert all(ep.feed(f) is None for f in frames) and ep.flush() is None


def test_muting_mid_utterance_discards_it(ja_speech: Audio) -> None:
    stream = _with_noise(
        concat([Audio.silence(0.5), ja_speech, Audio.silence(1.0), ja_speech, Audio.silence(1.0)])
    )
    frames = as_frames(stream)
    first_end = round((0.5 + ja_speech.duration_s) / 0.03)
    half = first_end // 2
    ep = Endpointer()
    got = [ep.feed(f) for f in frames[:half]]
    assert ep.in_speech  # the visitor is mid-sentence...
    ep.mute(True)  # ...when the robot starts talking
    assert not ep.in_speech
    got += [ep.feed(f) for f in frames[half : first_end + 10]]
    ep.mute(False)
    got += [ep.feed(f) for f in frames[first_end + 10 :]]
    found = [u for u in [*got, ep.flush()] if u]
    assert len(found) == 1
    assert found[0].started_at_s > 0.5 + ja_speech.duration_s + 0.9  # only the second sentence


def test_noise_alone_is_not_speech() -> None:
    assert segment(_with_noise(Audio.silence(5.0), dbfs=-40)) == []


def test_endpointer_rejects_bad_frames_and_settings() -> None:
    with pytest.raises(ValueError, match="960"):
        Endpointer().feed(b"\0" * 100)
    with pytest.raises(ValueError, match="webrtcvad"):
        Endpointer(frame_ms=25)
    for wait_ms in (0, 100, 5000):
        with pytest.raises(ValueError, match=f"end_silence_ms must be 150-3000 ms, not {wait_ms}"):
            Endpointer(end_silence_ms=wait_ms)


def test_a_shorter_wait_decides_sooner_and_cuts_at_a_long_pause(ja_speech: Audio) -> None:
    """The trade-off a site chooses with `end_silence_ms`: a 0.55 s pause inside one turn (as Open
    JTalk makes at a 、) is a pause to the default wait and the end of the turn to a 360 ms one."""
    start, end = _speech_span(ja_speech)
    voiced = Audio(
        ja_speech.samples[round(start * ja_speech.rate) : round(end * ja_speech.rate)], ja_speech.rate
    )
    stream = _with_noise(
        concat([Audio.silence(0.5), voiced, Audio.silence(0.55), voiced, Audio.silence(1.0)])
    )
    whole = segment(stream)
    short = segment(stream, Endpointer(end_silence_ms=360))
    assert len(whole) == 1 and len(short) == 2
    assert short[0].detected_at_s == pytest.approx(short[0].ended_at_s + 0.36)
    assert short[-1].detected_at_s is not None and whole[0].detected_at_s is not None
    assert short[-1].detected_at_s < whole[0].detected_at_s
