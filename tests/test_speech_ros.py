"""The speech pipeline over real ROS 2 (DDS on loopback): a WAV question goes into the listener
node, the dialogue node answers on /speech/say with the live wait from /queue/status."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
from std_msgs.msg import Bool, String  # noqa: E402

from lobby.schema import QueueStatus, WaitEstimate  # noqa: E402
from speech.audio import Audio, concat, write_wav  # noqa: E402
from speech.nodes import LATCHED, RELIABLE  # noqa: E402
from speech.tts import OpenJTalkVoice  # noqa: E402
from tests.ros_support import spin_until, start_node, stop  # noqa: E402


def question_wav(path: Path, text: str) -> Path:
    speech = OpenJTalkVoice().synthesize(text, "ja").resampled(16000)
    write_wav(path, concat([Audio.silence(0.8), speech, Audio.silence(1.2)]))
    return path


def test_a_listener_given_a_wait_out_of_range_says_so_in_one_line_and_stops(
    ros_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "listener.log"
    listener = start_node(ros_env, "speech.nodes", "listener", "end_silence_ms:=50", log=log)
    try:
        assert listener.wait(timeout=60) == 1
    finally:
        stop(listener)
    lines = log.read_text(errors="replace").strip().splitlines()
    assert lines == ["speech.nodes: error: end_silence_ms must be 150-3000 ms, not 50: it is the silence that "
                     "ends a visitor's turn (600 keeps Japanese sentences whole; bench/end_silence.py)"]  # fmt: skip


def test_a_spoken_question_is_answered_on_speech_say_with_the_live_wait(
    ros_env: dict[str, str], tmp_path: Path
) -> None:
    wav = question_wav(tmp_path / "question.wav", "住民票がほしいです")
    node = rclpy.create_node("test_visitor")
    said: list[str] = []
    intents: list[str] = []
    node.create_subscription(String, "/speech/say", lambda m: said.append(m.data), RELIABLE)
    node.create_subscription(String, "/dialogue/intent", lambda m: intents.append(m.data), RELIABLE)
    status_pub = node.create_publisher(String, "/queue/status", LATCHED)
    status = QueueStatus(
        site="demo", queue="A", waiting=3, now_calling=[], open_windows=["W1", "W2"],
        estimate=WaitEstimate(point_s=900, lower_s=600, upper_s=1200, method="simulation_v1"),
        updated_at=datetime.now(UTC),
    )  # fmt: skip
    status_pub.publish(String(data=status.model_dump_json()))
    status_pub.publish(String(data="{not json"))  # malformed: counted and ignored, nothing breaks
    unanswered = tmp_path / "unanswered.jsonl"
    dialogue = start_node(
        ros_env, "speech.nodes", "dialogue", f"unanswered_log:={unanswered}", log=tmp_path / "dialogue.log"
    )
    listener = None
    try:
        spin_until(node, lambda: node.count_publishers("/speech/say") > 0, 60, "the dialogue node")
        listener = start_node(
            ros_env, "speech.nodes", "listener", f"source:=wav:{wav}", log=tmp_path / "listener.log"
        )
        # Two topics, two subscriptions: either message may be taken first.
        spin_until(
            node,
            lambda: len(said) >= 2 and bool(intents),
            120,
            "an answer on /speech/say and /dialogue/intent",
        )
    finally:
        for proc in (listener, dialogue):
            if proc is not None:
                stop(proc)
        node.destroy_node()
    # The listener acknowledges the moment the visitor stops, before the words are recognized.
    assert json.loads(said[0]) == {"version": 1, "text": "はい。", "lang": "ja"}
    answer = json.loads(said[1])
    assert answer["lang"] == "ja" and "住民票の写しですね" in answer["text"]
    assert "1階" in answer["text"] and "1番から3番窓口" in answer["text"]
    assert "3人待ち" in answer["text"] and "10分から20分ほど" in answer["text"]
    intent = json.loads(intents[0])
    assert intent["procedure"] == "resident_certificate" and intent["destination"] == "counter_shimin"
    assert "住民票" in intent["text"] and not intent["handoff"]
    assert "rejected payload" in (tmp_path / "dialogue.log").read_text()
    assert not unanswered.exists()  # answered: nothing for staff to follow up


def test_the_speaker_says_the_answer_and_reports_when_it_speaks(
    ros_env: dict[str, str], tmp_path: Path
) -> None:
    node = rclpy.create_node("test_dialogue")
    speaking: list[bool] = []
    node.create_subscription(Bool, "/speech/speaking", lambda m: speaking.append(bool(m.data)), RELIABLE)
    say = node.create_publisher(String, "/speech/say", RELIABLE)
    speaker = start_node(ros_env, "speech.nodes", "speaker", log=tmp_path / "speaker.log")
    try:
        spin_until(node, lambda: say.get_subscription_count() > 0, 60, "the speaker node")
        say.publish(String(data=json.dumps({"version": 1, "text": "はい。", "lang": "ja"})))
        say.publish(String(data=json.dumps({"version": 1, "text": "窓口までご案内します。", "lang": "ja"})))
        say.publish(String(data="{not a request"))  # rejected with a log line; the voice goes on
        # One request after the other, never overlapping: true, false for each.
        spin_until(node, lambda: speaking == [True, False, True, False], 60, "two requests, spoken in turn")
    finally:
        stop(speaker)
        node.destroy_node()


def _transcript(text: str) -> String:
    return String(data=json.dumps({"text": text, "lang": "en", "duration_s": 2.0, "backend": "whisper"}))


@pytest.mark.parametrize("usable", [True, False])
def test_the_dialogue_node_learns_from_an_operators_examples_or_goes_on_without(
    ros_env: dict[str, str], tmp_path: Path, usable: bool
) -> None:
    examples = tmp_path / "examples.yaml"
    examples.write_text(
        "examples:\n  information_desk: [the vending machine ate my coins, the machine took my money]\n"
        "  handoff: [is the cafeteria open, where can I park]\n"
        if usable
        else "examples: [not, a, mapping]\n",
        encoding="utf-8",
    )
    node = rclpy.create_node("test_operator")
    intents: list[dict[str, object]] = []
    node.create_subscription(
        String, "/dialogue/intent", lambda m: intents.append(json.loads(m.data)), RELIABLE
    )
    heard = node.create_publisher(String, "/speech/transcript", RELIABLE)
    log, unanswered = tmp_path / "dialogue.log", tmp_path / "unanswered.jsonl"
    dialogue = start_node(
        ros_env,
        "speech.nodes",
        "dialogue",
        f"examples_file:={examples}",
        f"unanswered_log:={unanswered}",
        log=log,
    )
    try:
        spin_until(node, lambda: heard.get_subscription_count() > 0, 60, "the dialogue node")
        # The examples are fitted in the background; the node says when it is done or why it gave up.
        done = "intent examples ready" if usable else "phrases alone"
        spin_until(node, lambda: log.exists() and done in log.read_text(errors="replace"), 60, "the examples")
        heard.publish(_transcript("The vending machine ate my coins"))
        spin_until(node, lambda: len(intents) >= 1, 60, "the first answer")
        heard.publish(_transcript("Where is the restroom?"))  # a phrase: no examples needed
        spin_until(node, lambda: len(intents) >= 2, 60, "the second answer")
    finally:
        stop(dialogue)
        node.destroy_node()
    logged = [json.loads(line) for line in unanswered.read_text(encoding="utf-8").splitlines()]
    if usable:  # answered from the examples: published and logged as a guess for staff to check
        assert intents[0]["destination"] == "information_desk" and not intents[0]["handoff"]
        assert isinstance(intents[0]["guessed"], float) and logged[0]["guess"] == "information_desk"
    else:
        assert intents[0]["handoff"] and "phrases alone" in log.read_text()
        assert "guess" not in logged[0]
    assert logged[0]["text"] == "The vending machine ate my coins" and len(logged) == 1
    assert intents[1]["destination"] == "restroom" and intents[1]["guessed"] is None
