"""The classifier of labelled examples: asked when no phrase matched, trusted only when sure enough."""

from __future__ import annotations

from pathlib import Path

import pytest

from speech.dialogue import Dialogue
from speech.examples import (
    CLARIFY,
    HANDOFF,
    Example,
    ExampleClassifier,
    ExamplesError,
    load_examples,
    shipped_classifier,
)
from speech.knowledge import load_knowledge

_, KNOWLEDGE = load_knowledge()
SMALL = [
    Example("my mother passed away last week", "death"),
    Example("my father died yesterday", "death"),
    Example("母が亡くなりました", "death"),
    Example("we just had a baby girl", "birth"),
    Example("子どもが生まれました", "birth"),
    Example("a baby was born yesterday", "birth"),
    Example("where can I get a fishing licence", HANDOFF),
    Example("is the canteen open today", HANDOFF),
    Example("the garbage was not collected", HANDOFF),
]


def test_a_paraphrase_is_placed_with_the_examples_it_resembles() -> None:
    classifier = ExampleClassifier(SMALL)
    guess = classifier.place("my grandfather passed away", {"death", "birth"})
    assert guess is not None and guess.target == "death"
    assert classifier.guess("赤ちゃんが生まれたんです").target == "birth"


def test_a_hand_off_or_an_unknown_place_is_no_answer() -> None:
    classifier = ExampleClassifier(SMALL)
    assert classifier.guess("is the garbage collected on mondays").target == HANDOFF
    assert classifier.place("is the garbage collected on mondays", {"death", "birth"}) is None
    # A place the site does not have is not offered, however likely.
    assert classifier.place("my mother passed away", {"birth"}) is None


def test_broken_examples_files_say_what_is_wrong(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(ExamplesError, match="cannot read the intent examples"):
        load_examples(missing)
    flat = tmp_path / "flat.yaml"
    flat.write_text("examples: [just, a, list]\n", encoding="utf-8")
    with pytest.raises(ExamplesError, match="mapping each intent id"):
        load_examples(flat)
    with pytest.raises(ExamplesError, match="two different intents"):
        ExampleClassifier([Example("hello", HANDOFF)])


def test_the_shipped_examples_name_only_intents_the_robot_knows() -> None:
    examples = load_examples()
    known = {*KNOWLEDGE.procedures, *KNOWLEDGE.facilities, HANDOFF, CLARIFY}
    assert {e.target for e in examples} <= known
    assert {e.target for e in examples} >= set(KNOWLEDGE.procedures)  # every procedure is taught
    assert len(examples) >= 1000


def test_the_dialogue_asks_the_examples_only_when_no_phrase_matched() -> None:
    # No phrase of the knowledge base is in this sentence (Kansai dialect, names nothing).
    indirect = "うちの子ら二人おるんやけど、なんか市から振り込まれるって聞いてんけど"
    assert Dialogue(KNOWLEDGE, examples=None).respond(indirect, "ja").handoff
    reply = Dialogue(KNOWLEDGE).respond(indirect, "ja")
    assert reply.procedure == "child_allowance" and "窓口までご案内しましょうか" in reply.text
    assert reply.guessed is not None and 0.3 <= reply.guessed <= 1  # said, for staff to check
    # A phrase that matched wins, and a matter for staff stays with staff.
    named = Dialogue(KNOWLEDGE).respond("住民票をください", "ja")
    assert named.procedure == "resident_certificate" and named.guessed is None
    assert Dialogue(KNOWLEDGE).respond("駐車券をお願いします", "ja").handoff


@pytest.mark.parametrize(
    "text",
    [
        "今日はいい天気ですね",
        "What time does the cafeteria open?",
        "ロボットさん、お名前は？",
        "The vending machine ate my coins",  # p 0.22 for moving-out: below MIN_PROBABILITY
        "I'm just waiting for my wife",  # p 0.22 for birth
        "コピー機はありますか",
    ],
)
def test_remarks_that_are_no_counters_business_are_still_handed_off(text: str) -> None:
    assert Dialogue(KNOWLEDGE, examples=shipped_classifier()).respond(text).handoff
