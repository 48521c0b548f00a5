"""What would a shorter wait for the end of speech cost? The trade-off behind the first-audio target.

The endpointer answers after 600 ms of silence (speech/vad.py); the filler then starts at once, so
the first audio comes 0.6 s after the end of speech, and the issue asks for 0.5 s. A shorter wait
meets it, but a visitor who pauses longer than the wait inside a sentence is cut off: the robot
answers the first part while they go on (and, muted while it speaks, does not hear the rest).

This feeds the training sets' utterances, said by our own voices (Open JTalk, piper) as in
bench/speech.py, through endpointers with shorter waits, and counts for each wait:

- the first audio after the end of speech, from the endpointer's end (as bench/speech.py reports
  it) and from the last loud sample;
- the questions cut in two or more, and what the robot would then answer: the first part as
  Whisper hears it, through the dialogue, right or wrong against the label;
- the questions answered right in all: whole ones from their whole audio, cut ones from their
  first part.

Every time here is stream time (when the endpointer decides, in the audio it was fed), not wall
clock, so the figures do not depend on the machine's load and need no reference workload.

    .venv/bin/python -m bench.end_silence [--ja 200 --en 60]      # ~8 min
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import machine_note, median, percentile
from bench.speech import (
    Entry,
    Models,
    endpoint,
    heard_outcome,
    load_training,
    spread,
)
from speech.asr import WhisperRecognizer
from speech.audio import Audio
from speech.knowledge import Knowledge, load_knowledge
from speech.tts import EspeakVoice, OpenJTalkVoice, PiperVoice
from speech.vad import END_SILENCE_MS, Endpointer

WAITS_MS = (360, 420, 480, 540, END_SILENCE_MS)


@dataclass(frozen=True)
class Heard:
    """One question at one wait."""

    entry: Entry
    wait_ms: int
    parts: int  # utterances the endpointer made of it: more than one is a visitor cut off
    first_audio_s: float  # from the endpointer's end of the first part to its decision
    from_speech_end_s: float  # from the question's last loud sample to the decision (whole ones only)
    right: bool  # what the robot answers (the first part's) is what the visitor wanted


class Listener:
    """Whisper and the dialogue over audio (bench.speech's round trip), each distinct audio once."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.whisper = WhisperRecognizer()
        self.knowledge = knowledge
        self._right: dict[bytes, bool] = {}

    def right(self, entry: Entry, audio: Audio) -> bool:
        key = hashlib.sha256(audio.samples.tobytes()).digest()
        if key not in self._right:
            self._right[key] = heard_outcome(self.whisper, self.knowledge, entry, audio).right
        return self._right[key]


def voices() -> Models:
    """Only the voices of bench/speech.py's Models: its `say` is how a visitor is heard there."""
    models = Models()
    models.ja = OpenJTalkVoice()
    models.en = PiperVoice(noise_scale=0.0, noise_w_scale=0.0)
    models.ko = EspeakVoice()
    return models


def hear(entry: Entry, audio: Audio, wait_ms: int, listener: Listener) -> Heard:
    found = endpoint(audio, Endpointer(end_silence_ms=wait_ms))
    if not found.utterances:
        raise RuntimeError(f"the endpointer heard nothing in {entry.text!r}")
    first = found.utterances[0]
    assert first.detected_at_s is not None
    return Heard(
        entry,
        wait_ms,
        len(found.utterances),
        first.detected_at_s - first.ended_at_s,
        first.detected_at_s - found.speech_end_s,  # read only when whole: a cut part ends at a pause
        listener.right(entry, first.audio),
    )


def pick(entries: Sequence[Entry], lang: str, n: int) -> list[Entry]:
    return spread([e for e in entries if e.lang == lang], n)


def report(heard: Sequence[Heard], waits: Sequence[int]) -> None:
    print(
        f"\n  {'wait':>6} {'lang':>4} {'first audio p50/p90':>20} {'from the speech':>16}"
        f" {'cut':>12} {'cut, answered right':>20} {'answered right':>16}"
    )
    for wait in waits:
        for lang in ("ja", "en"):
            rows = [h for h in heard if h.wait_ms == wait and h.entry.lang == lang]
            if not rows:
                continue
            cut = [h for h in rows if h.parts > 1]
            first = [h.first_audio_s for h in rows]
            spoken = [h.from_speech_end_s for h in rows if h.parts == 1]
            right = sum(h.right for h in rows)
            print(
                f"  {wait:>4}ms {lang:>4} {median(first):>9.2f}/{percentile(first, 90):.2f} s"
                f" {median(spoken):>8.2f}/{percentile(spoken, 90):.2f} s"
                f" {len(cut):>4}/{len(rows)} {len(cut) / len(rows):>4.0%}"
                f" {sum(h.right for h in cut):>12}/{len(cut):<4}"
                f" {right:>6}/{len(rows)} {right / len(rows):>5.1%}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ja", type=int, default=200, help="Japanese questions (default 200)")
    parser.add_argument("--en", type=int, default=60, help="English questions (default 60)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        f"{machine_note()}\ncommand: .venv/bin/python -m bench.end_silence {' '.join(sys.argv[1:])}".rstrip()
    )
    _, knowledge = load_knowledge()
    models, listener = voices(), Listener(knowledge)
    entries = load_training()
    chosen = pick(entries, "ja", args.ja) + pick(entries, "en", args.en)
    print(f"{len(chosen)} utterances of the training sets, spread over them; waits {list(WAITS_MS)} ms")
    heard: list[Heard] = []
    for n, e in enumerate(chosen, 1):
        audio = models.say(e.text, e.lang)
        heard += [hear(e, audio, wait, listener) for wait in WAITS_MS]
        if n % 20 == 0 or n == len(chosen):
            print(
                f"  {n}/{len(chosen)} questions, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    report(heard, WAITS_MS)
    print(f"({time.perf_counter() - started:.0f} s in all; {machine_note()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
