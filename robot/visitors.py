"""Simulated visitors for the demo: people who walk up to the robot and say something.

The core is pure: `VisitorSim.step(now, mode, quiet)` takes the time, the robot's mode and whether the
robot has finished speaking, and returns what the visitors do (`Approach`, `Speak`, `Leave`). A visitor
walks up only when the robot is idle at its post, says their first line once the greeting is over,
each next line once the robot has answered, and leaves after their last line (or goes with the robot
when it offers to walk them: an escort ends the visit). No ROS, no clock of its own.

The shell, `python -m robot.visitors --ros-args -p gap_s:=8.0`, publishes the perception
`VisitorEvent`s on `/perception/visitor_events` (there is no camera in a simulation) and speaks each
line with our own voices into `/audio/raw` for the robot's listener (`-p voice:=text` sends the words
as `/speech/transcript` instead), and listens to `/robot/state`, `/speech/say` and `/speech/speaking`.
"""

from __future__ import annotations

import array
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

Lang = Literal["ja", "en"]


@dataclass(frozen=True)
class Line:
    text: str
    lang: Lang = "ja"


@dataclass(frozen=True)
class Visit:
    lines: tuple[Line, ...]


#: Who comes by, in turn (then again from the top): an escort, a question answered at the post,
#: a matter for staff (a hand-off on the dashboard), an escort to the second floor's elevator, and
#: one in English.
VISITS: tuple[Visit, ...] = (
    Visit((Line("住民票がほしいです"), Line("はい、お願いします"))),
    Visit((Line("Where is the restroom?", "en"), Line("No, thank you.", "en"))),
    Visit((Line("駐車券にハンコを押してください"),)),
    Visit((Line("マイナンバーカードを受け取りたい"), Line("はい、お願いします"))),
    Visit((Line("I want to register my seal", "en"), Line("Yes, please.", "en"))),
)


@dataclass(frozen=True)
class Approach:
    track_id: int


@dataclass(frozen=True)
class Speak:
    track_id: int
    line: Line


@dataclass(frozen=True)
class Leave:
    track_id: int


Action = Approach | Speak | Leave


@dataclass(frozen=True)
class SimConfig:
    gap_s: float = 8.0  # between one visitor leaving and the next walking up (robot idle)
    pause_s: float = 1.5  # a visitor's pause after the robot stops talking, before speaking
    give_up_s: float = 120.0  # a visit that goes nowhere (no answer) ends after this
    visits: tuple[Visit, ...] = VISITS


@dataclass(frozen=True)
class SimState:
    visit: int = 0  # index of the next (or current) visit in `visits`, cycling
    track_id: int = 0  # the current visitor's track id; 0: nobody there
    line: int = 0  # the next line the current visitor will say
    since: float | None = None  # when the current phase started (None: not yet started)
    quiet_since: float | None = None  # when the robot was last seen falling silent


@dataclass
class VisitorSim:
    """A mutable holder around the pure `step` for the shell."""

    config: SimConfig = field(default_factory=SimConfig)
    state: SimState = field(default_factory=SimState)

    def step(self, now: float, mode: str, quiet: bool) -> tuple[Action, ...]:
        self.state, actions = step(self.state, now, mode, quiet, self.config)
        return actions


def step(
    state: SimState, now: float, mode: str, quiet: bool, config: SimConfig
) -> tuple[SimState, tuple[Action, ...]]:
    """What the visitors do now. `mode` is the robot's (RobotState.mode); `quiet` is true when the
    robot has said everything it was asked to say so far."""
    since = now if state.since is None else state.since
    quiet_since = (state.quiet_since if state.quiet_since is not None else now) if quiet else None
    state = replace(state, since=since, quiet_since=quiet_since)
    if state.track_id == 0:  # nobody with the robot
        if mode == "idle" and now - since >= config.gap_s:
            track = state.visit + 1
            # quiet_since restarts: the greeting is coming, and the first line waits for its end.
            return replace(state, track_id=track, line=0, since=now, quiet_since=None), (Approach(track),)
        if mode != "idle":
            state = replace(state, since=now)  # the gap counts from when the robot is back and idle
        return state, ()
    visit = config.visits[state.visit % len(config.visits)]
    if mode in ("escorting", "returning", "charging", "fault", "safe_stop") and state.line > 0:
        return _done(state, now, config, ())  # they went with the robot (or it cannot serve them)
    if mode == "idle" and state.line > 0:
        return _done(state, now, config, ())  # the robot considered the visit over
    waited = quiet_since is not None and now - quiet_since >= config.pause_s
    if waited and mode in ("greeting", "conversing"):
        if state.line < len(visit.lines):
            said = Speak(state.track_id, visit.lines[state.line])
            return replace(state, line=state.line + 1, since=now, quiet_since=None), (said,)
        return _done(state, now, config, (Leave(state.track_id),))
    if now - since >= config.give_up_s:
        return _done(state, now, config, (Leave(state.track_id),))
    return state, ()


