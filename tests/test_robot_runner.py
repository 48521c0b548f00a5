"""The launch files and the runner without ROS: the node list, child death, stubborn children."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from robot.launch_spec import robot_nodes, server_processes
from robot.runner import Child, Runner

LAUNCH = Path(__file__).resolve().parent.parent / "launch"
PY = sys.executable


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"test_{path.stem.replace('.', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def group_members(pgids: set[int]) -> list[int]:
    """Processes still alive (not zombies) in any of the process groups, from /proc."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) in pgids:
            alive.append(int(entry.name))
    return alive


def test_launch_files_import_without_ros2_launch_and_expose_the_same_node_list() -> None:
    robot = load(LAUNCH / "robot.launch.py")
    server = load(LAUNCH / "server.launch.py")
    assert "launch" not in sys.modules and "launch_ros" not in sys.modules
    assert [n.name for n in robot.node_specs(sim=True)] == [n.name for n in robot_nodes(sim=True)]
    names = [n.name for n in robot.node_specs(sim=False)]
    assert "lobby_sim" not in names and {"behaviour", "robot_telemetry", "planner", "controller"} <= set(
        names
    )
    assert [p.argv for p in server.process_specs()] == [p.argv for p in server_processes()]
    if importlib.util.find_spec("launch") is None:  # with real ROS 2 launch this builds the description
        with pytest.raises(ModuleNotFoundError):
            robot.generate_launch_description()
    # Every node has a section in the parameter YAML (a typo would silently use defaults).
    params = (LAUNCH / "robot.yaml").read_text()
    for spec in robot_nodes(sim=True):
        assert f"\n{spec.name}:" in params, spec.name


def test_dry_run_lists_the_sim_nodes_with_their_parameters() -> None:
    out = subprocess.run(
        [PY, "-m", "lobby.cli", "robot", "--sim", "--without", "speech,perception", "--dry-run", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    import json

    nodes = {n["name"]: n["argv"] for n in json.loads(out)["nodes"]}
    assert set(nodes) == {"lobby_sim", "map_server", "planner", "controller", "behaviour", "robot_telemetry"}
    assert "simulate_battery:=true" in nodes["behaviour"]
    assert nodes["planner"][-2] == "--params-file" and nodes["planner"][-1].endswith("launch/robot.yaml")
    bad = subprocess.run(
        [PY, "-m", "lobby.cli", "robot", "--without", "wheels"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("lobby: error: unknown node group 'wheels'")


def test_a_dying_child_stops_the_others_and_a_stubborn_one_is_killed_with_its_children() -> None:
    lines: list[str] = []
    stubborn = Child(
        "stubborn",
        [PY, "-c", "import signal, subprocess, time; signal.signal(signal.SIGINT, signal.SIG_IGN);"
         "subprocess.Popen(['sleep', '60']); time.sleep(60)"],
    )  # fmt: skip
    dying = Child("dying", [PY, "-c", "import time, sys; time.sleep(1.0); sys.exit(3)"])
    runner = Runner([stubborn, dying], stop_timeout_s=1.0, report=lines.append)
    assert runner.run() == 1
    assert "dying exited with status 3" in lines
    assert any("stubborn did not stop" in line for line in lines)
    assert group_members({p.pid for p in runner.procs.values()}) == []


def test_the_runner_forwards_sigint_and_exits_zero() -> None:
    """`python -m robot.runner` with two well-behaved children, interrupted like Ctrl-C would."""
    proc = subprocess.Popen(
        [PY, "-m", "robot.runner", "--", "sleep", "60", "--", PY, "-c", "import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    pids = [int(proc.stdout.readline().split("pid ")[1].rstrip(")\n")) for _ in range(2)]
    os.kill(proc.pid, 2)
    assert proc.wait(timeout=20) == 0
    assert group_members(set(pids)) == []
