"""`lobby robot`: start the robot's nodes (or a simulated robot) without ROS 2 launch.

Reads the node list from the launch file (`node_specs()` in launch/robot.launch.py, which takes it
from robot/launch_spec.py), gives every node the parameter YAML, and runs them with robot/runner.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from robot.launch_spec import GROUPS, NodeSpec, default_launch_file, default_params_file


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--launch", type=Path, help="launch file whose node list to run (default launch/robot.launch.py)"
    )
    p.add_argument("--params", type=Path, help="parameter YAML for the nodes (default launch/robot.yaml)")
    p.add_argument(
        "--sim", action="store_true", help="a simulated robot: the 2-D simulator replaces base and lidar"
    )
    p.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="GROUP",
        help=f"leave out a group of nodes ({', '.join(GROUPS)}); repeat or separate with commas",
    )
    p.add_argument("--stop-timeout", type=float, default=10.0, help="seconds to wait for nodes to stop (10)")
    p.add_argument("--keep-going", action="store_true", help="keep the other nodes running when one dies")
    p.add_argument("--dry-run", action="store_true", help="print the node commands instead of running them")


def load_node_specs(launch_file: Path, sim: bool, without: frozenset[str]) -> list[NodeSpec]:
    """The launch file's node list, read without importing ROS 2 launch."""
    from lobby.errors import CliError

    if not launch_file.is_file():
        raise CliError(f"no launch file {launch_file}")
    spec = importlib.util.spec_from_file_location("lobby_robot_launch", launch_file)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot load launch file {launch_file}")
    module: Any = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise CliError(f"cannot load launch file {launch_file}: {exc}") from None
    if not hasattr(module, "node_specs"):
        raise CliError(f"{launch_file} has no node_specs(): not a Lobby Guide launch file")
    return list(module.node_specs(sim=sim, without=without))


def _env(args: argparse.Namespace) -> dict[str, str]:
    """Settings reach the nodes as LOBBY_* variables (ROS parameters are world-readable: no secrets)."""
    env = dict(os.environ)
    for flag, name in (
        ("mqtt_host", "LOBBY_MQTT_HOST"), ("mqtt_port", "LOBBY_MQTT_PORT"),
        ("site", "LOBBY_SITE_FILE"), ("config", "LOBBY_CONFIG"),
    ):  # fmt: skip
        value = getattr(args, flag, None)
        if value is not None:
            env[name] = str(Path(value).resolve()) if isinstance(value, Path) else str(value)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if args.sim:  # a simulated robot talks to nobody else's DDS
        env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    return env


def run(args: argparse.Namespace) -> int:
    from lobby.errors import CliError
    from robot.runner import Child, Runner

    without = frozenset(g.strip() for item in args.without for g in item.split(",") if g.strip())
    unknown = without - set(GROUPS)
    if unknown:
        raise CliError(f"unknown node group {sorted(unknown)[0]!r} (groups: {', '.join(GROUPS)})")
    launch_file = args.launch or default_launch_file()
    params = args.params or default_params_file()
    if not params.is_file():
        raise CliError(f"no parameter file {params}")
    specs = load_node_specs(launch_file, args.sim, without)
    if not specs:
        raise CliError("no nodes left to run")
    children = [Child(s.name, s.command(params.resolve(), sim=args.sim)) for s in specs]
    if args.dry_run:
        if args.json:
            print(json.dumps({"nodes": [{"name": c.name, "argv": list(c.argv)} for c in children]}))
        else:
            for c in children:
                print(f"{c.name}: {' '.join(c.argv)}")
        return 0

    def report(line: str) -> None:
        print(json.dumps({"runner": line}) if args.json else f"lobby robot: {line}", flush=True)

    report(f"{len(children)} nodes from {launch_file}{' (simulated robot)' if args.sim else ''}")
    return Runner(
        children, _env(args), stop_timeout_s=args.stop_timeout, keep_going=args.keep_going, report=report
    ).run()
