"""Speech synthesis: Japanese with Open JTalk, English with piper (joe voice), anything else with espeak-ng.

Every voice yields `Audio` at its own native rate (48 kHz, 22.05 kHz, 22.05 kHz); the caller resamples
for its sound card or topic. `sentences()` synthesizes one sentence at a time so playback can start as
soon as the first is ready (measured for a ~4 s first sentence: Open JTalk 0.26 s, piper 0.55 s,
espeak-ng 0.03 s) instead of after the whole answer.
"""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import threading
import wave
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

import numpy as np

from lobby.process import die_with_parent
from speech.audio import Audio, concat
from speech.models import piper_voice_files

log = logging.getLogger(__name__)
T = TypeVar("T")


class TtsError(ValueError):
    """Nothing can be said: empty text, a language no voice speaks, a voice that cannot load."""


class Synthesizer(Protocol):
    def synthesize(self, text: str, lang: str) -> Audio: ...

    def sentences(self, text: str, lang: str) -> Iterator[Audio]: ...


# Split after Japanese terminators anywhere, after ". ! ? ;" only before a space (so "3.5" and "No.3"
# stay whole), and at line breaks.
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=[.;])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _text(text: str) -> str:
    if not text or not text.strip():
        raise TtsError("nothing to say: the text is empty")
    return text.strip()


def _base_lang(lang: str) -> str:
    """'en-US' and 'en_us' → 'en': voices are chosen by language, not region."""
    return lang.replace("_", "-").split("-")[0].lower()


def _require(lang: str, supported: str, voice: str) -> None:
    if _base_lang(lang) != supported:
        raise TtsError(
            f"the {voice} voice speaks '{supported}' only, not '{lang}' — use Speaker to choose by language"
        )


class _BySentence:
    """synthesize() = all sentences joined; subclasses implement _sentence() and set `rate`, `lang`,
    and `_pool` when they synthesize sentences side by side."""

    rate: int
    lang: str
    name: str
    _pool: Executor | None = None

    def sentences(self, text: str, lang: str) -> Iterator[Audio]:
        parts = split_sentences(_text(text))  # validated now, not at the first next()
        _require(lang, self.lang, self.name)
        return (self._sentence(s) for s in parts)

    def synthesize(self, text: str, lang: str) -> Audio:
        return concat(self.sentences(text, lang), self.rate)

    def _sentence(self, text: str) -> Audio:
        raise NotImplementedError

    def close(self) -> None:
        """Stops the workers, if any."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


# --------------------------------------------------------------------------------------------------
# Japanese: pyopenjtalk-plus (dictionary and the mei voice, CC BY 3.0, are inside the wheel)

_JTALK_LOCK = threading.Lock()  # Open JTalk keeps global state in C: one caller at a time


def _side_by_side(
    parts: Sequence[T], here: Callable[[T], Audio], elsewhere: Callable[[T], Future[Audio]]
) -> Iterator[Audio]:
    """Sentences two at a time, in order: the first here while the second is made elsewhere (a
    worker), the rest only once the first is done, so that the first, which the visitor is waiting
    for, has a core to itself."""
    if not parts:
        return
    later = [elsewhere(p) for p in parts[1:2]]
    first = here(parts[0])
    later += [elsewhere(p) for p in parts[2:]]
    yield first
    for future in later:
        yield future.result()


def _jtalk_sentence(text: str, speed: float, half_tone: float) -> Audio:
    import pyopenjtalk

    with _JTALK_LOCK:
        x, rate = pyopenjtalk.tts(text, speed=speed, half_tone=half_tone)
    # pyopenjtalk returns float64 already on the int16 scale (±32768), not [-1, 1].
    return Audio(np.clip(np.rint(x), -32768, 32767).astype(np.int16), int(rate))


def _jtalk_worker(parent: int) -> None:
    """Runs first in each worker process, before it takes any sentence."""
    die_with_parent(parent)  # a worker blocked on its queue would outlive a killed speaker node
    # Ctrl-C reaches the node's whole process group: the node stops its workers itself, without a
    # traceback from each.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _jtalk_sentence("あ", 1.0, 0.0)  # dictionary and voice loaded before the first sentence comes


class OpenJTalkVoice(_BySentence):
    """Open JTalk holds the GIL while it synthesizes, so threads cannot share the work. With
    `workers` > 0 the sentences after the first are synthesized in that many worker processes
    while this one does the first: a 4-sentence answer is ready in about half the time on 2 cores.
    The processes are spawned (not forked: a ROS node has threads) and warmed up at construction."""

    rate, lang, name = 48000, "ja", "Open JTalk"

    def __init__(self, speed: float = 1.0, half_tone: float = 0.0, workers: int = 0) -> None:
        self.speed, self.half_tone = speed, half_tone
        import pyopenjtalk

        with _JTALK_LOCK:
            pyopenjtalk.g2p("あ")  # loads the dictionary now, so a broken install fails at load time
        if workers > 0:
            self._pool = ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_jtalk_worker,
                initargs=(os.getpid(),),
            )
            # One trivial job per worker starts them all; a job's result means its worker is warm.
            for started in [self._pool.submit(os.getpid) for _ in range(workers)]:
                started.result()

    def sentences(self, text: str, lang: str) -> Iterator[Audio]:
        if self._pool is None:
            return super().sentences(text, lang)
        parts = split_sentences(_text(text))
        _require(lang, self.lang, self.name)
        pool = self._pool
        return _side_by_side(
            parts, self._sentence, lambda s: pool.submit(_jtalk_sentence, s, self.speed, self.half_tone)
        )

    def _sentence(self, text: str) -> Audio:
        return _jtalk_sentence(text, self.speed, self.half_tone)


def kana(text: str) -> str:
    """Japanese text as pronunciation katakana (は→ワ): what espeak-ng's 'ja' voice can read."""
    import pyopenjtalk

    with _JTALK_LOCK:
        return str(pyopenjtalk.g2p(text, kana=True))


