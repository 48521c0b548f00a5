"""The conversation: counter, floor, the live wait from the bridge's status, documents; one
clarifying question; escort offers; polite hand-offs. Plain data in and out, no ROS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lobby.schema import QueueStatus, WaitEstimate
from speech.dialogue import Dialogue, spoken_wait
from speech.knowledge import load_knowledge

_, KNOWLEDGE = load_knowledge()


def status(
    queue: str, waiting: int, lower_min: float | None = None, upper_min: float | None = None
) -> QueueStatus:
    estimate = None
    if lower_min is not None and upper_min is not None:
        estimate = WaitEstimate(
            point_s=(lower_min + upper_min) * 30,
            lower_s=lower_min * 60,
            upper_s=upper_min * 60,
            method="test",
        )
    return QueueStatus(
        site="demo", queue=queue, waiting=waiting, now_calling=[], open_windows=["W3"], estimate=estimate,
        updated_at=datetime(2026, 4, 6, 10, 0, tzinfo=UTC),
    )  # fmt: skip


def test_the_answer_names_counter_floor_live_wait_and_documents() -> None:
    reply = Dialogue(KNOWLEDGE).respond(
        "大阪から引っ越してきたんですけど", statuses={"B": status("B", 5, 25, 40)}
    )
    assert reply.procedure == "moving_in" and reply.destination == "counter_shimin" and reply.lang == "ja"
    assert "1階" in reply.text and "3番・4番窓口" in reply.text
    assert "5人待ち" in reply.text and "25分から40分" in reply.text and "転出証明書" in reply.text
    assert reply.text.endswith("ご案内しましょうか。") and reply.offer_escort


def test_english_answers_in_english_with_the_same_live_wait() -> None:
    reply = Dialogue(KNOWLEDGE).respond(
        "I need a residence certificate", statuses={"A": status("A", 1, 0, 9)}
    )
    assert reply.lang == "en" and reply.procedure == "resident_certificate"
    assert "1st floor" in reply.text and "1 person is waiting, under 10 minutes" in reply.text


def test_an_answer_names_the_counter_of_the_procedure_that_usually_follows() -> None:
    birth = Dialogue(KNOWLEDGE).respond("出生届を出しに来ました")
    assert birth.procedure == "birth" and "あわせて、児童手当は2階、子育て支援課の9番窓口です。" in birth.text
    assert birth.text.endswith("窓口までご案内しましょうか。")  # the escort is still to the birth's counter
    assert birth.destination == "counter_koseki"
    english = Dialogue(KNOWLEDGE).respond("I want to register a birth", "en").text
    assert (
        "For the child allowance, please also visit the Child Support Division, window 9 on the 2nd floor."
        in english
    )
    assert "あわせて" not in Dialogue(KNOWLEDGE).respond("住民票をください").text  # only where the site says
    death = Dialogue(KNOWLEDGE).respond("父が亡くなりました").text  # `also:` a list: each counter, in order
    assert death.index("あわせて、国民健康保険は2階") < death.index("あわせて、国民年金は2階")


@pytest.mark.parametrize(
    "said",
    ["赤ちゃんが生まれたので、手続きをしたいんですけど", "We just had a baby. What paperwork do we need?"],
)
def test_a_birth_is_answered_with_the_allowance_not_asked_about(said: str) -> None:
    # docs/conversation.md, convention 6: the answer covers both counters, so there is nothing to ask.
    reply = Dialogue(KNOWLEDGE).respond(said)
    assert reply.procedure == "birth" and not reply.clarify
    assert "児童手当" in reply.text or "child allowance" in reply.text
    assert Dialogue(KNOWLEDGE).respond("子どもの手続きってどこ？").clarify == ("birth", "child_allowance")


def test_the_wait_is_spoken_as_people_read_it() -> None:
    assert spoken_wait("ja", None) == ""  # no live status: say nothing rather than guess
    assert spoken_wait("ja", status("B", 0)) == "今はお待ちの方はいません。"
    assert (
        spoken_wait("ja", status("B", 3)) == "ただいま3人お待ちです。"
    )  # no estimate, e.g. all windows closed
    assert spoken_wait("en", status("B", 4, 12, 31)) == "4 people are waiting, about 10 to 35 minutes."


def test_one_clarifying_question_then_the_answer_or_a_hand_off() -> None:
    dialogue = Dialogue(KNOWLEDGE)
    question = dialogue.respond("引っ越しました")
    assert question.clarify == ("moving_in", "moving_within", "moving_out") and "市外から" in question.text
    assert dialogue.respond("市内での引っ越しです").procedure == "moving_within"
    unsure = Dialogue(KNOWLEDGE)
    unsure.respond("I moved")
    assert unsure.respond("well, it's complicated").handoff  # one question only: then a person helps


def test_accepting_the_escort_walks_to_the_counter_and_declining_ends_politely() -> None:
    dialogue = Dialogue(KNOWLEDGE)
    dialogue.respond("トイレはどこですか")
    walk = dialogue.respond("はい、お願いします")
    assert walk.escort and walk.destination == "restroom" and walk.procedure is None
    dialogue.respond("Where do I get my My Number card?")
    assert not dialogue.respond("no thanks").escort


def test_what_the_robot_cannot_answer_is_handed_to_staff_politely() -> None:
    reply = Dialogue(KNOWLEDGE).respond("犬の登録をしたいです")
    assert reply.handoff and reply.procedure is None and reply.destination is None
    assert "申し訳ありません" in reply.text and "1階の総合案内" in reply.text and reply.text.endswith("。")


def test_the_next_best_hypothesis_is_tried_only_when_nothing_definite_was_understood() -> None:
    # "…届けを出したい" alone would be a question (which notification?); the next-best names it.
    misheard = Dialogue(KNOWLEDGE).respond(
        "てんてんとどけをだしたい", "ja", alternatives=["転居届を出したい"]
    )
    assert misheard.procedure == "moving_within"
    # What was heard names something (here a matter for staff): the alternatives are not consulted.
    kept = Dialogue(KNOWLEDGE).respond("駐車券をお願いします", "ja", alternatives=["住民票をお願いします"])
    assert kept.handoff and kept.procedure is None
    # No alternative is any better: the question is asked.
    unsure = Dialogue(KNOWLEDGE).respond("てんてんとどけをだしたい", "ja", alternatives=["天気はどうですか"])
    assert set(unsure.clarify) == {"moving_in", "moving_out", "moving_within", "birth", "death", "marriage"}
    nothing = Dialogue(KNOWLEDGE).respond("てんきはどうですか", "ja", alternatives=["天気はどうですか"])
    assert nothing.handoff
