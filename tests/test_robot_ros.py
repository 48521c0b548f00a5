"""`lobby robot --sim` for real: runner, simulator, navigation, behaviour and telemetry nodes over ROS 2
(DDS on loopback) and a real mosquitto. Signed commands obeyed and acknowledged, unsigned refused,
queue status mirrored into ROS, Ctrl-C leaves no process, a killed robot shows offline by its will,
and what staff teach on the real `lobby server` learnt by the robot's dialogue as it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
from std_msgs.msg import String  # noqa: E402

from lobby.schema import (  # noqa: E402
    QueueStatus,
    RobotCommand,
    SiteExamples,
    examples_topic,
    robot_topic,
    sign_payload,
    status_topic,
)
from robot.launch_spec import default_params_file  # noqa: E402
from robot.nodes import RELIABLE, STATUS_LATCHED  # noqa: E402
from tests.ros_support import spin_until  # noqa: E402
from tests.support import (  # noqa: E402
    HIDAMARI,
    HIDAMARI_QUESTION,
    BridgeProcess,
    Mosquitto,
    MqttProbe,
    StaffClient,
    add_staff_user_fast,
    site_yaml,
    wait_until,
)
from tests.test_robot_runner import group_members  # noqa: E402

SECRET = "test-secret"


class RobotRun:
    """`lobby robot` as a child process on its own site id and robot id."""

    def __init__(
        self, env: dict[str, str], port: int, workdir: Path, *without: str, params: Path | None = None
    ) -> None:
        self.site = f"t{uuid.uuid4().hex[:8]}"
        self.robot = f"r{uuid.uuid4().hex[:6]}"
        self.log = workdir / "robot.log"
        argv = [sys.executable, "-m", "lobby.cli", "robot", "--sim", "--mqtt-port", str(port),
                "--site", str(site_yaml(workdir, self.site)), "--stop-timeout", "15"]  # fmt: skip
        for group in without:
            argv += ["--without", group]
        if params is not None:
            argv += ["--params", str(params)]
        child_env = {**env, "LOBBY_COMMAND_SECRET": SECRET, "LOBBY_ROBOT_ID": self.robot,
                     "LOBBY_ROBOT_EXAMPLES_CACHE": str(workdir / "taught-examples.json")}  # fmt: skip
        self.proc = subprocess.Popen(
            argv, env=child_env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )

    def topic(self, kind: str) -> str:
        return robot_topic(self.site, self.robot, kind)  # type: ignore[arg-type]

    def pids(self) -> dict[str, int]:
        out = {}
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("lobby robot: started "):
                name, pid = line.removeprefix("lobby robot: started ").split(" (pid ")
                out[name] = int(pid.rstrip(")"))
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in group_members(set(self.pids().values())):  # never leave anything behind
            os.kill(pid, signal.SIGKILL)

    def command(self, name: str, signed: bool = True, issued: datetime | None = None) -> RobotCommand:
        cmd = RobotCommand(
            id=uuid.uuid4().hex[:12], robot=self.robot, command=name,  # type: ignore[arg-type]
            issued_by="staff-test", issued_at=issued or datetime.now(UTC),
        )  # fmt: skip
        return sign_payload(cmd, SECRET.encode()) if signed else cmd


def send(probe: MqttProbe, run: RobotRun, cmd: RobotCommand) -> dict[str, object]:
    probe.publish(run.topic("commands"), cmd.model_dump_json())
    return probe.next_json(run.topic("events"), 20, where=lambda e: e.get("command_id") == cmd.id)


def test_sim_robot_obeys_signed_commands_mirrors_status_and_stops_on_ctrl_c(
    ros_env: dict[str, str], mosquitto: Mosquitto, probe: MqttProbe, tmp_path: Path
) -> None:
    run = RobotRun(ros_env, mosquitto.port, tmp_path, "speech,perception")
    node = rclpy.create_node("test_fleet")
    mirrored: list[QueueStatus] = []
    node.create_subscription(
        String,
        "/queue/status",
        lambda m: mirrored.append(QueueStatus.model_validate_json(m.data)),
        STATUS_LATCHED,
    )
    states = MqttProbe(mosquitto.port)  # a probe of its own: waiting for an ack must not eat states
    try:
        states.subscribe(robot_topic(run.site, run.robot, "state"))
        probe.subscribe(robot_topic(run.site, run.robot, "events"))
        probe.subscribe(robot_topic(run.site, run.robot, "telemetry"))
        state = states.next_json(run.topic("state"), 90, where=lambda s: s["mode"] == "idle")
        assert state["robot"] == run.robot
        # The first telemetry may come before the behaviour node's first state: battery is then
        # honestly unknown (null); the battery must become known within the deadline.
        telemetry = probe.next_json(run.topic("telemetry"), 30, where=lambda t: t["battery"] is not None)
        assert abs(telemetry["pose"]["x"] - 26.5) < 0.5 and 0 < telemetry["battery"] <= 1  # the sim's post

        status = QueueStatus(
            site=run.site, queue="B", waiting=4, now_calling=[], open_windows=["W2"], estimate=None,
            updated_at=datetime.now(UTC),
        )  # fmt: skip
        probe.client.publish(status_topic(run.site, "B"), status.model_dump_json(), qos=1, retain=True)
        deadline = time.monotonic() + 30
        while not any(s.site == run.site and s.waiting == 4 for s in mirrored):
            assert time.monotonic() < deadline, "queue status never reached /queue/status"
            rclpy.spin_once(node, timeout_sec=0.1)

        ack = send(probe, run, run.command("pause"))
        assert ack["accepted"] is True and ack["kind"] == "command_ack"
        states.next_json(run.topic("state"), 20, where=lambda s: s["mode"] == "paused")
        refused = send(probe, run, run.command("resume", signed=False))
        assert refused["accepted"] is False and "signature" in str(refused["text"])
        stale = send(probe, run, run.command("resume", issued=datetime.now(UTC) - timedelta(minutes=5)))
        assert stale["accepted"] is False and "stale" in str(stale["text"])
        resume = run.command("resume")
        assert send(probe, run, resume)["accepted"] is True
        states.next_json(run.topic("state"), 20, where=lambda s: s["mode"] == "idle")
        replay = send(probe, run, resume)
        assert replay["accepted"] is False and "replayed" in str(replay["text"])

        pids = run.pids()
        assert set(pids) == {
            "lobby_sim",
            "map_server",
            "planner",
            "controller",
            "behaviour",
            "robot_telemetry",
        }
        assert group_members(set(pids.values()))  # they are running
        run.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.proc.wait(timeout=40) == 0
        assert group_members(set(pids.values())) == []
        # A clean stop says so itself, before the connection closes.
        states.next_json(run.topic("state"), 10, where=lambda s: s["mode"] == "offline")
    finally:
        states.close()
        node.destroy_node()
        run.close()


def test_a_robot_that_vanishes_is_shown_offline_by_its_last_will(
    ros_env: dict[str, str], mosquitto: Mosquitto, probe: MqttProbe, tmp_path: Path
) -> None:
    run = RobotRun(ros_env, mosquitto.port, tmp_path, "speech,perception,sim,navigation")
    try:
        probe.subscribe(robot_topic(run.site, run.robot, "state"))
        probe.next_json(run.topic("state"), 90, where=lambda s: s["mode"] == "idle")
        telemetry_pid = wait_until(lambda: run.pids().get("robot_telemetry"), 10, "the telemetry pid")
        os.kill(telemetry_pid, signal.SIGKILL)  # no goodbye possible: only the broker's will
        offline = probe.next_json(run.topic("state"), 8, where=lambda s: s["mode"] == "offline")
        assert offline["robot"] == run.robot
        # The runner notices, stops the rest and reports failure.
        assert run.proc.wait(timeout=40) == 1
        assert "robot_telemetry exited with status -9" in run.log.read_text()
        assert group_members(set(run.pids().values())) == []
    finally:
        run.close()


# -- what staff teach on the server, the robot learns at once --------------------------------------------


def _speech_from_topic(workdir: Path) -> Path:
    """The robot's parameters with the listener on /audio/raw: there is no microphone here."""
    params = yaml.safe_load(default_params_file().read_text(encoding="utf-8"))
    params["speech_listener"]["ros__parameters"]["source"] = "topic"
    path = workdir / "robot-params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


