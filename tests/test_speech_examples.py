"""The classifier of labelled examples: asked when no phrase matched, trusted only when sure enough."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from queue_bridge.staff_page import examples_yaml, teach_targets
from queue_bridge.staff_store import TaughtExample
from speech.dialogue import Dialogue
from speech.examples import (
    CLARIFY,
    HANDOFF,
    Example,
    ExampleClassifier,
    ExamplesError,
    examples_of,
    fit_with_site,
    load_examples,
    shipped_classifier,
)
from speech.knowledge import load_knowledge
from tests.support import HIDAMARI, HIDAMARI_QUESTION

SITE, KNOWLEDGE = load_knowledge()
KNOWN = {*KNOWLEDGE.procedures, *KNOWLEDGE.facilities, HANDOFF, CLARIFY}
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


# -- a site's own examples, taught by staff ---------------------------------------------------------


def _site_file(tmp_path: Path, taught: list[tuple[str, str]]) -> Path:
    """The file staff download from the dashboard (the server's own renderer), for the robot."""
    now = datetime.now(UTC)
    examples = [
        TaughtExample(i, text, "ja", target, "otto", now) for i, (text, target) in enumerate(taught, 1)
    ]
    path = tmp_path / "site-examples.yaml"
    path.write_text(examples_yaml(SITE.site, examples, teach_targets(SITE), now), encoding="utf-8")
    return path


def test_a_sites_own_examples_teach_the_robot_what_the_shipped_ones_do_not(tmp_path: Path) -> None:
    new = HIDAMARI_QUESTION
    shipped = Dialogue(KNOWLEDGE, examples=shipped_classifier()).respond(new, "ja")
    assert shipped.procedure != "nursing_care"  # the shipped examples alone send the visitor elsewhere
    fitted = fit_with_site(KNOWN, _site_file(tmp_path, [(t, "nursing_care") for t in HIDAMARI]))
    assert fitted.problem is None and fitted.site_examples == len(HIDAMARI)
    assert fitted.classifier is not shipped_classifier()
    reply = Dialogue(KNOWLEDGE, examples=fitted.classifier).respond(new, "ja")
    assert reply.procedure == "nursing_care" and reply.guessed is not None and "介護保険" in reply.text
    # What the shipped examples knew is still known, and the shipped classifier is unchanged.
    assert Dialogue(KNOWLEDGE, examples=fitted.classifier).respond("今日はいい天気ですね").handoff
    assert shipped_classifier().guess(new).target != "nursing_care"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "cannot read the intent examples"),
        ("examples: [just, a, list]\n", "mapping each intent id"),
        ("examples: {restroom: [unclosed\n", "cannot read the intent examples"),
        ("examples:\n  parking_lot: [where do I park]\n  restroom: [loo]\n", "does not have: parking_lot"),
    ],
    ids=["missing", "not-a-mapping", "not-yaml", "unknown-id"],
)
def test_a_site_examples_file_that_cannot_be_used_leaves_the_shipped_classifier(
    tmp_path: Path, content: str | None, why: str
) -> None:
    path = tmp_path / "site-examples.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    fitted = fit_with_site(KNOWN, path)
    assert fitted.classifier is shipped_classifier()  # the robot goes on answering as before
    assert fitted.site_examples == 0
    assert fitted.problem is not None and why in fitted.problem and str(path) in fitted.problem
    assert "\n" not in fitted.problem  # one line for the log


def test_taught_examples_as_they_come_from_the_server_are_learnt_like_the_file() -> None:
    """The dialogue node learns what the server sends (speech/nodes.py) without any file."""
    sent = {"nursing_care": HIDAMARI, HANDOFF: ["駐輪場の定期券を買いたい"]}
    fitted = fit_with_site(KNOWN, examples_of(sent))
    assert fitted.problem is None and fitted.site_examples == len(HIDAMARI) + 1
    assert fitted.classifier.guess(HIDAMARI_QUESTION).target == "nursing_care"
    refused = fit_with_site(KNOWN, examples_of({"parking_lot": ["where do I park"]}))
    assert refused.classifier is shipped_classifier() and refused.site_examples == 0
    assert refused.problem == (
        "the taught examples: intent ids this site does not have: parking_lot; using the shipped examples alone"
    )
    assert fit_with_site(KNOWN, []).classifier is shipped_classifier()  # all removed: the shipped ones


def test_no_site_examples_or_an_empty_download_is_the_shipped_classifier(tmp_path: Path) -> None:
    assert fit_with_site(KNOWN).classifier is shipped_classifier()
    empty = fit_with_site(KNOWN, _site_file(tmp_path, []))
    assert empty.classifier is shipped_classifier() and empty.problem is None and empty.site_examples == 0
    # Shipped examples that cannot be read are an error for the caller, as they were.
    with pytest.raises(ExamplesError):
        fit_with_site(KNOWN, None, tmp_path / "missing.yaml")
