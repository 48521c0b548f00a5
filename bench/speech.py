"""Speech pipeline: recognition speed, reply latency and intent accuracy, in one run on this machine.

What is measured, and how:

1. Recognition real-time factor (processing s / audio s) and model load times. Whisper base on
   20 + 20 questions of the test set (romaji left out) synthesized by our own voices (Japanese: Open JTalk, English: piper
   joe, both resampled to 16 kHz), language given; Vosk Korean on espeak-ng Korean phrases, with a
   10-phrase city-hall grammar and in free mode. A fixed CPU workload (200 numpy float32 384x384
   matmuls, ~0.2 s) is timed 5 times at the start and again after every clip, question or 20
   round trips; each section's figures are also given divided by the median reference time
   sampled within it, so runs on this shared, noisy machine compare by ratio.
2. Reply latency over 20 questions (10 ja, 10 en; not romaji, not clarify) whose synthesized
   speech lasts 2.5-3.5 s, spread over the test set. Each is padded with 1 s of silence before and 1.5 s
   after and fed as 30 ms frames through the Endpointer as fast as possible. Latency counts from
   the end of speech (the utterance's `ended_at_s`): the endpointer's decision delay in stream
   time (`detected_at_s - ended_at_s`) plus the wall-clock work after the decision — Whisper with
   language detection, a fresh `Dialogue.respond` with live queue statuses, and the Speaker's
   per-sentence synthesis. Whisper starts early, at each 240 ms pause (`Endpointer.take_pause`),
   on one worker as in the listener (`speech/early.py`); that worker is replayed in stream time
   with measured Whisper times, and the transcript is ready at max(its guess's end, the decision).
   "First audio" is the filler (`FILLER`, synthesized at start-up, played as soon as the end is
   decided); the first sentence of the answer and the whole answer are reported separately.
   Targets (issue 4): first audio <= 0.5 s, whole answer <= 2.0 s, judged on p90.
3. Intent accuracy on twenty-three test sets, each written by someone who had not seen the matcher, the
   knowledge base or the sets before it (bench/speech_utterances*.yaml): 280, 257, 316, 346,
   125 off-topic remarks (all hand-offs), 358, 355, 327, 333, 332, 333, 333, 335, 336,
   335, 333, 332, 333, 333, 333, 333, 333 and 333 utterances; the writers of sets 9–23 were given the robot's conventions for when it asks and when it answers
   (docs/conversation.md). Each new set was scored once as the held-out figure, then its misses were
   read and it joined the sets that tune the knowledge base and are the classifier's examples
   (speech/examples.yaml, text and what Whisper heard of it). Set 23 is the held-out set now: its
   misses are only counted, not listed, and the targets are judged on it alone (and also on its
   wordings no earlier set has word for word: blind writers write the common questions alike). On the text as
   written [>= 95 %], and after a round trip text -> TTS -> 16 kHz -> Whisper (language detected, 3
   next-best hypotheses) -> dialogue [>= 85 %]. Romaji entries are spoken as the kana they spell, mixed ones by both voices
   in turn. Per language, style and set. Each utterance gets a fresh Dialogue; got = procedure or
   destination, else "clarify" or "handoff"; a clarify is right when the expected candidates are
   among those asked about.

    .venv/bin/python -m bench.speech [--limit N] [--skip-roundtrip] [--held-out-only] [--latency-n 20] [--rtf-n 20]

The whole run takes ~50 min on these 2 cores, most of it the round trip (~0.6 s per utterance, 4,030 of
them), which prints progress to stderr every 20; ~8 min with --held-out-only (the round trip on the
held-out set only). Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import jaconv
import numpy as np
import yaml
from rapidfuzz.distance import Levenshtein

from bench.common import machine_note, median, percentile, show
from lobby.schema import QueueStatus, WaitEstimate
from speech.asr import Transcript, VoskRecognizer, WhisperRecognizer
from speech.audio import SAMPLE_RATE, Audio, as_frames, concat
from speech.dialogue import FILLER, Dialogue, Reply
from speech.early import same_audio
from speech.examples import shipped_classifier
from speech.knowledge import Knowledge, load_knowledge
from speech.tts import EspeakVoice, OpenJTalkVoice, PiperVoice, Speaker, Synthesizer
from speech.vad import Endpointer, Utterance

UTTERANCES = Path(__file__).resolve().parent / "speech_utterances.yaml"
#: Written later, without seeing the matcher or the knowledge base; its even entries were then used
#: for tuning, its odd entries never: those are the honest figure.
HELD_OUT = Path(__file__).resolve().parent / "speech_utterances_heldout.yaml"
SET3 = Path(__file__).resolve().parent / "speech_utterances_set3.yaml"
#: Written blind on 2026-11-23 and the held-out figure of one session; then tuned on.
SET4 = Path(__file__).resolve().parent / "speech_utterances_set4.yaml"
#: Remarks that are no counter's business (small talk, other services), written blind: all hand-offs.
OFFTOPIC = Path(__file__).resolve().parent / "speech_utterances_offtopic.yaml"
#: Written blind on 2026-12-04, scored once as the held-out figure (86.0 % text, 79.1 % speech), then tuned on.
SET6 = Path(__file__).resolve().parent / "speech_utterances_set6.yaml"
#: Written blind on 2026-12-04, scored once as the held-out figure (87.0 % text, 81.1 % speech), then tuned on.
SET7 = Path(__file__).resolve().parent / "speech_utterances_set7.yaml"
#: Written blind on 2026-12-04, scored once as the held-out figure (90.5 % text, 79.5 % speech), then tuned on.
SET8 = Path(__file__).resolve().parent / "speech_utterances_set8.yaml"
#: Written blind on 2026-12-04 by writers given the robot's conventions (docs/conversation.md),
#: scored once as the held-out figure (90.4 % text, 80.8 % speech), then tuned on.
SET9 = Path(__file__).resolve().parent / "speech_utterances_set9.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (92.5 % text, 85.2 %
#: speech), then tuned on.
SET10 = Path(__file__).resolve().parent / "speech_utterances_set10.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (92.8 % text, 85.3 %
#: speech), then tuned on.
SET11 = Path(__file__).resolve().parent / "speech_utterances_set11.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (94.0 % text, 88.6 %
#: speech), then tuned on.
SET12 = Path(__file__).resolve().parent / "speech_utterances_set12.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (97.0 % text, 87.8 %
#: speech), then tuned on.
SET13 = Path(__file__).resolve().parent / "speech_utterances_set13.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (92.3 % text, 83.3 %
#: speech), then tuned on.
SET14 = Path(__file__).resolve().parent / "speech_utterances_set14.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (95.2 % text, 86.9 %
#: speech), then tuned on.
SET15 = Path(__file__).resolve().parent / "speech_utterances_set15.yaml"
#: Written blind on 2026-12-04 like set 9, scored once as the held-out figure (96.1 % text, 86.8 %
#: speech), then tuned on.
SET16 = Path(__file__).resolve().parent / "speech_utterances_set16.yaml"
#: Written blind on 2026-12-05 like set 9, scored once as the held-out figure (97.3 % text, 86.7 %
#: speech), then tuned on.
SET17 = Path(__file__).resolve().parent / "speech_utterances_set17.yaml"
#: Written blind on 2026-12-05 like set 9, scored once as the held-out figure (96.7 % text, 90.1 %
#: speech; 97.0 / 90.4 % again, unread, on the final code of that session), then tuned on.
SET18 = Path(__file__).resolve().parent / "speech_utterances_set18.yaml"
#: Written blind on 2026-12-05 like set 9, scored once as the held-out figure (96.1 % text, 88.0 %
#: speech), then tuned on.
SET19 = Path(__file__).resolve().parent / "speech_utterances_set19.yaml"
#: Written blind on 2026-12-05 like set 9, scored once as the held-out figure (97.0 % text, 87.4 %
#: speech), then tuned on.
SET20 = Path(__file__).resolve().parent / "speech_utterances_set20.yaml"
#: Written blind on 2026-12-05 like set 9, scored once as the held-out figure (94.6 % text, 89.5 %
#: speech), then tuned on.
SET21 = Path(__file__).resolve().parent / "speech_utterances_set21.yaml"
#: Written blind on 2026-12-05 like set 9, scored once as the held-out figure (96.7 % text, 90.1 %
#: speech), then tuned on.
SET22 = Path(__file__).resolve().parent / "speech_utterances_set22.yaml"
#: Written blind on 2026-12-05 like set 9, and never used for anything but this figure: the honest one.
SET23 = Path(__file__).resolve().parent / "speech_utterances_set23.yaml"
TRAINING_SETS = {
    1: UTTERANCES,
    2: HELD_OUT,
    3: SET3,
    4: SET4,
    5: OFFTOPIC,
    6: SET6,
    7: SET7,
    8: SET8,
    9: SET9,
    10: SET10,
    11: SET11,
    12: SET12,
    13: SET13,
    14: SET14,
    15: SET15,
    16: SET16,
    17: SET17,
    18: SET18,
    19: SET19,
    20: SET20,
    21: SET21,
    22: SET22,
}
HELD_OUT_SET, HELD_OUT_PATH = 23, SET23  # the next new set takes both places
HELD_OUT_SETS = {HELD_OUT_SET: f"set {HELD_OUT_SET} held-out"}
#: What a visitor might say to a Korean-speaking robot: every word is in the small Korean model.
KO_GRAMMAR = [
    "안녕하세요",
    "주민등록등본 발급 받고 싶어요",
    "전입신고",
    "인감 증명서",
    "가족관계증명서",
    "출생신고",
    "혼인신고",
    "외국인 등록",
    "화장실 어디 있어요",
    "감사합니다",
]
TARGET_TEXT, TARGET_ROUNDTRIP = 0.95, 0.85
TARGET_FIRST_AUDIO_S, TARGET_FULL_S = 0.5, 2.0
PAD_BEFORE_S, PAD_AFTER_S = 1.0, 1.5
QUESTION_S = (2.5, 3.5)
MIXED_GAP_S = 0.08  # between the two voices of a mixed-language sentence
VOICED_DBFS = -50.0  # the last sample louder than this is where the synthesized speech ends

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    index: int
    text: str
    lang: str
    expect: str
    style: str
    candidates: frozenset[str] = frozenset()
    set_no: int = 1

    @property
    def split(self) -> str:
        """Sets 1–22 tuned the knowledge base and are the intent examples (speech/examples.yaml) the
        classifier learns from; set 23 never was either."""
        return HELD_OUT_SETS.get(self.set_no, f"set {self.set_no} (trained on)")

    @property
    def held_out(self) -> bool:
        return self.set_no in HELD_OUT_SETS


def load_entries(path: Path = UTTERANCES, set_no: int = 1) -> list[Entry]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["utterances"]
    return [
        Entry(i, e["text"], e["lang"], e["expect"], e["style"], frozenset(e.get("candidates") or ()), set_no)
        for i, e in enumerate(raw)
    ]


def load_training() -> list[Entry]:
    """The tuning sets: what the knowledge base was tuned on and the intent examples are made of."""
    return [e for n, path in TRAINING_SETS.items() for e in load_entries(path, n)]


def load_all() -> list[Entry]:
    return load_training() + load_entries(HELD_OUT_PATH, HELD_OUT_SET)


_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z' ,.?!-]*[A-Za-z.?!]|[A-Za-z]")
_PUNCT = " 、。,.?？!！"


def spoken_parts(text: str, lang: str) -> list[tuple[str, str]]:
    """What a person would say for an entry, as (text, voice language) runs: romaji is read as the
    kana it spells (our Japanese voice would spell the Latin letters out), and a sentence mixing
    Japanese and English words is said by both voices in turn, as a bilingual visitor would."""
    if lang == "ja" and text.isascii():
        return [(jaconv.alphabet2kana(text.lower()), "ja")]
    if text.isascii() or not re.search(r"[A-Za-z]{2,}", text):
        return [(text, lang)]
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in _LATIN_RUN.finditer(text):
        if text[pos : m.start()].strip(_PUNCT):
            parts.append((text[pos : m.start()], "ja"))
        parts.append((m.group(), "en"))
        pos = m.end()
    if text[pos:].strip(_PUNCT):
        parts.append((text[pos:], "ja"))
    return parts


def code_fingerprint() -> str:
    """Short hash of what is measured (speech/*.py, the intent examples, the site file, the test
    sets): the tree is not committed while it is being worked on, so this says which state of it a
    run saw."""
    root = UTTERANCES.parent.parent
    files = [*sorted((root / "speech").glob("*.py")), root / "speech/examples.yaml"]
    files += [root / "queue_bridge/sites/demo.yaml", *TRAINING_SETS.values(), HELD_OUT_PATH]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


# -- the reference workload -----------------------------------------------------------------------


def reference_s(size: int = 384, reps: int = 200) -> float:
    """Seconds for `reps` float32 matmuls (numpy's BLAS, all cores, ~0.2 s on a quiet machine):
    how fast this machine is right now, other jobs included."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return time.perf_counter() - t0


Tick = Callable[[], None]


@dataclass
class References:
    """The reference workload sampled between the measurements of each section (after every clip,
    question, or 20 round trips). Other jobs here come in bursts of seconds, so one timing before
    and one after say little; a section's figures are divided by the median of its own samples."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    loads: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def take(self, section: str) -> None:
        self.samples[section].append(reference_s())
        self.loads[section].append(os.getloadavg()[0])

    def ticker(self, section: str) -> Tick:
        return partial(self.take, section)

    def of(self, section: str) -> float:
        return median(self.samples[section])

    def describe(self) -> dict[str, str]:
        return {
            k: f"median {median(v):.3f} s (min {min(v):.3f}, max {max(v):.3f}, {len(v)} samples, "
            f"load avg {median(self.loads[k]):.1f})"
            for k, v in self.samples.items()
        }


# -- models ---------------------------------------------------------------------------------------


@dataclass
class Models:
    """Everything loaded once, as the robot would at start-up, with the load times."""

    load_s: dict[str, float] = field(default_factory=dict)
    whisper: WhisperRecognizer = field(init=False)
    vosk_grammar: VoskRecognizer = field(init=False)
    vosk_free: VoskRecognizer = field(init=False)
    ja: OpenJTalkVoice = field(init=False)
    en: PiperVoice = field(init=False)
    ko: EspeakVoice = field(init=False)
    speaker: Speaker = field(init=False)
    filler: dict[str, Audio] = field(init=False)
    said: dict[tuple[str, str], Audio] = field(default_factory=dict)

    def load(self) -> Models:
        self.whisper = self._timed("Whisper base (verify + load)", WhisperRecognizer)
        self.vosk_grammar = self._timed(
            "Vosk ko, grammar (verify + load)", lambda: VoskRecognizer(grammar=KO_GRAMMAR)
        )
        self.vosk_free = self._timed("Vosk ko, free (load; verified above)", VoskRecognizer)
        self.ja = self._timed("Open JTalk voice", OpenJTalkVoice)
        # No random variation: the same audio on every run (synthesis costs the same either way).
        self.en = self._timed("piper joe voice", lambda: PiperVoice(noise_scale=0.0, noise_w_scale=0.0))
        self.ko = self._timed("espeak-ng", EspeakVoice)
        self._timed("Whisper first call (warm-up, filler audio)", self._warm_up)
        self._timed("intent examples classifier (fit, as the dialogue node at start-up)", shipped_classifier)
        # As the speaker node: an answer's sentences two at a time (Open JTalk: processes, piper: threads).
        pooled = self._timed(
            "Open JTalk, 2 worker processes (spawn + warm-up)", lambda: OpenJTalkVoice(workers=2)
        )
        en = PiperVoice(noise_scale=0.0, noise_w_scale=0.0, workers=2)
        self.speaker = Speaker(voices={"ja": lambda: pooled, "en": lambda: en})
        self.speaker.preload("ja", "en")
        self.filler = self._timed(
            "filler audio, ja + en (synthesis)",
            lambda: {lang: self.speaker.synthesize(text, lang) for lang, text in FILLER.items()},
        )
        return self

    def _warm_up(self) -> None:
        self.whisper.transcribe(self.ja.synthesize(FILLER["ja"], "ja"), "ja")

    def _timed(self, name: str, load: Callable[[], T]) -> T:
        value, self.load_s[name] = timed(load)
        return value

    def voice_of(self, lang: str) -> Synthesizer:
        return {"ja": self.ja, "en": self.en}.get(lang, self.ko)

    def say(self, text: str, lang: str) -> Audio:
        """A visitor's words as 16 kHz audio (our own voices stand in for the visitor), cached."""
        if (text, lang) not in self.said:
            runs = [
                self.voice_of(voice).synthesize(words, voice).resampled(SAMPLE_RATE)
                for words, voice in spoken_parts(text, lang)
            ]
            gaps = [Audio.silence(MIXED_GAP_S)] * (len(runs) - 1)
            self.said[text, lang] = concat(
                [a for pair in itertools.zip_longest(runs, gaps) for a in pair if a]
            )
        return self.said[text, lang]


# -- 1. real-time factor --------------------------------------------------------------------------


@dataclass
class Rtf:
    audio_s: list[float] = field(default_factory=list)
    busy_s: list[float] = field(default_factory=list)
    exact: int = 0
    char_errors: int = 0
    chars: int = 0
    heard: list[tuple[str, str]] = field(default_factory=list)  # (truth, heard) when truth is known

    def add(self, audio: Audio, seconds: float, heard: str = "", truth: str | None = None) -> None:
        self.audio_s.append(audio.duration_s)
        self.busy_s.append(seconds)
        if truth is not None:
            self.heard.append((truth, heard))
            self.exact += heard.replace(" ", "") == truth.replace(" ", "")
            self.char_errors += Levenshtein.distance(heard.replace(" ", ""), truth.replace(" ", ""))
            self.chars += len(truth.replace(" ", ""))

    @property
    def rtf(self) -> float:
        return sum(self.busy_s) / sum(self.audio_s)

    def row(self, ref_s: float) -> str:
        per = [b / a for a, b in zip(self.audio_s, self.busy_s, strict=True)]
        text = (
            f"{self.rtf:.3f} (p50 {median(per):.3f}, p90 {percentile(per, 90):.3f}) over "
            f"{len(per)} clips, {median(self.audio_s):.1f} s median; RTF ÷ ref s {self.rtf / ref_s:.2f}"
        )
        if self.chars:
            text += f"; exact {self.exact}/{len(per)}, CER {self.char_errors / self.chars:.1%}"
        return text


def spread(items: Sequence[T], n: int) -> list[T]:
    """n items evenly spaced over `items` (all of them when n >= len)."""
    if n >= len(items):
        return list(items)
    return [items[round(k * len(items) / n)] for k in range(n)]


def whisper_rtf(models: Models, entries: Sequence[Entry], lang: str, n: int, tick: Tick) -> Rtf:
    result = Rtf()
    for e in spread([e for e in entries if e.lang == lang and e.style != "romaji"], n):
        audio = models.say(e.text, lang)
        _, seconds = timed(partial(models.whisper.transcribe, audio, lang))
        result.add(audio, seconds)
        tick()
    return result


def vosk_rtf(models: Models, tick: Tick) -> tuple[Rtf, Rtf]:
    grammar, free = Rtf(), Rtf()
    for phrase in KO_GRAMMAR:
        audio = models.say(phrase, "ko")
        for rtf, recognizer in ((grammar, models.vosk_grammar), (free, models.vosk_free)):
            heard, seconds = timed(partial(recognizer.transcribe, audio, "ko"))
            rtf.add(audio, seconds, heard.text, phrase)
        tick()
    return grammar, free


def measure_rtf(models: Models, entries: Sequence[Entry], n: int, tick: Tick) -> dict[str, Rtf]:
    rtfs = {
        "Whisper ja (lang given)": whisper_rtf(models, entries, "ja", n, tick),
        "Whisper en (lang given)": whisper_rtf(models, entries, "en", n, tick),
    }
    rtfs["Vosk ko, 10-phrase grammar"], rtfs["Vosk ko, free"] = vosk_rtf(models, tick)
    return rtfs


# -- 2. latency -----------------------------------------------------------------------------------


def live_statuses(knowledge: Knowledge, site: str) -> dict[str, QueueStatus]:
    """A busy moment: every queue with 6 waiting, about 10-20 minutes (answers quote the wait)."""
    queues = {p.queue for p in knowledge.procedures.values() if p.queue}
    estimate = WaitEstimate(point_s=900, lower_s=600, upper_s=1200, method="bench")
    now = datetime.now(UTC)
    return {
        q: QueueStatus(
            site=site, queue=q, waiting=6, now_calling=[], open_windows=[], estimate=estimate, updated_at=now
        )
        for q in queues
    }


def speech_end_s(audio: Audio) -> float:
    """Seconds to the last sample louder than VOICED_DBFS: where the speech in a clip ends."""
    loud = np.flatnonzero(np.abs(audio.samples.astype(np.int32)) > 32768 * 10 ** (VOICED_DBFS / 20))
    return (int(loud[-1]) + 1) / audio.rate if len(loud) else 0.0


def pick_questions(models: Models, entries: Sequence[Entry], n: int) -> list[tuple[Entry, Audio]]:
    """n questions (half ja, half en) whose synthesized speech lasts 2.5-3.5 s, spread over the set."""
    picked: list[tuple[Entry, Audio]] = []
    for lang in ("ja", "en"):
        want = n // 2 if lang == "ja" else n - n // 2
        pool = [e for e in entries if e.lang == lang and e.style != "romaji" and e.expect != "clarify"]
        found: list[tuple[Entry, Audio]] = []
        for e in spread(pool, len(pool)):
            audio = models.say(e.text, lang)
            if QUESTION_S[0] <= audio.duration_s <= QUESTION_S[1]:
                found.append((e, audio))
        picked += spread(found, want)
    return picked


@dataclass
class Turn:
    """One question's way through the pipeline (seconds)."""

    entry: Entry
    question_s: float
    splits: int
    end_error_s: float  # the endpointer's ended_at_s minus where the synthesized speech really ends
    decision_s: float  # stream time from the end of speech to the endpointer's decision
    vad_us_per_frame: float
    filler_s: float = 0.0  # wall clock from the decision to the filler ready to play
    filler_audio_s: float = 0.0  # how long the filler plays
    asr_s: float = 0.0  # Whisper on the utterance
    asr_ready_s: float = 0.0  # from the end of speech to the transcript, early recognition included
    guesses: int = 0  # pauses whose audio was recognized early
    early_used: bool = False  # the last guess was the utterance: its transcript stood
    dialogue_s: float = 0.0
    first_tts_s: float = 0.0
    rest_tts_s: float = 0.0
    sentences: int = 0
    answer_audio_s: float = 0.0
    stalls: int = 0  # sentences not ready when the ones before them would have finished playing
    heard: str = ""
    got: str = ""

    @property
    def first_audio(self) -> float:
        return self.decision_s + self.filler_s

    @property
    def first_answer(self) -> float:
        return self.asr_ready_s + self.dialogue_s + self.first_tts_s

    @property
    def full_answer(self) -> float:
        return self.first_answer + self.rest_tts_s


@dataclass
class Endpointed:
    utterances: list[Utterance]
    pauses: list[Utterance]  # the early guesses offered (Endpointer.take_pause), in order
    us_per_frame: float
    speech_end_s: float


def endpoint(question: Audio, ep: Endpointer | None = None) -> Endpointed:
    """The padded stream fed frame by frame, as the listener does (with the listener's endpointer
    unless another is given)."""
    stream = concat([Audio.silence(PAD_BEFORE_S), question, Audio.silence(PAD_AFTER_S)])
    frames = as_frames(stream)
    ep = ep or Endpointer()
    found, pauses = [], []
    t0 = time.perf_counter()
    for f in frames:
        if (u := ep.feed(f)) is not None:
            found.append(u)
        if (p := ep.take_pause()) is not None:
            pauses.append(p)
    last = ep.flush()
    us = (time.perf_counter() - t0) / len(frames) * 1e6
    return Endpointed([*found, *([last] if last else [])], pauses, us, PAD_BEFORE_S + speech_end_s(question))


def recognize_early(
    models: Models, pauses: Sequence[Utterance], final: Utterance
) -> tuple[Transcript, float, float, bool]:
    """The listener's one recognition worker (speech/early.py) replayed in stream time: each pause's
    guess starts when offered or when the worker is free, and is skipped if the next pause or the
    endpoint overtook it before it started; the endpoint takes the last guess if its audio is the
    same, else recognizes afresh. Whisper's times are measured, one call at a time.
    (transcript, when it is ready in stream s, Whisper s on the final audio, guess used)."""
    assert final.detected_at_s is not None
    free, last = 0.0, None
    for i, pause in enumerate(pauses):
        assert pause.detected_at_s is not None
        start = max(pause.detected_at_s, free)
        overtaken_at = pauses[i + 1].detected_at_s if i + 1 < len(pauses) else final.detected_at_s
        assert overtaken_at is not None
        if start > overtaken_at and not same_audio(pause.audio, final.audio):
            continue
        heard, took = timed(partial(models.whisper.transcribe, pause.audio))
        free, last = start + took, (pause, heard, took)
    if last is not None and same_audio(last[0].audio, final.audio):
        return last[1], free, last[2], True
    heard, took = timed(lambda: models.whisper.transcribe(final.audio))
    return heard, max(final.detected_at_s, free) + took, took, False


def measure_turn(
    entry: Entry, question: Audio, models: Models, knowledge: Knowledge, statuses: dict[str, QueueStatus]
) -> Turn:
    found = endpoint(question)
    if not found.utterances:
        raise RuntimeError(f"the endpointer heard nothing in {entry.text!r}")
    last = found.utterances[-1]
    assert last.detected_at_s is not None
    turn = Turn(
        entry,
        question.duration_s,
        splits=len(found.utterances) - 1,
        end_error_s=last.ended_at_s - found.speech_end_s,
        decision_s=last.detected_at_s - last.ended_at_s,
        vad_us_per_frame=found.us_per_frame,
        guesses=len(found.pauses),
    )
    t0 = time.perf_counter()
    turn.filler_audio_s = models.filler["ja"].duration_s  # synthesized at start-up: ready at once
    turn.filler_s = time.perf_counter() - t0
    if turn.splits:  # cut in two: the question is only whole once both parts are heard
        heard, turn.asr_s = timed(
            lambda: models.whisper.transcribe(concat(u.audio for u in found.utterances))
        )
        turn.asr_ready_s = turn.decision_s + turn.asr_s
    else:
        heard, ready_at, turn.asr_s, turn.early_used = recognize_early(models, found.pauses, last)
        turn.asr_ready_s = ready_at - last.ended_at_s
    answer(turn, heard, models, knowledge, statuses)
    return turn


def answer(
    turn: Turn, heard: Transcript, models: Models, knowledge: Knowledge, statuses: dict[str, QueueStatus]
) -> None:
    """The wall-clock part after recognition. The filler is in the robot's current language
    (Japanese, as it greeted): the visitor's language is only known after recognition."""
    lang = heard.lang if heard.lang in ("ja", "en") else None
    reply, turn.dialogue_s = timed(
        lambda: Dialogue(knowledge).respond(heard.text, lang, statuses, heard.alternatives)
    )
    turn.heard, turn.got = heard.text, got_of(reply)
    synthesize_answer(turn, models.speaker.sentences(reply.text, reply.lang))


def synthesize_answer(turn: Turn, sentences: Iterator[Audio]) -> None:
    """Time each sentence as the Speaker yields it; a stall is a sentence not ready by the time
    the sentences before it (played from the moment the first was ready) have finished."""
    t0 = time.perf_counter()
    ready: list[float] = []
    durations: list[float] = []
    for audio in sentences:
        ready.append(time.perf_counter() - t0)
        durations.append(audio.duration_s)
    turn.first_tts_s, turn.rest_tts_s = ready[0], ready[-1] - ready[0]
    turn.sentences, turn.answer_audio_s = len(ready), sum(durations)
    played_by = ready[0] + np.cumsum(durations)
    turn.stalls = sum(r > p for r, p in zip(ready[1:], played_by[:-1], strict=True))


def p50_90(values: Sequence[float], unit: str = "s") -> str:
    return f"{median(values):.3f} / {percentile(values, 90):.3f} {unit}"


def measure_latency(
    models: Models,
    knowledge: Knowledge,
    statuses: dict[str, QueueStatus],
    questions: Sequence[tuple[Entry, Audio]],
    tick: Tick,
) -> list[Turn]:
    turns = []
    for e, audio in questions:
        turns.append(measure_turn(e, audio, models, knowledge, statuses))
        tick()
    return turns


def latency_rows(turns: Sequence[Turn], ref_s: float) -> dict[str, Any]:
    def of(fn: Callable[[Turn], float], lang: str | None = None) -> list[float]:
        return [fn(t) for t in turns if lang in (None, t.entry.lang)]

    gap = of(lambda t: max(0.0, t.first_answer - t.first_audio - t.filler_audio_s))
    lengths = of(lambda t: t.question_s)
    return {
        "questions (ja + en)": f"{len(of(lambda t: 0, 'ja'))} + {len(of(lambda t: 0, 'en'))}, "
        f"{median(lengths):.2f} s median ({min(lengths):.2f}-{max(lengths):.2f})",
        "intent right after recognition": f"{sum(t.got == t.entry.expect for t in turns)}/{len(turns)}",
        "answer sentences / answer audio s, p50": f"{median(of(lambda t: t.sentences)):.0f} / "
        f"{median(of(lambda t: t.answer_audio_s)):.1f}",
        "endpointer splits / VAD cost per 30 ms frame": f"{sum(t.splits for t in turns)} / "
        f"{median(of(lambda t: t.vad_us_per_frame)):.0f} µs",
        "ended_at_s - true end of speech (signal), p50": f"{median(of(lambda t: t.end_error_s)):+.3f} s",
        "  endpointer decision delay (stream)": p50_90(of(lambda t: t.decision_s)),
        "  Whisper (language detected)": p50_90(of(lambda t: t.asr_s)),
        "  early guesses per question / last guess used": f"{median(of(lambda t: t.guesses)):.0f} / "
        f"{sum(t.early_used for t in turns)}/{len(turns)}",
        "  transcript ready after the end of speech": p50_90(of(lambda t: t.asr_ready_s)),
        "  dialogue (fresh Dialogue.respond)": p50_90(of(lambda t: t.dialogue_s), "s"),
        "  TTS first sentence": p50_90(of(lambda t: t.first_tts_s)),
        "  TTS remaining sentences": p50_90(of(lambda t: t.rest_tts_s)),
        "first audio: filler (target <= 0.5 s)": p50_90(of(lambda t: t.first_audio)),
        "  same, from the true end of speech": p50_90(of(lambda t: t.first_audio + t.end_error_s)),
        "first audio of the ANSWER": p50_90(of(lambda t: t.first_answer)),
        "  ja / en": f"{p50_90(of(lambda t: t.first_answer, 'ja'))} | {p50_90(of(lambda t: t.first_answer, 'en'))}",
        "full answer synthesized (target <= 2.0 s)": p50_90(of(lambda t: t.full_answer)),
        "  ja / en ": f"{p50_90(of(lambda t: t.full_answer, 'ja'))} | {p50_90(of(lambda t: t.full_answer, 'en'))}",
        "silence between filler end and answer": p50_90(gap),
        "answers whose playback would stall": f"{sum(t.stalls > 0 for t in turns)}/{len(turns)}",
        "full answer p50 ÷ ref s (sampled in this section)": f"{median(of(lambda t: t.full_answer)) / ref_s:.2f}",
    }


# -- 3. intent accuracy ---------------------------------------------------------------------------


def got_of(reply: Reply) -> str:
    return reply.procedure or reply.destination or ("clarify" if reply.clarify else "handoff")


def is_right(entry: Entry, reply: Reply) -> bool:
    got = got_of(reply)
    return got == entry.expect and (got != "clarify" or entry.candidates <= set(reply.clarify))


@dataclass(frozen=True)
class Outcome:
    entry: Entry
    right: bool
    got: str
    heard: Transcript | None = None
    asr_s: float = 0.0

    @property
    def lang_right(self) -> bool:
        return self.heard is not None and self.heard.lang == self.entry.lang


def text_outcomes(knowledge: Knowledge, entries: Sequence[Entry]) -> list[Outcome]:
    outcomes = []
    for e in entries:
        reply = Dialogue(knowledge).respond(e.text, e.lang)
        outcomes.append(Outcome(e, is_right(e, reply), got_of(reply)))
    return outcomes


def roundtrip_one(models: Models, knowledge: Knowledge, e: Entry) -> Outcome:
    """Japanese by Open JTalk, English by piper, 16 kHz, Whisper detecting the language."""
    return heard_outcome(models.whisper, knowledge, e, models.say(e.text, e.lang))


def heard_outcome(whisper: WhisperRecognizer, knowledge: Knowledge, e: Entry, audio: Audio) -> Outcome:
    """What the dialogue makes of `audio` as Whisper hears it, against what `e` wanted."""
    heard, seconds = timed(lambda: whisper.transcribe(audio))
    if not heard.text:
        return Outcome(e, False, "(nothing heard)", heard, seconds)
    lang = heard.lang if heard.lang in ("ja", "en") else None
    reply = Dialogue(knowledge).respond(heard.text, lang, {}, heard.alternatives)
    return Outcome(e, is_right(e, reply), got_of(reply), heard, seconds)


def roundtrip_outcomes(
    models: Models, knowledge: Knowledge, entries: Sequence[Entry], tick: Tick
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    t0 = time.perf_counter()
    for e in entries:
        outcomes.append(roundtrip_one(models, knowledge, e))
        if len(outcomes) % 20 == 0 or len(outcomes) == len(entries):
            tick()
            right = sum(o.right for o in outcomes)
            print(
                f"  round trip {len(outcomes)}/{len(entries)}: {right} right, "
                f"{time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    return outcomes


def groups_of(e: Entry) -> list[str]:
    return ["all", f"lang {e.lang}", e.split, f"style {e.style}"] + (
        ["all but romaji"] if e.style != "romaji" else []
    )


def tally(outcomes: Iterable[Outcome]) -> dict[str, list[Outcome]]:
    by: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        for g in groups_of(o.entry):
            by[g].append(o)
    return by


def share(outcomes: Sequence[Outcome], test: Callable[[Outcome], bool] = lambda o: o.right) -> str:
    if not outcomes:
        return f"{'-':>14}"
    return f"{sum(map(test, outcomes)):3d}/{len(outcomes):3d} {sum(map(test, outcomes)) / len(outcomes):6.1%}"


def accuracy_table(text: Sequence[Outcome], trip: Sequence[Outcome], ref_s: float) -> None:
    by_text, by_trip = tally(text), tally(trip)
    order = ["all", "all but romaji", "lang ja", "lang en"]
    order += [f"set {n} (trained on)" for n in TRAINING_SETS] + list(HELD_OUT_SETS.values())
    order += sorted(g for g in by_text if g.startswith("style "))
    print("\n== 3. intent accuracy (fresh Dialogue per utterance)")
    print(f"  {'':22} {'text [>= 95%]':>14}   {'round trip [>= 85%]':>19}   {'language detected':>17}")
    for g in order:
        t, r = by_text.get(g, []), by_trip.get(g, [])
        print(f"  {g:22} {share(t):>14}   {share(r):>19}   {share(r, lambda o: o.lang_right):>17}")
    if trip:
        audio = sum(o.heard.duration_s for o in trip if o.heard)
        rtf = sum(o.asr_s for o in trip) / audio
        print(f"  (round trip: Whisper with language detection, RTF {rtf:.3f}, ÷ ref s {rtf / ref_s:.2f})")


def list_misses(text: Sequence[Outcome], trip: Sequence[Outcome]) -> None:
    """Misses on the entries tuned on, word for word; on the held-out ones only how many, so that
    reading this output cannot tune the matcher on them."""
    for title, outcomes in (("on the text", text), ("after the round trip", trip)):
        missed = [o for o in outcomes if not o.right]
        if not outcomes:
            continue
        hidden = sum(o.entry.held_out for o in missed)
        print(f"\n== misses {title} ({len(missed)}; {hidden} of them held out, not listed)")
        for o in missed:
            if not o.entry.held_out:
                heard = f" → {o.heard.text} ({o.heard.lang})" if o.heard else ""
                where = f"{o.entry.set_no}.{o.entry.index}"
                print(
                    f"  [{where}] {o.entry.text}{heard} → {o.got} (expected {o.entry.expect}) [{o.entry.style}]"
                )


def list_korean(grammar: Rtf, free: Rtf) -> None:
    print("\n== Korean (espeak-ng): said → heard with the grammar | heard free")
    for (said, with_grammar), (_, without) in zip(grammar.heard, free.heard, strict=True):
        print(f"  {said} → {with_grammar or '(nothing)'} | {without or '(nothing)'}")


# -- summary --------------------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: str
    target: str = "-"
    met: bool | None = None


def accuracy(outcomes: Sequence[Outcome]) -> float:
    return sum(o.right for o in outcomes) / len(outcomes) if outcomes else float("nan")


def latency_figure(name: str, values: Sequence[float], target: float | None) -> Figure:
    """Judged on p90: most visitors, not the typical one, must get an answer in time."""
    p90 = percentile(values, 90)
    value = f"p50 {median(values):.2f} s, p90 {p90:.2f} s"
    if target is None:
        return Figure(name, value, "no target")
    return Figure(name, value, f"p90 <= {target} s", p90 <= target)


def accuracy_figure(name: str, outcomes: Sequence[Outcome], target: float | None = None) -> Figure:
    value = f"{accuracy(outcomes):.1%} of {len(outcomes)}"
    if target is None:
        return Figure(name, value)
    return Figure(name, value, f">= {target:.0%}", accuracy(outcomes) >= target)


def held_out(outcomes: Sequence[Outcome], expect: str | None = None) -> list[Outcome]:
    """The held-out set's outcomes, or those of its entries that expect `expect`."""
    return [o for o in outcomes if o.entry.held_out and expect in (None, o.entry.expect)]


def new_wordings(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The held-out set's outcomes less the utterances a tuning set has word for word: blind writers
    write the common questions alike (「トイレはどこですか」), 10–17 % of each set since set 9."""
    tuned = _tuned_texts()
    return [o for o in held_out(outcomes) if o.entry.text not in tuned]


@functools.cache
def _tuned_texts() -> frozenset[str]:
    return frozenset(e.text for e in load_training())


def summary(
    rtfs: dict[str, Rtf],
    turns: Sequence[Turn],
    text: Sequence[Outcome],
    trip: Sequence[Outcome],
    rtf_ref: float,
) -> list[Figure]:
    figures = [Figure(f"RTF {k}", f"{v.rtf:.3f} (÷ ref s: {v.rtf / rtf_ref:.2f})") for k, v in rtfs.items()]
    figures += [
        latency_figure("first audio (filler)", [t.first_audio for t in turns], TARGET_FIRST_AUDIO_S),
        latency_figure("first audio of the answer", [t.first_answer for t in turns], None),
        latency_figure("full answer synthesized", [t.full_answer for t in turns], TARGET_FULL_S),
        # Judged on the held-out set only: the tuning sets are what the matcher was tuned on and the
        # classifier learnt.
        accuracy_figure(f"intent accuracy, text (set {HELD_OUT_SET} held out)", held_out(text), TARGET_TEXT),
        accuracy_figure("  its wordings no tuning set has", new_wordings(text)),
        accuracy_figure(
            f"  trained on (sets 1–{max(TRAINING_SETS)})", [o for o in text if not o.entry.held_out]
        ),
        accuracy_figure(f"  set {HELD_OUT_SET}'s hand-offs handed off", held_out(text, "handoff")),
    ]
    if trip:
        lang = sum(o.lang_right for o in trip) / len(trip)
        figures += [
            accuracy_figure(
                f"intent accuracy, TTS → ASR (set {HELD_OUT_SET} held out)", held_out(trip), TARGET_ROUNDTRIP
            ),
            accuracy_figure("  its wordings no tuning set has", new_wordings(trip)),
            accuracy_figure(f"  set {HELD_OUT_SET}'s hand-offs handed off", held_out(trip, "handoff")),
            Figure("language detected right", f"{lang:.1%}"),
        ]
        trained = [o for o in trip if not o.entry.held_out]
        if trained:  # none with --held-out-only
            figures.insert(-2, accuracy_figure(f"  trained on (sets 1–{max(TRAINING_SETS)})", trained))
    return figures


def print_summary(figures: Sequence[Figure]) -> None:
    print("\n== summary (issue 4 targets)")
    width = max(len(f.name) for f in figures)
    for f in figures:
        met = "" if f.met is None else ("met" if f.met else "MISSED")
        print(f"  {f.name.ljust(width)}  {f.value:38} {f.target:>12}  {met}")


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--limit", type=int, help="round trip on N utterances spread over the set (default: all)"
    )
    parser.add_argument("--skip-roundtrip", action="store_true", help="text accuracy only: skip TTS → ASR")
    parser.add_argument(
        "--held-out-only",
        action="store_true",
        help="round trip on the held-out set only (~8 min instead of ~50; the text is scored on all)",
    )
    parser.add_argument("--latency-n", type=int, default=20, help="questions for the latency (default 20)")
    parser.add_argument(
        "--rtf-n", type=int, default=20, help="Whisper clips per language for the RTF (default 20)"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace, refs: References) -> list[Figure]:
    """The three sections in order, the reference workload sampled within each."""
    models = Models().load()
    show("model load times, s", models.load_s)
    site, knowledge = load_knowledge()
    entries = load_all()
    # Speed and latency on sets 1 and 2 as before sets 3 and 4 existed, so runs stay comparable.
    first_two = [e for e in entries if e.set_no < 3]
    rtfs = measure_rtf(models, first_two, args.rtf_n, refs.ticker("1. RTF"))
    show(
        "1. recognition real-time factor (processing s / audio s)",
        {k: v.row(refs.of("1. RTF")) for k, v in rtfs.items()},
    )
    questions = pick_questions(models, first_two, args.latency_n)
    statuses = live_statuses(knowledge, site.site)
    turns = measure_latency(models, knowledge, statuses, questions, refs.ticker("2. latency"))
    models.speaker.close()  # its worker processes would only compete with the round trip
    show("2. latency from the end of speech (p50 / p90)", latency_rows(turns, refs.of("2. latency")))
    text = text_outcomes(knowledge, entries)
    chosen = [e for e in entries if e.held_out] if args.held_out_only else entries
    chosen = chosen if args.limit is None else spread(chosen, args.limit)
    trip = (
        []
        if args.skip_roundtrip
        else roundtrip_outcomes(models, knowledge, chosen, refs.ticker("3. round trip"))
    )
    accuracy_table(text, trip, refs.of("3. round trip") if trip else float("nan"))
    list_korean(rtfs["Vosk ko, 10-phrase grammar"], rtfs["Vosk ko, free"])
    list_misses(text, trip)
    return summary(rtfs, turns, text, trip, refs.of("1. RTF"))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    given = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"{machine_note()}\ncommand: .venv/bin/python -m bench.speech {given}".rstrip())
    print(f"speech/*.py + demo.yaml + test set: sha256 {code_fingerprint()}")
    refs = References()
    for _ in range(5):
        refs.take("0. start")
    figures = run(args, refs)
    print_summary(figures)
    show("reference workload (384x384 float32 matmul x 200), s", refs.describe())
    print(f"({time.perf_counter() - started:.0f} s in all; {machine_note()})")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
