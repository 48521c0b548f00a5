"""Issue 7, end to end: a visitor asks the simulated robot for 住民票 and is walked to the counter.

Real parts only: mosquitto, the bridge (`lobby server`) as a process, `lobby robot --sim --without
perception` (runner, simulator, navigation, behaviour, telemetry, listener with Whisper, dialogue,
speaker with Open JTalk) over DDS on loopback, and the staff dashboard over HTTP with a viewer session.

What stands in for the world: ticket events published on MQTT (the ticket machine), the visitor's
voice (WAVs synthesized with the robot's own TTS, fed to the listener's `/audio/raw` source the way a
microphone driver would), and the visitor's approach: there is no camera here, so the test publishes
the perception `VisitorEvent`s ("approaching", then "engaged") on `/perception/visitor_events`, the
topic the behaviour node listens to. The simulated visitor walking behind the robot is the behaviour
node's `visitor_source:=follow` (set by `--sim`).
"""

from __future__ import annotations

import array
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
from nav_msgs.msg import Odometry  # noqa: E402
from rclpy.node import Node  # noqa: E402
from std_msgs.msg import Bool, Int16MultiArray, String  # noqa: E402

from lobby.schema import RobotState, SayRequest, SpeechTranscript, VisitorEvent  # noqa: E402
from robot.launch_spec import default_params_file  # noqa: E402
from robot.navigation.maps import load_building  # noqa: E402
from robot.navigation.nodes import SENSOR, odom_pose  # noqa: E402
from robot.nodes import LATCHED, RELIABLE  # noqa: E402
from speech.audio import Audio, concat  # noqa: E402
from speech.tts import OpenJTalkVoice  # noqa: E402
from tests.ros_support import spin_until  # noqa: E402
from tests.support import (  # noqa: E402
    BridgeProcess,
    Mosquitto,
    MqttProbe,
    StaffClient,
    add_staff_user_fast,
    event,
    wait_until,
)
from tests.test_robot_runner import group_members  # noqa: E402

SECRET = secrets.token_hex(16)
VIEWER, PASSWORD = "vera", f"pw-{secrets.token_hex(8)}"
WAITING = 5  # tickets issued in queue A (住民票) and not yet called


def voice(text: str) -> Audio:
    """What the visitor says, as the microphone would hear it: 16 kHz, with silence around it."""
    speech = OpenJTalkVoice().synthesize(text, "ja").resampled(16000)
    return concat([Audio.silence(0.5), speech, Audio.silence(1.5)])


def robot_params(workdir: Path) -> Path:
    """launch/robot.yaml with what this test changes: the listener's audio comes from /audio/raw,
    the simulator runs at 4x (a 30 m escort and the way back fit the time), logs in the tmp dir."""
    params = yaml.safe_load(default_params_file().read_text(encoding="utf-8"))
    params["speech_listener"]["ros__parameters"]["source"] = "topic"
    params["lobby_sim"]["ros__parameters"]["speed"] = 4.0
    params["dialogue"]["ros__parameters"]["unanswered_log"] = str(workdir / "unanswered.jsonl")
    path = workdir / "robot.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


class Visitor(Node):
    """The world around the robot, as ROS sees it: the visitor's approach and voice in; what the
    robot says, its state and where it is, out."""

    def __init__(self) -> None:
        super().__init__(f"e2e_visitor_{uuid.uuid4().hex[:6]}")
        self.visitors = self.create_publisher(String, "/perception/visitor_events", RELIABLE)
        self.audio = self.create_publisher(Int16MultiArray, "/audio/raw", RELIABLE)
        self.words = self.create_publisher(String, "/speech/transcript", RELIABLE)
        self.said: list[SayRequest] = []
        self.spoken = 0  # /speech/speaking false: one per request the speaker has finished
        self.modes: list[str] = []
        self.poses: list[tuple[float, float]] = []
        sub = self.create_subscription
        sub(
            String,
            "/speech/say",
            lambda m: self.said.append(SayRequest.model_validate_json(m.data)),
            RELIABLE,
        )
        sub(Bool, "/speech/speaking", self._on_speaking, RELIABLE)
        sub(String, "/robot/state", self._on_state, LATCHED)
        sub(Odometry, "/odom", lambda m: self.poses.append((odom_pose(m).x, odom_pose(m).y)), SENSOR)

    def _on_speaking(self, msg: Bool) -> None:
        if not msg.data:
            self.spoken += 1

    def _on_state(self, msg: String) -> None:
        mode = RobotState.model_validate_json(msg.data).mode
        if not self.modes or self.modes[-1] != mode:
            self.modes.append(mode)

    def visitor_event(self, kind: str, track: int = 7) -> None:
        e = VisitorEvent(type=kind, track_id=track, stamp=time.time(), distance_m=1.5)  # type: ignore[arg-type]
        self.visitors.publish(String(data=e.model_dump_json()))

    def speak(self, audio: Audio) -> None:
        """The microphone driver: 100 ms chunks of 16-bit PCM on /audio/raw, in real time."""
        pcm = audio.samples.tobytes()
        step = 3200  # bytes: 100 ms at 16 kHz
        for i in range(0, len(pcm), step):
            samples = array.array("h")
            samples.frombytes(pcm[i : i + step])
            self.audio.publish(Int16MultiArray(data=samples))
            rclpy.spin_once(self, timeout_sec=0.0)
            time.sleep(0.1)

    def says(self, since: int, needle: str) -> SayRequest | None:
        return next((s for s in self.said[since:] if needle in s.text), None)

    def quiet(self) -> bool:
        """The speaker has said everything asked of it so far (the listener is unmuted again)."""
        return self.spoken >= len(self.said)


