"""Spoken questions end to end without ROS: our own voices speak, Whisper listens, the dialogue
understands — in Japanese and English."""

from __future__ import annotations

import pytest

from speech.asr import WhisperRecognizer
from speech.audio import Audio, concat
from speech.dialogue import Dialogue
from speech.knowledge import load_knowledge
from speech.tts import Speaker

_, KNOWLEDGE = load_knowledge()


@pytest.fixture(scope="module")
def whisper() -> WhisperRecognizer:
    return WhisperRecognizer()


@pytest.fixture(scope="module")
def speaker() -> Speaker:
    return Speaker(fallback=False)  # the real voices, or the test fails


@pytest.mark.parametrize(
    ("question", "lang", "procedure", "destination"),
    [
        ("印鑑登録をしたいのですが", "ja", "seal_registration", "counter_shimin"),
        ("マイナンバーカードを受け取りに来ました", "ja", "my_number_card", "counter_mynumber"),
        ("I would like to get a residence certificate.", "en", "resident_certificate", "counter_shimin"),
        ("Where is the elevator?", "en", None, "elevator"),
    ],
)
def test_a_spoken_question_is_understood(
    whisper: WhisperRecognizer,
    speaker: Speaker,
    question: str,
    lang: str,
    procedure: str | None,
    destination: str,
) -> None:
    spoken = concat(
        [Audio.silence(0.3), speaker.synthesize(question, lang).resampled(16000), Audio.silence(0.3)]
    )
    heard = whisper.transcribe(spoken)  # language detected, not given
    assert heard.lang == lang, heard
    reply = Dialogue(KNOWLEDGE).respond(heard.text, heard.lang)
    assert (reply.procedure, reply.destination) == (procedure, destination), (heard.text, reply)
    assert reply.lang == lang and not reply.handoff
