"""Early recognition: start recognizing at a pause, keep the result only if the pause ended the utterance.

The endpointer needs 600 ms of silence to be sure a visitor has finished (speech/vad.py), and then
Whisper needs ~0.4 s more. Most of that wait can overlap: at 240 ms of silence the endpointer offers
the utterance as it would be emitted (`Endpointer.take_pause`), and one worker thread starts on it.
When the endpoint comes, the emitted audio is compared sample for sample with the guess; the same
audio gives the same transcript, so the guess's result is taken (often already done). Otherwise the
utterance went on after the pause and is recognized afresh; the stale guess is not waited for beyond
the one worker's queue.

The recognizer reports the language as soon as it has detected it (one encoder pass, ~0.1 s), so by
the endpoint the listener usually knows which language to acknowledge the visitor in.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from speech.asr import LanguageHook
from speech.audio import Audio

T = TypeVar("T")


@dataclass
class EarlyStats:
    """For operators and the benchmark: how often the early guess was the utterance."""

    guesses: int = 0
    used: int = 0
    misses: int = 0  # the utterance went on after the pause


def same_audio(a: Audio, b: Audio) -> bool:
    return a.rate == b.rate and np.array_equal(a.samples, b.samples)


class EarlyRecognizer(Generic[T]):
    """`guess(audio)` at a pause; `result(audio)` at the endpoint. One recognition at a time.
    `recognize(audio, on_language)` is a recognizer's transcribe: it calls on_language when it knows."""

    def __init__(self, recognize: Callable[[Audio, LanguageHook], T]) -> None:
        self._recognize = recognize
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="early-asr")
        self._guess: tuple[Audio, Future[T]] | None = None
        self._language: list[str] = []  # the current guess's language, once detected
        self.stats = EarlyStats()

    def guess(self, audio: Audio) -> None:
        if self._guess is not None:  # an earlier pause in the same utterance: the visitor went on
            self.stats.misses += 1
            self._guess[1].cancel()
        language: list[str] = []  # appended to by the worker thread (list.append is atomic)
        self._language = language
        self._guess = (audio, self._pool.submit(self._recognize, audio, language.append))
        self.stats.guesses += 1

    def language(self) -> str | None:
        """The language of the latest guess, if the recognizer has detected it yet."""
        return self._language[0] if self._language else None

    def result(self, audio: Audio) -> T:
        guess, self._guess = self._guess, None
        self._language = []  # told to the listener already; the next utterance starts unknown
        if guess is not None and same_audio(guess[0], audio):
            self.stats.used += 1
            return guess[1].result()
        if guess is not None:
            self.stats.misses += 1
            guess[1].cancel()  # not started yet: skip it
        return self._pool.submit(self._recognize, audio, lambda _: None).result()

    def close(self) -> None:
        """No more guesses: a queued one is dropped, a running one finishes on its own."""
        self._guess = None
        self._pool.shutdown(wait=False, cancel_futures=True)