def _done(
    state: SimState, now: float, config: SimConfig, actions: tuple[Action, ...]
) -> tuple[SimState, tuple[Action, ...]]:
    return replace(state, visit=state.visit + 1, track_id=0, line=0, since=now), actions


def pcm_chunks(pcm: bytes, rate: int = 16000, chunk_ms: int = 100) -> list[bytes]:
    """16-bit mono PCM cut as a microphone driver delivers it: `chunk_ms` at a time (the last shorter)."""
    step = rate * chunk_ms // 1000 * 2
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


# -- ROS 2 shell ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m robot.visitors [--ros-args -p gap_s:=8.0 -p pause_s:=1.5]`."""
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import Bool, Int16MultiArray, String

    from lobby.ros import spin
    from lobby.schema import PayloadError, RobotState, SpeechTranscript, VisitorEvent, parse_payload
    from robot.nodes import LATCHED, RELIABLE
    from speech.audio import SAMPLE_RATE, Audio, concat
    from speech.tts import OpenJTalkVoice, PiperVoice, Synthesizer

    class VisitorsNode(Node):
        def __init__(self) -> None:
            super().__init__("simulated_visitors")
            p = self.declare_parameter
            config = SimConfig(
                gap_s=float(p("gap_s", 8.0).value),
                pause_s=float(p("pause_s", 1.5).value),
                give_up_s=float(p("give_up_s", 120.0).value),
            )
            self.sim = VisitorSim(config)
            # "audio": the visitors speak (our own voices → 16 kHz on /audio/raw, in real time, for the
            # listener and Whisper); "text": their words go straight to /speech/transcript.
            self.voice = str(p("voice", "audio").value)
            self.audio = self.create_publisher(Int16MultiArray, "/audio/raw", RELIABLE)
            self._voices: dict[str, Synthesizer] = {}
            self._talking = threading.Event()  # a visitor is still speaking: the robot's turn has not come
            self.mode = "offline"
            self.asked = 0  # /speech/say requests seen
            self.finished = 0  # /speech/speaking false: requests the speaker has finished
            self.visitors = self.create_publisher(String, "/perception/visitor_events", RELIABLE)
            self.words = self.create_publisher(String, "/speech/transcript", RELIABLE)
            self.create_subscription(String, "/robot/state", self._on_state, LATCHED)
            self.create_subscription(String, "/speech/say", self._on_say, RELIABLE)
            self.create_subscription(Bool, "/speech/speaking", self._on_speaking, RELIABLE)
            self.create_timer(0.25, self._tick)
            self.get_logger().info("simulated visitors ready")

        def _speak(self, line: Line) -> None:
            """Synthesize the line and play it into /audio/raw at the pace a microphone would."""
            try:
                if line.lang not in self._voices:
                    self._voices[line.lang] = OpenJTalkVoice() if line.lang == "ja" else PiperVoice()
                speech = self._voices[line.lang].synthesize(line.text, line.lang).resampled(SAMPLE_RATE)
                heard = concat([Audio.silence(0.3), speech, Audio.silence(1.0)])
                for chunk in pcm_chunks(heard.samples.tobytes(), SAMPLE_RATE):
                    samples = array.array("h")
                    samples.frombytes(chunk)
                    self.audio.publish(Int16MultiArray(data=samples))
                    time.sleep(0.1)
            finally:
                self._talking.clear()

        def _on_state(self, msg: String) -> None:
            try:
                self.mode = parse_payload(RobotState, msg.data).mode
            except PayloadError as exc:
                self.get_logger().warning(f"/robot/state: rejected payload: {exc}")

        def _on_say(self, _msg: String) -> None:
            self.asked += 1

        def _on_speaking(self, msg: Bool) -> None:
            if not msg.data:
                self.finished += 1

        def _tick(self) -> None:
            now = time.monotonic()
            for action in self.sim.step(
                now, self.mode, self.finished >= self.asked and not self._talking.is_set()
            ):
                if isinstance(action, Speak):
                    self.get_logger().info(f"visitor {action.track_id} says: {action.line.text}")
                    if self.voice == "audio":
                        self._talking.set()
                        threading.Thread(target=self._speak, args=(action.line,), daemon=True).start()
                        continue
                    heard = SpeechTranscript(
                        text=action.line.text, lang=action.line.lang, duration_s=1.5, backend="simulated"
                    )
                    self.words.publish(String(data=heard.model_dump_json()))
                    continue
                kinds = ("approaching", "engaged") if isinstance(action, Approach) else ("left",)
                self.get_logger().info(f"visitor {action.track_id}: {' + '.join(kinds)}")
                for kind in kinds:
                    e = VisitorEvent(type=kind, track_id=action.track_id, stamp=time.time(), distance_m=1.2)
                    self.visitors.publish(String(data=e.model_dump_json()))

    rclpy.init(args=list(sys.argv[1:] if argv is None else argv))
    spin(VisitorsNode())
    # A visitor may still be speaking on a daemon thread, inside a voice's C code: tearing Python
    # down under it can hang the exit (seen as "visitors did not stop within 5 s" in the demo).
    # ROS is shut down already and a simulation has nothing to save.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