# --------------------------------------------------------------------------------------------------
# English: piper with the joe voice (CC0), onnxruntime limited to one thread

_PIPER_PHONEMIZER_LOCK = threading.Lock()  # espeak-ng keeps global state in C


class PiperVoice(_BySentence):
    lang, name = "en", "piper joe"

    def __init__(
        self,
        threads: int = 1,
        *,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        workers: int = 0,
    ) -> None:
        """noise_scale / noise_w_scale: the voice's random variation (None = the voice's own settings;
        0 makes the output identical on every run, which reproducible tests and benchmarks want).
        workers > 0: an answer's sentences are synthesized side by side, the first on the calling
        thread, the others in that many threads (onnxruntime lets go of the GIL; espeak-ng's
        phonemizer, which may not, first does all of them in one)."""
        import onnxruntime
        from piper import PiperVoice as _Piper
        from piper.config import PiperConfig, SynthesisConfig

        model, config = piper_voice_files()
        # One thread was faster than two on these 2 cores (0.72 s vs 1.1 s) and leaves a core to Whisper.
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        session = onnxruntime.InferenceSession(
            str(model), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        cfg = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
        self._voice = _Piper(config=cfg, session=session)
        self._settings = SynthesisConfig(noise_scale=noise_scale, noise_w_scale=noise_w_scale)
        self.rate = cfg.sample_rate
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="piper") if workers > 0 else None

    def sentences(self, text: str, lang: str) -> Iterator[Audio]:
        clean = _text(text)
        _require(lang, self.lang, self.name)
        if self._pool is None:
            # piper splits sentences itself and yields one chunk per sentence as soon as it is ready.
            return (
                Audio.from_float(c.audio_float_array, c.sample_rate)
                for c in self._voice.synthesize(clean, self._settings)
            )
        with _PIPER_PHONEMIZER_LOCK:
            phonemized = [p for p in self._voice.phonemize(clean) if p]
        pool = self._pool
        return _side_by_side(phonemized, self._audio_of, lambda p: pool.submit(self._audio_of, p))

    def _audio_of(self, phonemes: list[str]) -> Audio:
        """One sentence, as piper's synthesize() makes it (peak-normalized, clipped)."""
        raw = self._voice.phoneme_ids_to_audio(self._voice.phonemes_to_ids(phonemes), self._settings)
        audio = np.asarray(raw[0] if isinstance(raw, tuple) else raw, dtype=np.float32)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        return Audio.from_float(np.clip(audio / peak if peak > 1e-8 else audio * 0, -1, 1), self.rate)


# --------------------------------------------------------------------------------------------------
# Fallback: espeak-ng (Debian), robotic but it speaks ~100 languages and loads instantly

_ESPEAK_ALIASES = {"en": "en-us", "zh": "cmn", "fr": "fr-fr"}


