"""speech.tts: every voice really speaks, sentence by sentence, and Speaker falls back to espeak-ng."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import numpy as np
import pytest

from speech.audio import Audio
from speech.tts import (
    EspeakVoice,
    OpenJTalkVoice,
    PiperVoice,
    Speaker,
    Synthesizer,
    TtsError,
    kana,
    split_sentences,
)


@pytest.fixture(scope="module")
def jtalk() -> OpenJTalkVoice:
    return OpenJTalkVoice()


@pytest.fixture(scope="module")
def piper() -> PiperVoice:
    return PiperVoice()


@pytest.fixture(scope="module")
def espeak() -> EspeakVoice:
    return EspeakVoice()


@pytest.fixture(scope="module")
def speaker(jtalk: OpenJTalkVoice, piper: PiperVoice, espeak: EspeakVoice) -> Speaker:
    """The real voices, loaded once for the module and shared with the single-voice tests."""
    return Speaker(voices={"ja": lambda: jtalk, "en": lambda: piper}, espeak=lambda: espeak)


def _assert_speech(audio: Audio, rate: int, min_s: float, max_s: float) -> None:
    assert audio.rate == rate
    assert min_s < audio.duration_s < max_s, audio.duration_s
    assert audio.rms_dbfs() > -35  # a voice, not silence or a click


def test_open_jtalk_speaks_japanese_at_48khz(jtalk: OpenJTalkVoice) -> None:
    _assert_speech(jtalk.synthesize("住民票の写しがほしいです", "ja"), 48000, 1.2, 5.0)


def test_open_jtalk_worker_processes_give_the_same_sentences_in_order(jtalk: OpenJTalkVoice) -> None:
    text = "住民票の写しですね。1階、市民課です。ただいま3人待ちです。本人確認書類をお持ちください。"
    pooled = OpenJTalkVoice(workers=2)
    try:
        together = list(pooled.sentences(text, "ja"))
        alone = list(jtalk.sentences(text, "ja"))
        assert len(together) == len(alone) == 4
        for a, b in zip(together, alone, strict=True):
            assert a.rate == b.rate and np.array_equal(a.samples, b.samples)  # Open JTalk is deterministic
        with pytest.raises(TtsError):
            pooled.sentences(text, "en")
    finally:
        pooled.close()


def test_open_jtalk_workers_die_with_a_killed_parent() -> None:
    script = (
        "import time; from speech.tts import OpenJTalkVoice; v = OpenJTalkVoice(workers=2); "
        "print(*v._pool._processes, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    parent.kill()  # as a robot is killed: no chance to shut its pool down
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers), "a worker outlived its speaker"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_piper_in_threads_gives_the_same_sentences_in_order() -> None:
    text = "Residence certificate, right? Please go to the Citizens Section. Please bring your ID card."
    alone = PiperVoice(noise_scale=0.0, noise_w_scale=0.0)
    pooled = PiperVoice(noise_scale=0.0, noise_w_scale=0.0, workers=2)
    try:
        together, one_by_one = list(pooled.sentences(text, "en")), list(alone.sentences(text, "en"))
        assert len(together) == len(one_by_one) == 3
        for a, b in zip(together, one_by_one, strict=True):
            assert a.rate == b.rate and np.array_equal(a.samples, b.samples)
    finally:
        pooled.close()


def test_piper_speaks_english_at_22khz(piper: PiperVoice) -> None:
    _assert_speech(piper.synthesize("Where do I get a residence certificate?", "en-US"), 22050, 1.2, 5.0)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ko", "주민등록등본 발급 받고 싶어요"),
        ("en", "Where is the restroom?"),
        ("fr", "Où sont les toilettes ?"),
    ],
)
def test_espeak_speaks_any_language_it_knows(espeak: EspeakVoice, lang: str, text: str) -> None:
    _assert_speech(espeak.synthesize(text, lang), 22050, 0.8, 6.0)


def test_espeak_reads_japanese_through_kana(espeak: EspeakVoice) -> None:
    assert kana("住民票") == "ジューミンヒョー"
    # Kanji alone would be read letter by letter as "Chinese letter": far longer than the phrase.
    audio = espeak.synthesize("住民票の写しがほしいです", "ja")
    _assert_speech(audio, 22050, 1.0, 4.0)


def test_split_sentences() -> None:
    assert split_sentences("転入届は1階です。待ち時間は約15分です！") == [
        "転入届は1階です。",
        "待ち時間は約15分です！",
    ]
    # A decimal point is not a sentence end: only ". " is.
    assert split_sentences("Counter 3.5 is open. Please wait!\nThanks") == [
        "Counter 3.5 is open.",
        "Please wait!",
        "Thanks",
    ]
    assert split_sentences("  ") == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_sentences_come_one_at_a_time(speaker: Speaker, lang: str) -> None:
    text = {
        "ja": "転入届は1階の市民課です。現在の待ち時間は約15分です。",
        "en": "The Citizens Section is on the first floor. The wait is about fifteen minutes.",
    }[lang]
    parts = speaker.sentences(text, lang)
    first = next(parts)  # ready before the second sentence is synthesized
    rest = list(parts)
    assert len(rest) == 1
    whole = speaker.synthesize(text, lang)
    assert whole.rate == first.rate
    assert whole.duration_s == pytest.approx(first.duration_s + rest[0].duration_s, abs=0.35)


def test_speaker_chooses_the_voice_by_language(speaker: Speaker) -> None:
    assert isinstance(speaker.voice("ja"), OpenJTalkVoice)
    assert isinstance(speaker.voice("en-GB"), PiperVoice)
    assert isinstance(speaker.voice("ko"), EspeakVoice)
    assert speaker.synthesize("안녕하세요", "ko").rate == 22050


def test_default_speaker_loads_the_real_voices() -> None:
    speaker = Speaker()
    speaker.preload("ja", "en")
    assert speaker.describe() == {"ja": "OpenJTalkVoice", "en": "PiperVoice", "failures": {}}


def test_speaker_falls_back_to_espeak_when_a_voice_fails_to_load(
    espeak: EspeakVoice, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Synthesizer:
        raise FileNotFoundError("mei_normal.htsvoice")

    speaker = Speaker(voices={"ja": broken}, espeak=lambda: espeak)
    with caplog.at_level(logging.WARNING, logger="speech.tts"):
        audio = speaker.synthesize("住民票の写しがほしいです", "ja")
    _assert_speech(audio, 22050, 1.0, 4.0)  # espeak-ng's rate: the fallback really spoke
    assert "mei_normal.htsvoice" in speaker.failures["ja"]
    assert any(
        "espeak-ng instead" in r.getMessage() and "mei_normal" in r.getMessage() for r in caplog.records
    )

    strict = Speaker(fallback=False, voices={"ja": broken}, espeak=lambda: espeak)
    with pytest.raises(TtsError, match=r"'ja' voice failed to load .*mei_normal"):
        strict.synthesize("住民票", "ja")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_an_error(speaker: Speaker, text: str) -> None:
    for lang in ("ja", "en", "ko"):
        with pytest.raises(TtsError, match="empty"):
            speaker.synthesize(text, lang)
        with pytest.raises(TtsError, match="empty"):
            speaker.sentences(text, lang)  # at the call, not at the first next()


def test_unknown_or_wrong_language_is_an_error(
    speaker: Speaker, jtalk: OpenJTalkVoice, piper: PiperVoice
) -> None:
    with pytest.raises(TtsError, match="no voice speaks 'xx'"):
        speaker.synthesize("hello", "xx")
    with pytest.raises(TtsError, match="speaks 'ja' only"):
        jtalk.synthesize("hello", "en")
    with pytest.raises(TtsError, match="speaks 'en' only"):
        piper.sentences("こんにちは", "ja")
