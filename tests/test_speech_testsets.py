"""The intent test sets bench/speech.py scores: well-formed, labelled with ids the robot knows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.speech import HELD_OUT_PATH, TRAINING_SETS
from speech.knowledge import load_knowledge

BENCH = Path(__file__).resolve().parents[1] / "bench"
SETS = [*TRAINING_SETS.values(), HELD_OUT_PATH]  # what bench/speech.py scores
STYLES = {
    "polite", "casual", "kana", "romaji", "asr_error", "english_plain", "english_polite",
    "english_nonnative", "mixed", "indirect",
}  # fmt: skip


def test_every_test_set_file_is_scored() -> None:
    assert sorted(BENCH.glob("speech_utterances*.yaml")) == sorted(SETS)


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_a_test_set_is_well_formed_and_uses_known_ids(path: Path) -> None:
    name = path.name
    _, knowledge = load_knowledge()
    procedures, facilities = set(knowledge.procedures), set(knowledge.facilities)
    entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))["utterances"]
    assert len(entries) >= (100 if "offtopic" in name else 150)  # the minimum for an intent set
    if "offtopic" in name:
        assert {e["expect"] for e in entries} == {"handoff"}, "off-topic remarks are all hand-offs"
    for e in entries:
        where = f"{name}: {e.get('text')!r}"
        assert isinstance(e["text"], str) and e["text"].strip(), where
        assert e["lang"] in ("ja", "en"), where
        assert e["style"] in STYLES, where
        assert e["expect"] in procedures | facilities | {"handoff", "clarify"}, where
        if e["expect"] == "clarify":
            assert len(e["candidates"]) >= 2 and set(e["candidates"]) <= procedures, where
        else:
            assert not e.get("candidates"), where
    assert len({e["text"] for e in entries}) == len(entries), f"{name}: an utterance is there twice"