class EspeakVoice:
    rate = 22050

    def __init__(self, binary: str = "espeak-ng", words_per_minute: int = 150) -> None:
        path = shutil.which(binary)
        if path is None:
            raise TtsError(f"{binary} is not installed — apt-get install espeak-ng")
        self._cmd = [path, "-s", str(words_per_minute), "--stdout"]
        listing = subprocess.run([path, "--voices"], capture_output=True, text=True, check=True).stdout
        self.voices = frozenset(line.split()[1] for line in listing.splitlines()[1:] if line.strip())

    def voice_for(self, lang: str) -> str:
        tag = lang.replace("_", "-").lower()
        base = _base_lang(tag)
        for candidate in (tag, _ESPEAK_ALIASES.get(base, base)):
            if candidate in self.voices:
                return candidate
        regional = sorted(v for v in self.voices if v.startswith(base + "-"))
        if not regional:
            raise TtsError(f"no voice speaks '{lang}' (espeak-ng has none either: see `espeak-ng --voices`)")
        return regional[0]

    def sentences(self, text: str, lang: str) -> Iterator[Audio]:
        parts = split_sentences(_text(text))
        voice = self.voice_for(lang)
        return (self._run(s, voice) for s in parts)

    def synthesize(self, text: str, lang: str) -> Audio:
        return concat(self.sentences(text, lang), self.rate)

    def _run(self, text: str, voice: str) -> Audio:
        if voice == "ja":
            text = kana(text)  # espeak's ja voice reads kanji as "Chinese letter"
        # Text goes in on stdin: never parsed as options, no argv length limit.
        out = subprocess.run([*self._cmd, "-v", voice], input=text.encode(), capture_output=True, check=False)
        if out.returncode != 0:
            raise TtsError(f"espeak-ng failed ({out.stderr.decode(errors='replace').strip()[:200]})")
        with wave.open(io.BytesIO(out.stdout), "rb") as w:  # header length is a placeholder when piped
            return Audio.from_bytes(w.readframes(w.getnframes()), w.getframerate())


# --------------------------------------------------------------------------------------------------
# Speaker: the voice for each language, with espeak-ng standing in for any voice that fails to load

VoiceFactory = Callable[[], Synthesizer]
DEFAULT_VOICES: Mapping[str, VoiceFactory] = {"ja": OpenJTalkVoice, "en": PiperVoice}


class Speaker:
    """Chooses a voice by language (ja → Open JTalk, en → piper, others → espeak-ng) and loads each
    on first use (or in preload()). With fallback=True a voice that fails to load is replaced by
    espeak-ng and the reason is logged: a robot with a robotic voice still guides people."""

    def __init__(
        self,
        fallback: bool = True,
        voices: Mapping[str, VoiceFactory] | None = None,
        espeak: Callable[[], EspeakVoice] = EspeakVoice,
    ) -> None:
        self.fallback = fallback
        self._factories = dict(DEFAULT_VOICES if voices is None else voices)
        self._espeak_factory = espeak
        self._loaded: dict[str, Synthesizer] = {}
        self._espeak: EspeakVoice | None = None
        self._lock = threading.Lock()
        self.failures: dict[str, str] = {}  # language → why its primary voice is not in use

    def preload(self, *langs: str) -> None:
        for lang in langs:
            self.voice(lang)

    def voice(self, lang: str) -> Synthesizer:
        base = _base_lang(lang)
        with self._lock:
            if base not in self._loaded:
                self._loaded[base] = self._load(base)
            return self._loaded[base]

    def _load(self, base: str) -> Synthesizer:
        factory = self._factories.get(base)
        if factory is None:
            return self._espeak_voice()
        try:
            return factory()
        except Exception as e:
            why = f"{type(e).__name__}: {e}"
            if not self.fallback:
                raise TtsError(f"the '{base}' voice failed to load ({why})") from e
            log.warning(
                "the '%s' voice failed to load (%s); speaking %s with espeak-ng instead", base, why, base
            )
            self.failures[base] = why
            return self._espeak_voice()

    def _espeak_voice(self) -> EspeakVoice:
        if self._espeak is None:
            self._espeak = self._espeak_factory()
        return self._espeak

    def synthesize(self, text: str, lang: str) -> Audio:
        clean = _text(text)  # before loading a voice for nothing
        return self.voice(lang).synthesize(clean, lang)

    def sentences(self, text: str, lang: str) -> Iterator[Audio]:
        clean = _text(text)
        return self.voice(lang).sentences(clean, lang)

    def close(self) -> None:
        """Stops the voices' worker processes, if any."""
        for voice in self._loaded.values():
            if isinstance(voice, _BySentence):
                voice.close()

    def describe(self) -> dict[str, Any]:
        """What speaks each loaded language, for diagnostics."""
        return {lang: type(v).__name__ for lang, v in self._loaded.items()} | {
            "failures": dict(self.failures)
        }
