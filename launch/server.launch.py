"""The edge server (`lobby server`: queue bridge, web page, fleet dashboard) in ROS 2 launch format.

    ros2 launch lobby_guide server.launch.py       # with ROS 2 launch installed
    lobby server                                   # the equivalent without it

The server is not a ROS node, so it is an `ExecuteProcess`; `launch` is imported only inside
`generate_launch_description()`.
"""

from __future__ import annotations

from typing import Any

from robot.launch_spec import ServerProcess, server_processes


def process_specs() -> list[ServerProcess]:
    return server_processes()


def generate_launch_description() -> Any:
    from launch.actions import ExecuteProcess

    from launch import LaunchDescription

    return LaunchDescription(
        [
            ExecuteProcess(cmd=list(p.argv), name=p.name, output="screen", sigterm_timeout="10")
            for p in process_specs()
        ]
    )
