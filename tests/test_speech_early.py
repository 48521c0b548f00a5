"""Early recognition: the endpointer's pause guess and the EarlyRecognizer that uses it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from speech.audio import SAMPLE_RATE, Audio, as_frames, concat
from speech.early import EarlyRecognizer
from speech.tts import OpenJTalkVoice
from speech.vad import END_SILENCE_MS, SPECULATE_MS, Endpointer, Utterance


@pytest.fixture(scope="module")
def voice() -> OpenJTalkVoice:
    return OpenJTalkVoice()


def _say(voice: OpenJTalkVoice, text: str) -> Audio:
    """The voice alone: the synthesizer's own leading and trailing silence cut off."""
    audio = voice.synthesize(text, "ja").resampled(SAMPLE_RATE)
    loud = np.flatnonzero(np.abs(audio.samples.astype(int)) > 0.02 * np.abs(audio.samples.astype(int)).max())
    return Audio(audio.samples[loud[0] : loud[-1] + 1].copy(), audio.rate)


def _run(stream: Audio) -> tuple[list[tuple[int, Utterance]], list[tuple[int, Utterance]]]:
    """(frame index, pause) and (frame index, utterance) as a listener would see them."""
    ep = Endpointer()
    pauses, ends = [], []
    for i, frame in enumerate(as_frames(stream)):
        if (u := ep.feed(frame)) is not None:
            ends.append((i, u))
        if (p := ep.take_pause()) is not None:
            pauses.append((i, p))
    assert ep.take_pause() is None  # each pause is offered once
    return pauses, ends


def test_a_pause_that_ends_the_utterance_offers_exactly_its_audio(voice: OpenJTalkVoice) -> None:
    stream = concat([Audio.silence(0.5), _say(voice, "住民票の写しがほしいです"), Audio.silence(1.0)])

    pauses, ends = _run(stream)

    assert len(pauses) == 1 and len(ends) == 1
    (pause_at, pause), (end_at, utterance) = pauses[0], ends[0]
    assert end_at - pause_at == (END_SILENCE_MS - SPECULATE_MS) // 30  # 360 ms earlier
    assert np.array_equal(pause.audio.samples, utterance.audio.samples)
    assert pause.ended_at_s == utterance.ended_at_s
    assert pause.detected_at_s is not None and utterance.detected_at_s is not None
    assert utterance.detected_at_s - pause.detected_at_s == pytest.approx(0.36)


def test_a_pause_inside_a_sentence_is_offered_but_is_not_the_utterance(voice: OpenJTalkVoice) -> None:
    first, second = _say(voice, "引っ越してきました"), _say(voice, "住民票もほしいです")
    stream = concat([Audio.silence(0.5), first, Audio.silence(0.4), second, Audio.silence(1.0)])

    pauses, ends = _run(stream)

    assert len(ends) == 1  # 400 ms is a pause within the sentence, not its end
    assert len(pauses) == 2  # one in the middle, one at the end
    utterance = ends[0][1]
    assert len(pauses[0][1].audio) < len(utterance.audio)  # the guess heard only the first half
    assert np.array_equal(pauses[1][1].audio.samples, utterance.audio.samples)


def test_no_pause_is_offered_for_a_click_or_when_speculation_is_off(voice: OpenJTalkVoice) -> None:
    speech = concat([Audio.silence(0.5), _say(voice, "はい"), Audio.silence(1.0)])
    click = concat([Audio.silence(0.5), Audio.from_float(np.full(160, 0.8), SAMPLE_RATE), Audio.silence(1.0)])
    off = Endpointer(speculate_ms=None)
    assert all(off.feed(f) is None or off.take_pause() is None for f in as_frames(speech))
    assert off.take_pause() is None
    pauses, ends = _run(click)
    assert pauses == [] and ends == []


class _Counting:
    """A recognizer that returns the audio's length and records what it was asked."""

    def __init__(self) -> None:
        self.heard: list[int] = []
        self.release = threading.Event()

    def __call__(self, audio: Audio, on_language: Callable[[str], None]) -> int:
        on_language("en" if len(audio) > SAMPLE_RATE * 0.8 else "ja")
        self.release.wait(5)
        self.heard.append(len(audio))
        return len(audio)


def _tone(seconds: float) -> Audio:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return Audio.from_float(0.3 * np.sin(2 * np.pi * 220 * t), SAMPLE_RATE)


def test_the_guess_is_used_when_the_endpoint_brings_the_same_audio() -> None:
    recognize = _Counting()
    early: EarlyRecognizer[int] = EarlyRecognizer(recognize)
    audio = _tone(1.0)
    early.guess(Audio(audio.samples.copy(), audio.rate))
    deadline = time.monotonic() + 5
    while early.language() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert early.language() == "en"  # known before the words: the filler's language
    recognize.release.set()
    assert early.result(audio) == len(audio)
    assert early.language() is None  # the next utterance starts unknown
    assert recognize.heard == [len(audio)]  # recognized once, at the pause
    assert (early.stats.guesses, early.stats.used, early.stats.misses) == (1, 1, 0)
    early.close()


def test_a_guess_the_visitor_talked_past_is_not_used() -> None:
    recognize = _Counting()
    early: EarlyRecognizer[int] = EarlyRecognizer(recognize)
    half, whole = _tone(0.5), _tone(1.0)
    early.guess(half)
    early.guess(_tone(0.7))  # a second pause in the same utterance replaces the first
    recognize.release.set()
    assert early.result(whole) == len(whole)  # the answer is for what was finally said
    assert recognize.heard[-1] == len(whole) and len(half) not in recognize.heard[1:]
    assert (early.stats.guesses, early.stats.used, early.stats.misses) == (2, 0, 2)
    early.close()