def test_what_staff_teach_on_the_server_the_robot_learns_without_a_restart(
    ros_env: dict[str, str], mosquitto: Mosquitto, probe: MqttProbe, tmp_path: Path
) -> None:
    """The real server signs and retains the site's taught examples; the robot's telemetry node
    checks the signature and hands them to the dialogue node, which learns them as it runs. A
    forgery on the broker is refused and changes nothing."""
    (tmp_path / "robot").mkdir()
    (tmp_path / "server").mkdir()
    params = _speech_from_topic(tmp_path)
    run = RobotRun(ros_env, mosquitto.port, tmp_path / "robot", "perception,sim,navigation", params=params)
    password = f"pw-{uuid.uuid4().int % 10**20}"
    server = BridgeProcess(
        mqtt_port=mosquitto.port, workdir=tmp_path / "server", site_id=run.site,
        extra_env={"LOBBY_COMMAND_SECRET": SECRET, "LOBBY_STAFF_COOKIE_SECURE": "false"},
    )  # fmt: skip
    add_staff_user_fast(Path(server.env["LOBBY_STAFF_DB_PATH"]), "otto", "operator", password)
    node = rclpy.create_node("test_teaching")
    intents: list[dict[str, object]] = []
    node.create_subscription(
        String, "/dialogue/intent", lambda m: intents.append(json.loads(m.data)), RELIABLE
    )
    heard = node.create_publisher(String, "/speech/transcript", RELIABLE)
    otto = None

    def ask() -> dict[str, object]:
        before = len(intents)
        heard.publish(
            String(
                data=json.dumps(
                    {"text": HIDAMARI_QUESTION, "lang": "ja", "duration_s": 2.5, "backend": "whisper"}
                )
            )
        )
        spin_until(node, lambda: len(intents) > before, 60, "an answer")
        return intents[-1]

    def logged(text: str) -> bool:
        return text in run.log.read_text(errors="replace")

    try:
        server.start()
        spin_until(node, lambda: heard.get_subscription_count() > 0, 90, "the dialogue node")
        spin_until(node, lambda: logged("intent examples ready"), 90, "the shipped examples")
        assert ask()["procedure"] != "nursing_care"  # the shipped examples send the visitor elsewhere

        otto = StaffClient(server.url)
        assert otto.login("otto", password).status_code == 303
        for text in HIDAMARI:
            resp = otto.http.post(
                "/staff/examples", data={"csrf": otto.csrf or "", "text": text, "target": "nursing_care"}
            )
            assert resp.status_code == 303, resp.text
        spin_until(
            node, lambda: logged(f"+ {len(HIDAMARI)} of the site's own (taught"), 120, "the taught examples"
        )
        answer = ask()
        assert answer["procedure"] == "nursing_care" and isinstance(answer["guessed"], float)
        assert "介護保険" in str(answer["answer"])

        # Anyone who can publish on the broker could try to teach the robot: unsigned, it is refused.
        forged = SiteExamples(site=run.site, updated_at=datetime.now(UTC), examples={"pension": HIDAMARI})
        probe.client.publish(examples_topic(run.site), forged.model_dump_json(), qos=1, retain=True)
        spin_until(node, lambda: logged("taught examples refused"), 30, "the forgery refused")
        assert ask()["procedure"] == "nursing_care"
    finally:
        if otto is not None:
            otto.close()
        server.stop()
        node.destroy_node()
        run.close()
