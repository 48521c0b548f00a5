"""All of one robot's nodes, parameters from launch/robot.yaml (standard ROS 2 Python launch format).

    ros2 launch lobby_guide robot.launch.py [sim:=true]      # with ROS 2 launch installed
    lobby robot [--sim]                                      # without it: the same node list

The node list lives in `robot/launch_spec.py`; this file only turns it into launch actions, and
imports `launch` / `launch_ros` inside `generate_launch_description()` so that `lobby robot` can read
`node_specs()` here on machines where ROS 2 launch does not exist (PyPI ROS wheels).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robot.launch_spec import PACKAGE, NodeSpec, robot_nodes

PARAMS = Path(__file__).resolve().with_name("robot.yaml")


def node_specs(sim: bool = False, without: frozenset[str] = frozenset()) -> list[NodeSpec]:
    return robot_nodes(sim=sim, without=without)


def generate_launch_description() -> Any:
    from launch.actions import DeclareLaunchArgument
    from launch.conditions import IfCondition
    from launch.substitutions import LaunchConfiguration
    from launch_ros.actions import Node

    from launch import LaunchDescription

    sim = LaunchConfiguration("sim")
    params = LaunchConfiguration("params")
    actions: list[Any] = [
        DeclareLaunchArgument("sim", default_value="false", description="run the 2-D simulator"),
        DeclareLaunchArgument("params", default_value=str(PARAMS), description="parameter YAML"),
    ]
    for spec in node_specs(sim=True):
        overrides = [{k: v == "true" if v in ("true", "false") else v for k, v in spec.sim_params.items()}]
        actions.append(
            Node(
                package=PACKAGE,
                executable=spec.executable,
                name=spec.name,
                parameters=[params, *(overrides if spec.sim_params else [])],
                output="screen",
                condition=IfCondition(sim) if spec.group == "sim" or spec.sim_params else None,
            )
        )
        if spec.sim_params:  # the same node on a real robot, without the simulation parameters
            from launch.conditions import UnlessCondition

            actions.append(
                Node(
                    package=PACKAGE,
                    executable=spec.executable,
                    name=spec.name,
                    parameters=[params],
                    output="screen",
                    condition=UnlessCondition(sim),
                )
            )
    return LaunchDescription(actions)
