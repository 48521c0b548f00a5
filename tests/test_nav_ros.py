"""Navigation over real ROS 2 (DDS on loopback): map, planner, controller and simulator nodes as
processes; a goal on /goal_pose; the simulated robot arrives (its /odom within tolerance)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
from geometry_msgs.msg import PoseStamped  # noqa: E402
from nav_msgs.msg import OccupancyGrid, Odometry  # noqa: E402
from nav_msgs.msg import Path as PathMsg  # noqa: E402

from robot.navigation.nodes import LATCHED, RELIABLE, SENSOR  # noqa: E402
from tests.ros_support import spin_until, start_node, stop  # noqa: E402


def test_a_goal_on_goal_pose_is_planned_and_driven_to(ros_env: dict[str, str], tmp_path: Path) -> None:
    node = rclpy.create_node("test_operator")
    maps: list[OccupancyGrid] = []
    plans: list[PathMsg] = []
    odoms: list[Odometry] = []
    node.create_subscription(OccupancyGrid, "/map", maps.append, LATCHED)
    node.create_subscription(PathMsg, "/plan", plans.append, RELIABLE)
    node.create_subscription(Odometry, "/odom", odoms.append, SENSOR)
    goal_pub = node.create_publisher(PoseStamped, "/goal_pose", RELIABLE)
    procs = [
        start_node(ros_env, "robot.navigation.nodes", "map", log=tmp_path / "map.log"),
        start_node(
            ros_env,
            "robot.navigation.nodes",
            "sim",
            "x:=32.0",
            "y:=5.0",
            "speed:=4.0",
            log=tmp_path / "sim.log",
        ),
        start_node(ros_env, "robot.navigation.nodes", "planner", log=tmp_path / "planner.log"),
        start_node(ros_env, "robot.navigation.nodes", "controller", log=tmp_path / "controller.log"),
    ]
    goal = (20.0, 6.5)  # the straight line runs through the information desk
    try:
        spin_until(node, lambda: bool(maps) and bool(odoms), 60, "/map and /odom")
        spin_until(node, lambda: goal_pub.get_subscription_count() > 0, 60, "the planner on /goal_pose")
        # The planner needs /map and a pose before it can plan; it logs when the cost map is ready.
        spin_until(
            node, lambda: "cost map ready" in (tmp_path / "planner.log").read_text(), 60, "the cost map"
        )
        spin_until(node, lambda: node.count_subscribers("/plan") > 0, 60, "the controller on /plan")
        msg = PoseStamped()
        msg.header.frame_id = "map"
        msg.pose.position.x, msg.pose.position.y = goal
        msg.pose.orientation.w = 1.0
        goal_pub.publish(msg)
        spin_until(node, lambda: bool(plans), 30, "a plan on /plan")

        def arrived() -> bool:
            p = odoms[-1].pose.pose.position
            return math.dist((p.x, p.y), goal) < 0.3 and abs(odoms[-1].twist.twist.linear.x) < 0.05

        spin_until(node, arrived, 60, "the robot at the goal")
    finally:
        for proc in procs:
            stop(proc)
        node.destroy_node()
    grid = maps[0]
    assert grid.info.width == 1280 and grid.info.height == 840 and grid.info.resolution == pytest.approx(0.05)
    assert grid.header.frame_id == "map"
    path = [(p.pose.position.x, p.pose.position.y) for p in plans[0].poses]
    assert math.dist(path[0], (32.0, 5.0)) < 0.2 and path[-1] == pytest.approx(goal)
    assert len(path) >= 3  # around the information desk, not through it