class Dashboard:
    """A viewer's session polling GET /api/v1/robots in the background: every mode shown, in order."""

    def __init__(self, url: str, robot: str) -> None:
        self.staff = StaffClient(url)
        assert self.staff.login(VIEWER, PASSWORD).status_code == 303
        self.robot = robot
        self.modes: list[str] = []
        self.latest: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        client = StaffClient(str(self.staff.http.base_url))
        client.http.cookies = self.staff.http.cookies
        while not self._stop.wait(0.2):
            view = client.robots().get(self.robot)
            if view is None:
                continue
            self.latest = view
            if not self.modes or self.modes[-1] != view["mode"]:
                self.modes.append(view["mode"])
        client.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.staff.close()


def in_order(seen: list[str], wanted: list[str]) -> bool:
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)


@pytest.mark.slow
def test_visitor_asks_for_juminhyo_is_escorted_and_staff_see_it_all(
    ros_env: dict[str, str], mosquitto: Mosquitto, tmp_path: Path
) -> None:
    question, accept = voice("住民票がほしいです"), voice("はい、お願いします")
    robot_id = f"r{uuid.uuid4().hex[:6]}"
    bridge = BridgeProcess(
        mosquitto.port,
        tmp_path,
        extra_env={"LOBBY_COMMAND_SECRET": SECRET, "LOBBY_STAFF_COOKIE_SECURE": "false"},
    )
    add_staff_user_fast(tmp_path / "staff.sqlite3", VIEWER, "viewer", PASSWORD)
    bridge.start()
    probe = MqttProbe(mosquitto.port)
    log = tmp_path / "robot.log"
    robot: subprocess.Popen[bytes] | None = None
    node = Visitor()
    dashboard: Dashboard | None = None
    try:
        # The ticket machine: window 1 open, five people waiting for 住民票 (queue A).
        topic = f"lobby/v1/{bridge.site_id}/queues/A/events"
        probe.publish(topic, event("A", "window_open", None, window="W1"))
        for n in range(1, WAITING + 1):
            probe.publish(topic, event("A", "issued", f"A{n:03d}"))
        wait_until(
            lambda: bridge.get("/api/v1/queues/A").json()["status"]["waiting"] == WAITING, 15, "A live"
        )

        argv = [sys.executable, "-m", "lobby.cli", "robot", "--sim", "--without", "perception",
                "--params", str(robot_params(tmp_path)), "--site", str(bridge.site_file),
                "--mqtt-port", str(mosquitto.port), "--stop-timeout", "15"]  # fmt: skip
        env = {**ros_env, "LOBBY_COMMAND_SECRET": SECRET, "LOBBY_ROBOT_ID": robot_id,
               "LOBBY_ROBOT_EXAMPLES_CACHE": str(tmp_path / "taught-examples.json")}  # fmt: skip
        robot = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        dashboard = Dashboard(bridge.url, robot_id)

        # Up: idle at its post on the dashboard, every node listening.
        wait_until(lambda: dashboard.latest.get("mode") == "idle", 90, "the robot idle on the dashboard")
        spin_until(node, lambda: node.visitors.get_subscription_count() > 0, 30, "the behaviour node")
        spin_until(node, lambda: node.audio.get_subscription_count() > 0, 60, "the listener (Whisper loaded)")
        spin_until(node, lambda: node.poses, 30, "odometry")
        post = load_building().poi("information_desk").pose
        assert abs(node.poses[-1][0] - post.x) < 0.5 and abs(node.poses[-1][1] - post.y) < 0.5

        # A visitor walks up (the camera's event, published by hand: there is no camera here).
        start = len(node.said)
        node.visitor_event("approaching")
        node.visitor_event("engaged")
        spin_until(node, lambda: node.says(start, "こんにちは"), 30, "the greeting")
        spin_until(node, lambda: "greeting" in node.modes, 30, "mode greeting")
        spin_until(node, node.quiet, 30, "the greeting spoken")

        # The question, in the visitor's (synthesized) voice, through the listener and Whisper.
        start = len(node.said)
        node.speak(question)
        answer = spin_until(node, lambda: node.says(start, "窓口"), 30, "the answer on /speech/say")
        assert "市民課の1番から3番窓口" in answer.text and "1階" in answer.text, answer.text
        assert f"{WAITING}人待ち" in answer.text, answer.text  # the live wait, from the bridge via MQTT
        assert "ご案内しましょうか" in answer.text
        spin_until(node, node.quiet, 40, "the answer spoken")

        # "Yes, please": the robot walks the visitor (following 1.2 m behind it) to the counter.
        node.speak(accept)
        spin_until(node, lambda: "escorting" in node.modes, 30, "mode escorting")
        counter = load_building().poi("counter_shimin").pose
        near = 1.0

        def at_counter() -> bool:
            return any(abs(x - counter.x) < near and abs(y - counter.y) < near for x, y in node.poses)

        spin_until(node, at_counter, 60, "the robot at the 市民課 counter")
        spin_until(node, lambda: "returning" in node.modes, 40, "mode returning")
        spin_until(node, lambda: node.modes[-1] == "idle", 60, "back at the post, idle")
        x, y = node.poses[-1]
        assert abs(x - post.x) < 0.6 and abs(y - post.y) < 0.6

        # The staff dashboard saw every step, in order, and the conversation events reached it.
        wanted = ["idle", "greeting", "conversing", "escorting", "returning", "idle"]
        assert in_order(node.modes, wanted), node.modes
        wait_until(lambda: in_order(dashboard.modes, wanted), 30, f"dashboard modes {wanted}")
        from queue_bridge.staff_store import StaffStore

        store = StaffStore(tmp_path / "staff.sqlite3")
        try:  # the bridge's record of robot events (the /staff page lists only hand-offs)

            def recorded() -> set[tuple[str, str, str | None]]:
                return {
                    (e.kind, e.text, e.poi)
                    for e in store.events(("conversation", "escort"))
                    if e.robot == robot_id
                }

            wanted_events = {
                ("conversation", "escorting", "counter_shimin"),
                ("escort", "arrived", "counter_shimin"),
            }
            wait_until(lambda: wanted_events <= recorded(), 30, f"{wanted_events} in the staff store")
        finally:
            store.close()
        page = dashboard.staff.http.get("/staff?lang=en")
        assert page.status_code == 200 and f"id='robot-{robot_id}'" in page.text

        # A second visitor brings a matter for staff: the hand-off is listed on the /staff page. (Their
        # words go in as the listener's transcript text, to keep the test short; the first visitor's
        # went through Whisper.)
        node.visitor_event("approaching", track=8)
        spin_until(node, lambda: node.modes[-1] == "greeting", 30, "greeting the second visitor")
        matter = "駐車券にハンコを押してください"
        heard = SpeechTranscript(text=matter, lang="ja", duration_s=2.0, backend="whisper")
        node.words.publish(String(data=heard.model_dump_json()))
        wait_until(lambda: f"<q>{matter}</q>" in dashboard.staff.http.get("/staff").text, 30, "the hand-off")
        assert matter in (tmp_path / "unanswered.jsonl").read_text(encoding="utf-8")

        # The robot dies without a word: the dashboard shows it offline within 5 s.
        pids = {
            int(line.split("(pid ")[1].rstrip(")"))
            for line in log.read_text(errors="replace").splitlines()
            if line.startswith("lobby robot: started ")
        }
        robot.send_signal(signal.SIGKILL)
        robot.wait()
        killed_at = time.monotonic()
        wait_until(lambda: dashboard.latest.get("online") is False, 5, "the robot offline on the dashboard")
        assert time.monotonic() - killed_at <= 5.5
        wait_until(lambda: group_members(pids) == [], 20, "no orphan node left")
    finally:
        if dashboard is not None:
            dashboard.close()
        node.destroy_node()
        probe.close()
        if robot is not None and robot.poll() is None:
            robot.kill()
            robot.wait()
        if log.exists():
            remaining = [
                int(line.split("(pid ")[1].rstrip(")"))
                for line in log.read_text(errors="replace").splitlines()
                if line.startswith("lobby robot: started ")
            ]
            for pid in group_members(set(remaining)):
                os.kill(pid, signal.SIGKILL)
        bridge.stop()
