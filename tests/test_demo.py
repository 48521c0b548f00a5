"""`lobby demo` with its simulated robot and visitors: the visitor schedule (pure), and the demo for
real: the staff API (demo admin, password printed once) sees the robot serve a visitor, and Ctrl-C
leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from robot.visitors import VISITS, Approach, Leave, Line, SimConfig, SimState, Speak, Visit, pcm_chunks, step
from tests.support import StaffClient, free_port, wait_until

CONFIG = SimConfig(gap_s=5.0, pause_s=1.0, give_up_s=60.0)


def run(
    state: SimState, now: float, mode: str, quiet: bool, config: SimConfig = CONFIG
) -> tuple[SimState, tuple[object, ...]]:
    return step(state, now, mode, quiet, config)


def test_a_visitor_walks_up_only_to_an_idle_robot_after_the_gap() -> None:
    s, out = run(SimState(), 0.0, "idle", True)
    assert out == ()
    s, out = run(s, 4.0, "returning", True)
    assert out == ()  # busy: the gap starts again when it is back
    s, out = run(s, 8.0, "idle", True)
    assert out == ()
    s, out = run(s, 13.0, "idle", True)
    assert out == (Approach(1),)


def test_lines_wait_for_the_robot_to_finish_speaking_then_the_visitor_leaves() -> None:
    config = SimConfig(gap_s=0.0, pause_s=1.0, visits=(Visit((Line("駐車券にハンコを押してください"),)),))
    s, out = run(SimState(), 0.0, "idle", True, config)
    assert out == (Approach(1),)
    s, out = run(s, 0.5, "greeting", False, config)  # the greeting is being spoken
    s, out = run(s, 5.0, "greeting", True, config)
    assert out == ()  # quiet only just now: a pause first
    s, out = run(s, 6.2, "greeting", True, config)
    assert out == (Speak(1, Line("駐車券にハンコを押してください")),)
    s, out = run(s, 6.5, "conversing", False, config)  # the answer
    s, out = run(s, 12.0, "conversing", True, config)
    s, out = run(s, 13.5, "conversing", True, config)
    assert out == (Leave(1),)
    s, out = run(s, 13.5, "idle", True, config)
    assert out == (Approach(2),)  # the next visitor (gap 0), with a new track id


def test_an_escort_ends_the_visit_and_the_schedule_cycles() -> None:
    s = SimState(visit=len(VISITS) - 1, track_id=len(VISITS), line=2, since=0.0)
    s, out = run(s, 1.0, "escorting", False)
    assert out == () and s.track_id == 0 and s.visit == len(VISITS)
    s, out = run(s, 20.0, "returning", False)
    s, out = run(s, 22.0, "idle", True)
    assert out == ()  # back only 2 s ago
    s, out = run(s, 26.0, "idle", True)
    assert out == (Approach(len(VISITS) + 1),)
    assert step(s, 40.0, "greeting", True, CONFIG)[0].visit % len(VISITS) == 0  # from the top again


def test_a_visit_that_goes_nowhere_ends() -> None:
    s = SimState(visit=0, track_id=1, line=0, since=0.0)
    s, out = run(s, 30.0, "greeting", False)
    assert out == ()
    s, out = run(s, 61.0, "greeting", False)
    assert out == (Leave(1),) and s.track_id == 0


def _pids(text: str) -> set[int]:
    return {int(p) for p in re.findall(r"started \S+ \(pid (\d+)\)", text)}


@pytest.mark.slow
def test_visitors_speak_in_100_ms_chunks_as_a_microphone_delivers_them() -> None:
    pcm = bytes(range(256)) * 25  # 6400 bytes: 0.2 s of 16-bit audio at 16 kHz
    chunks = pcm_chunks(pcm + b"\x01\x02", 16000)
    assert [len(c) for c in chunks] == [3200, 3200, 2] and b"".join(chunks) == pcm + b"\x01\x02"


def test_demo_runs_a_robot_that_staff_see_serving_visitors_and_ctrl_c_stops_all(tmp_path: Path) -> None:
    pytest.importorskip("rclpy")
    from domain_coordinator import domain_id

    from tests.test_robot_runner import group_members

    port, mqtt_port = free_port(), free_port()
    out = tmp_path / "demo.out"
    with domain_id() as domain:
        env = {**os.environ, "ROS_DOMAIN_ID": str(domain), "ROS_LOG_DIR": str(tmp_path / "roslog")}
        env.pop("LOBBY_COMMAND_SECRET", None)
        argv = [sys.executable, "-m", "lobby.cli", "demo", "--port", str(port), "--mqtt-port", str(mqtt_port)]
        proc = subprocess.Popen(argv, env=env, stdout=out.open("wb"), stderr=subprocess.STDOUT)
        staff = StaffClient(f"http://127.0.0.1:{port}")
        robot_log: Path | None = None
        try:
            text = wait_until(lambda: "their log: " in out.read_text() and out.read_text(), 30, "demo start")
            password = re.search(r"user demo-admin, password (\S+)", text)
            assert password, text
            assert text.count(password.group(1)) == 1  # printed once
            robot_log = Path(re.findall(r"their log: (\S+)", text)[0])
            wait_until(lambda: _login(staff, password.group(1)), 20, "the demo admin signed in")
            robot = wait_until(lambda: staff.robots().get("robot1", {}).get("online"), 90, "robot1 online")
            assert robot
            # The simulated visitor walks up and talks: the dashboard shows the robot with them.
            modes = set()

            def served() -> bool:
                modes.add(staff.robots()["robot1"]["mode"])
                return bool(modes & {"greeting", "conversing"})

            wait_until(served, 60, "the robot greeting a simulated visitor")
            assert "visitor 1: approaching" in robot_log.read_text()
            # The visitor speaks (synthesized audio on /audio/raw) and the robot's listener hears it.
            log = robot_log
            wait_until(lambda: "heard (ja" in log.read_text(), 60, "the visitor's spoken question recognized")
            # A signed command is obeyed: the demo's secret reached the robot (by its environment).
            resp = staff.command("robot1", {"command": "go_home"})
            assert resp.status_code == 202, resp.text
            status = f"/api/v1/commands/{resp.json()['id']}"
            wait_until(lambda: staff.http.get(status).json()["status"] == "acknowledged", 20, "the ack")
        finally:
            staff.close()
            proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = None
        pids = _pids(out.read_text()) | (_pids(robot_log.read_text()) if robot_log else set())
        leftover = group_members(pids)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        assert code == 0, out.read_text()[-2000:]
        assert len(pids) >= 11 and leftover == []  # robot runner, visitors and the 9 nodes


def _login(staff: StaffClient, password: str) -> bool:
    try:
        return staff.login("demo-admin", password).status_code == 303
    except httpx.HTTPError:
        return False  # not listening yet
