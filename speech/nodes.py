"""The speech pipeline's ROS 2 nodes: thin shells that carry data to the core and back.

    audio (mic | WAV | /audio/raw) → listener → /speech/transcript → dialogue → /speech/say → speaker
                                        ↑ muted while /speech/speaking        ↑ /queue/status

- `listener`: an `AudioSource`, the `Endpointer` and a `Recognizer`; publishes what was heard.
- `dialogue`: `Dialogue` with the latest `/queue/status` per queue; publishes `/dialogue/intent`
  and the answer on `/speech/say`; appends questions it had to hand off (text only) to a log;
  learns the site's taught examples from `/dialogue/site_examples` as they come.
- `speaker`: a `Speaker` and an `AudioSink`; publishes `/speech/speaking` around each answer.

Payloads are the versioned JSON of `lobby/schema.py` in std_msgs/String. Run one with
`python -m speech.nodes listener --ros-args -p source:=wav:question.wav` (parameters below).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Bool, Int16MultiArray, String

from lobby.ros import run_node
from lobby.schema import (
    DialogueIntent,
    PayloadError,
    QueueStatus,
    SayRequest,
    SiteExamples,
    SpeechTranscript,
    parse_payload,
)
from speech.asr import Transcript
from speech.audio import Audio, AudioSource, MicrophoneSource, PushSource, WavFileSource
from speech.dialogue import FILLER, Dialogue
from speech.early import EarlyRecognizer
from speech.examples import (
    CLARIFY,
    EXAMPLES,
    HANDOFF,
    Example,
    ExampleClassifier,
    ExamplesError,
    examples_of,
    fit_with_site,
)
from speech.models import ModelError
from speech.vad import END_SILENCE_MS, Endpointer, Utterance

log = logging.getLogger(__name__)

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
#: Late joiners still get the latest status of every queue (as the retained MQTT message does).
LATCHED = QoSProfile(
    depth=50, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
LEARNING_NICENESS = 10  # for the thread that fits the intent examples (Linux: per thread)
NEW_VISITOR_AFTER_S = 60.0  # silence this long: the next words are a new conversation
FILLER_MIN_SPEECH_S = 0.6  # shorter sounds (a cough, a door) get no "はい。"
P = TypeVar("P", QueueStatus, SpeechTranscript, SiteExamples)


def _string(payload: Any) -> String:
    return String(data=payload.model_dump_json())


class ListenerNode(Node):
    """Audio in, `/speech/transcript` out. The source is read on its own thread."""

    def __init__(self) -> None:
        super().__init__("speech_listener")
        source = str(self.declare_parameter("source", "mic").value)  # mic | wav:PATH | topic
        backend = str(self.declare_parameter("backend", "whisper").value)
        lang = str(self.declare_parameter("lang", "auto").value)
        self.lang = None if lang == "auto" else lang
        # The silence that ends a turn: 600 ms keeps Japanese sentences whole; shorter answers sooner
        # but cuts more visitors off at a pause (bench/end_silence.py). Checked before the model loads.
        wait_ms = int(self.declare_parameter("end_silence_ms", END_SILENCE_MS).value)
        self.endpointer = Endpointer(end_silence_ms=wait_ms)
        from speech.asr import make_recognizer  # the model loads here, before any audio arrives

        self.backend = backend
        self.recognizer = make_recognizer(backend)
        # Recognition starts at a 240 ms pause; the endpoint then usually finds it done.
        self.early: EarlyRecognizer[Transcript] = EarlyRecognizer(
            lambda audio, hook: self.recognizer.transcribe(audio, self.lang, on_language=hook)
        )
        self.filler = bool(self.declare_parameter("filler", True).value)
        self.last_lang = "ja"  # the filler's language when the early guess has not detected one
        self.transcripts = self.create_publisher(String, "/speech/transcript", RELIABLE)
        self.say = self.create_publisher(String, "/speech/say", RELIABLE)
        self.create_subscription(Bool, "/speech/speaking", self._on_speaking, RELIABLE)
        self.source = self._open(source)
        self._thread = threading.Thread(target=self._listen, name="listener", daemon=True)
        self._thread.start()

    def _open(self, source: str) -> AudioSource:
        if source.startswith("wav:"):
            return WavFileSource(source[4:], realtime=True)
        if source == "topic":
            push = PushSource()
            self.create_subscription(
                Int16MultiArray, "/audio/raw", lambda m: push.push(bytes(m.data)), RELIABLE
            )
            return push
        return MicrophoneSource()

    def _on_speaking(self, msg: Bool) -> None:
        self.endpointer.mute(bool(msg.data))  # never transcribe the robot's own voice

    def destroy_node(self) -> None:
        early: EarlyRecognizer[Transcript] | None = getattr(self, "early", None)
        if early is not None:  # None when the node stopped before it was built (a bad setting, no model)
            early.close()
        super().destroy_node()

    def _listen(self) -> None:
        if isinstance(self.source, WavFileSource):  # a recording: nobody must miss its start
            deadline = time.monotonic() + 30
            while self.transcripts.get_subscription_count() == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        for frame in self.source.chunks():
            utterance = self.endpointer.feed(frame)
            if (pause := self.endpointer.take_pause()) is not None:
                self.early.guess(pause.audio)
            if utterance is not None:
                self._acknowledge(utterance)
                self._recognize(utterance.audio)
        last = self.endpointer.flush()
        if last is not None:
            self._recognize(last.audio)

    def _acknowledge(self, utterance: Utterance) -> None:
        """A short "はい。" / "Sure." the moment the visitor stops, while the words are recognized: the
        first sound within ~0.6 s of the end of speech, in the language the early guess detected (known
        ~0.1 s after the 240 ms pause). Not for a cough or a door (too short to be a question)."""
        lang = self.lang or self.early.language() or self.last_lang
        if (
            self.filler
            and utterance.ended_at_s - utterance.started_at_s >= FILLER_MIN_SPEECH_S
            and lang in FILLER
        ):
            self.say.publish(_string(SayRequest(text=FILLER[lang], lang=lang)))

    def _recognize(self, audio: Audio) -> None:
        transcript = self.early.result(audio)
        if not transcript.text or transcript.lang not in ("ja", "en", "ko"):
            return
        self.last_lang = transcript.lang
        early = self.early.stats
        self.get_logger().info(
            f"heard ({transcript.lang}, {audio.duration_s:.1f} s; early guesses so far: {early.used} "
            f"used, {early.misses} talked past): {transcript.text}"
        )
        payload = SpeechTranscript(
            text=transcript.text[:1000],
            lang=transcript.lang,
            duration_s=audio.duration_s,
            backend=self.backend,
            alternatives=[a[:1000] for a in transcript.alternatives[:5]],
        )
        self.transcripts.publish(_string(payload))


class DialogueNode(Node):
    """`/speech/transcript` + `/queue/status` in; `/dialogue/intent` and `/speech/say` out. The
    site's taught examples (`/dialogue/site_examples`, from the server via the telemetry node) are
    learnt as they come, on top of the shipped ones."""

    def __init__(self) -> None:
        super().__init__("dialogue")
        from speech.knowledge import load_knowledge

        site_file = str(self.declare_parameter("site_file", "").value) or None
        self.unanswered_log = Path(
            str(self.declare_parameter("unanswered_log", "var/unanswered.jsonl").value)
        )
        _, knowledge = load_knowledge(site_file)
        self.known = {*knowledge.procedures, *knowledge.facilities, HANDOFF, CLARIFY}
        # The examples are fitted in the background (~7 s): the node answers from the phrases at
        # once, and stops at once on Ctrl-C, instead of after the fit.
        self.examples: ExampleClassifier | None = None
        self._new_dialogue: Callable[[], Dialogue] = lambda: Dialogue(knowledge, examples=self.examples)
        self.dialogue = self._new_dialogue()
        self.examples_file = Path(str(self.declare_parameter("examples_file", "").value) or EXAMPLES)
        # This site's own examples as a file (the dashboard's /staff/examples.yaml), for a robot
        # the server cannot reach; the server's, when they come, replace them.
        site_examples_file = str(self.declare_parameter("site_examples_file", "").value)
        self._learning = threading.Condition()
        self._to_learn: tuple[Path | list[Example] | None, str] | None = None
        threading.Thread(target=self._learner, name="examples", daemon=True).start()
        self._learn(Path(site_examples_file) if site_examples_file else None, site_examples_file)
        self.last_heard = 0.0
        self.statuses: dict[str, QueueStatus] = {}
        self.rejected = 0  # malformed payloads, counted for operators
        self.intents = self.create_publisher(String, "/dialogue/intent", RELIABLE)
        self.say = self.create_publisher(String, "/speech/say", RELIABLE)
        self.create_subscription(String, "/speech/transcript", self._on_transcript, RELIABLE)
        self.create_subscription(String, "/queue/status", self._on_status, LATCHED)
        self.create_subscription(String, "/dialogue/site_examples", self._on_site_examples, LATCHED)

    def _on_site_examples(self, msg: String) -> None:
        taught = self._parse(SiteExamples, msg, "/dialogue/site_examples")
        if taught is not None:
            source = f"taught, sent by the server at {taught.updated_at.isoformat(timespec='seconds')}"
            self._learn(examples_of(taught.examples), source)

    def _learn(self, site: Path | list[Example] | None, source: str) -> None:
        """Fit again with these site examples, on the learner's thread. Only the latest request
        waits: examples taught one after another cost one fit or two, not one each."""
        with self._learning:
            self._to_learn = (site, source)
            self._learning.notify()

    def _learner(self) -> None:
        # Fitting is background work (~7 s of a core): at a lower priority, the robot's listening,
        # answering and speaking go first, at start-up and when staff teach mid-conversation.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LEARNING_NICENESS)
        while True:
            with self._learning:
                self._learning.wait_for(lambda: self._to_learn is not None)
                assert self._to_learn is not None
                (site, source), self._to_learn = self._to_learn, None
            self._fit_examples(site, source)

    def _fit_examples(self, site: Path | list[Example] | None, source: str) -> None:
        """The intent examples (an operator's file, else the shipped one) plus the site's own. Site
        examples that cannot be used are logged and left out; a main file that cannot be used is
        logged and the robot goes on with the knowledge base's phrases alone."""
        try:
            fitted = fit_with_site(self.known, site, self.examples_file)
        except ExamplesError as exc:
            self.get_logger().error(f"{exc}; answering from the knowledge base's phrases alone")
            return
        if fitted.problem:
            self.get_logger().error(f"site examples not used: {fitted.problem}")
        unknown = fitted.classifier.targets - self.known
        if unknown:
            self.get_logger().warning(f"intent examples name ids the site does not have: {sorted(unknown)}")
        self.examples = self.dialogue.examples = fitted.classifier  # the current visitor's dialogue too
        own = f" + {fitted.site_examples} of the site's own ({source})" if fitted.site_examples else ""
        self.get_logger().info(f"intent examples ready: {self.examples_file}{own}")

    def _parse(self, model: type[P], msg: String, topic: str) -> P | None:
        """The payload, or None after logging and counting why it was rejected."""
        try:
            return parse_payload(model, msg.data)
        except PayloadError as exc:
            self.rejected += 1
            self.get_logger().warning(f"{topic}: rejected payload ({self.rejected} so far): {exc}")
            return None

    def _on_status(self, msg: String) -> None:
        status = self._parse(QueueStatus, msg, "/queue/status")
        if status is not None:
            self.statuses[status.queue] = status

    def _on_transcript(self, msg: String) -> None:
        heard = self._parse(SpeechTranscript, msg, "/speech/transcript")
        if heard is None:
            return
        now = time.monotonic()
        if now - self.last_heard > NEW_VISITOR_AFTER_S:
            self.dialogue = self._new_dialogue()
        self.last_heard = now
        lang = heard.lang if heard.lang in ("ja", "en") else None
        reply = self.dialogue.respond(heard.text, lang, self.statuses, heard.alternatives)
        intent = DialogueIntent(
            text=heard.text, lang=reply.lang, procedure=reply.procedure, destination=reply.destination,
            handoff=reply.handoff, clarify=list(reply.clarify), escort=reply.escort, answer=reply.text,
            guessed=reply.guessed,
        )  # fmt: skip
        self.intents.publish(_string(intent))
        self.say.publish(_string(SayRequest(text=reply.text, lang=reply.lang)))
        if reply.handoff:
            self._log_unanswered(heard.text, reply.lang)
        elif reply.guessed is not None:  # answered from examples alone: staff should check the guess
            self._log_unanswered(
                heard.text, reply.lang, guess=reply.procedure or reply.destination, p=reply.guessed
            )

    def _log_unanswered(self, text: str, lang: str, **guess: object) -> None:
        """Questions staff may want to add to the knowledge base, and answers the examples guessed:
        the words only, no audio."""
        record = {"ts": datetime.now(UTC).isoformat(timespec="seconds"), "lang": lang, "text": text, **guess}
        try:
            self.unanswered_log.parent.mkdir(parents=True, exist_ok=True)
            with self.unanswered_log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            self.get_logger().error(f"cannot log unanswered question to {self.unanswered_log}: {exc}")


class AudioSink(Protocol):
    def play(self, audio: Audio) -> None:
        """Play to the end (blocking)."""
        ...


class SimulatedLoudspeaker:
    """Where there is no sound card: 'plays' in real time, so /speech/speaking lasts as long as
    the real answer would, and counts what it played."""

    def __init__(self) -> None:
        self.played_s = 0.0

    def play(self, audio: Audio) -> None:
        time.sleep(audio.duration_s)
        self.played_s += audio.duration_s


class SpeakerNode(Node):
    """`/speech/say` in; audio out, with `/speech/speaking` true while it plays."""

    def __init__(self, sink: AudioSink | None = None) -> None:
        super().__init__("speaker")
        from speech.tts import OpenJTalkVoice, PiperVoice, Speaker

        # An answer's sentences are synthesized side by side: Open JTalk in worker processes, piper in
        # threads (see the voices), so the whole answer is ready sooner on two cores.
        workers = int(self.declare_parameter("synthesis_workers", 2).value)
        self.speaker = Speaker(
            voices={"ja": lambda: OpenJTalkVoice(workers=workers), "en": lambda: PiperVoice(workers=workers)}
        )
        self.sink: AudioSink = sink or SimulatedLoudspeaker()
        self.speaking = self.create_publisher(Bool, "/speech/speaking", RELIABLE)
        self.create_subscription(String, "/speech/say", self._on_say, RELIABLE)
        # One voice, in the order asked (the listener's "はい。" before the dialogue's answer).
        self._requests: queue.Queue[SayRequest] = queue.Queue()
        self._voices_ready = threading.Event()
        threading.Thread(target=self._speak_all, name="speaker", daemon=True).start()

    def destroy_node(self) -> None:
        if not self._voices_ready.is_set():
            # Stopped while its voices load (C code that cannot be interrupted, and that aborts the
            # process if Python is torn down under it): there is nothing to save, so leave at once.
            # The synthesis workers die with this process (see OpenJTalkVoice).
            self.get_logger().info("stopped while its voices were loading")
            os._exit(0)
        self.speaker.close()
        super().destroy_node()

    def _on_say(self, msg: String) -> None:
        try:
            self._requests.put(parse_payload(SayRequest, msg.data))
        except PayloadError as exc:
            self.get_logger().warning(f"/speech/say: rejected payload: {exc}")

    def _speak_all(self) -> None:
        # The voices load here (~5 s with their workers), after the node has subscribed: a request
        # sent meanwhile (the first greeting) waits for them instead of being missed.
        try:
            self.speaker.preload("ja", "en")
        finally:
            self._voices_ready.set()
        while True:
            self._speak(self._requests.get())

    def _speak(self, request: SayRequest) -> None:
        self.speaking.publish(Bool(data=True))
        try:
            for sentence in self.speaker.sentences(request.text, request.lang):
                self.sink.play(sentence)
        except Exception as exc:  # a voice failing must not leave the listener muted
            self.get_logger().error(f"cannot say {request.text!r}: {exc}")
        finally:
            self.speaking.publish(Bool(data=False))


NODES = {"listener": ListenerNode, "dialogue": DialogueNode, "speaker": SpeakerNode}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m speech.nodes NAME [--ros-args ...]`."""
    # A missing model, a bad setting or site file: one line, exit 1.
    return run_node("speech.nodes", NODES, argv, startup_errors=(ModelError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
