"""The robot's node list, in one place: `launch/robot.launch.py` turns it into ROS 2 launch actions
when real ROS 2 launch is installed, and `lobby robot` (robot/runner.py) starts the same list as
child processes when it is not. Plain data: importing this never imports `launch` or `rclpy`.

Each node runs as `python -m MODULE ARG --ros-args --params-file launch/robot.yaml`; the YAML has one
section per node name (the standard ROS 2 parameter file). `executable` is the console script an
ament_python install would provide for `launch_ros.actions.Node` (see `entry_points()`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "lobby_guide"
GROUPS = ("navigation", "sim", "behaviour", "fleet", "speech", "perception")


@dataclass(frozen=True)
class NodeSpec:
    name: str  # the ROS node name: its section in the parameter YAML
    module: str  # python -m MODULE ARG
    arg: str
    group: str  # navigation | sim | behaviour | fleet | speech | perception
    #: Parameters that only apply to the simulated robot (`lobby robot --sim`).
    sim_params: dict[str, str] = field(default_factory=dict)

    @property
    def executable(self) -> str:
        return f"lobby_{self.arg}" if self.module != "robot.nodes" else f"lobby_robot_{self.arg}"

    def command(
        self, params_file: Path | None = None, *, sim: bool = False, python: str | None = None
    ) -> list[str]:
        argv = [python or sys.executable, "-m", self.module, self.arg, "--ros-args"]
        if params_file is not None:
            argv += ["--params-file", str(params_file)]
        for key, value in (self.sim_params if sim else {}).items():
            argv += ["-p", f"{key}:={value}"]
        return argv


_NODES = (
    NodeSpec("lobby_sim", "robot.navigation.nodes", "sim", "sim"),
    NodeSpec("map_server", "robot.navigation.nodes", "map", "navigation"),
    NodeSpec("planner", "robot.navigation.nodes", "planner", "navigation"),
    NodeSpec("controller", "robot.navigation.nodes", "controller", "navigation"),
    NodeSpec(
        "behaviour",
        "robot.nodes",
        "behaviour",
        "behaviour",
        sim_params={"simulate_battery": "true", "visitor_source": "follow"},
    ),
    NodeSpec("robot_telemetry", "robot.nodes", "telemetry", "fleet"),
    NodeSpec("speech_listener", "speech.nodes", "listener", "speech"),
    NodeSpec("dialogue", "speech.nodes", "dialogue", "speech"),
    NodeSpec("speaker", "speech.nodes", "speaker", "speech"),
    NodeSpec("perception_faces", "perception.nodes", "faces", "perception"),
)


def robot_nodes(sim: bool = False, without: frozenset[str] | set[str] = frozenset()) -> list[NodeSpec]:
    """The nodes of one robot. The simulator replaces the drivers of a real base (odometry, lidar)."""
    return [n for n in _NODES if (sim or n.group != "sim") and n.group not in without]


def entry_points() -> list[str]:
    """console_scripts for setup.py, so that `launch_ros.actions.Node(executable=...)` finds them."""
    return [f"{n.executable} = robot.launch_spec:{n.module.replace('.', '_')}__{n.arg}" for n in _NODES]


def _main(module: str, arg: str) -> int:
    import importlib

    main = importlib.import_module(module).main
    return int(main([arg, *sys.argv[1:]]))


# One callable per node for the console scripts above (a console script cannot pass an argument).
def robot_navigation_nodes__sim() -> int:
    return _main("robot.navigation.nodes", "sim")


def robot_navigation_nodes__map() -> int:
    return _main("robot.navigation.nodes", "map")


def robot_navigation_nodes__planner() -> int:
    return _main("robot.navigation.nodes", "planner")


def robot_navigation_nodes__controller() -> int:
    return _main("robot.navigation.nodes", "controller")


def robot_nodes__behaviour() -> int:
    return _main("robot.nodes", "behaviour")


def robot_nodes__telemetry() -> int:
    return _main("robot.nodes", "telemetry")


def speech_nodes__listener() -> int:
    return _main("speech.nodes", "listener")


def speech_nodes__dialogue() -> int:
    return _main("speech.nodes", "dialogue")


def speech_nodes__speaker() -> int:
    return _main("speech.nodes", "speaker")


def perception_nodes__faces() -> int:
    return _main("perception.nodes", "faces")


@dataclass(frozen=True)
class ServerProcess:
    """The edge server is not a ROS node: one `lobby server` process."""

    name: str
    argv: tuple[str, ...]


def server_processes(python: str | None = None) -> list[ServerProcess]:
    return [ServerProcess("lobby_server", (python or sys.executable, "-m", "lobby.cli", "server"))]


def _share_or_checkout(name: str) -> Path:
    checkout = Path(__file__).resolve().parent.parent / "launch" / name
    installed = Path(sys.prefix) / "share" / PACKAGE / "launch" / name
    return checkout if checkout.exists() or not installed.exists() else installed


def default_launch_file() -> Path:
    return _share_or_checkout("robot.launch.py")


def default_params_file() -> Path:
    return _share_or_checkout("robot.yaml")
