"""Navigation over real ROS 2 (DDS on loopback): map, planner, controller and simulator nodes as
processes; a goal on /goal_pose; the simulated robot arrives (its /odom within tolerance)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
from domain_coordinator import domain_id  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from nav_msgs.msg import OccupancyGrid, Odometry  # noqa: E402
from nav_msgs.msg import Path as PathMsg  # noqa: E402
from rclpy.node import Node  # noqa: E402

from robot.navigation.nodes import LATCHED, RELIABLE, SENSOR  # noqa: E402


@pytest.fixture(scope="module")
def ros_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A ROS domain of our own, discovery on loopback only, logs in a temporary directory."""
    with domain_id() as domain:
        env = {
            **os.environ,
            "ROS_DOMAIN_ID": str(domain),
            "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
            "ROS_LOG_DIR": str(tmp_path_factory.mktemp("roslog")),
        }
        saved = {
            k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOG_DIR")
        }
        os.environ.update({k: env[k] for k in saved})
        rclpy.init()
        yield env
        rclpy.try_shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def start(env: dict[str, str], node: str, *params: str, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "robot.navigation.nodes", node, "--ros-args"]
    for p in params:
        args += ["-p", p]
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def spin_until(node: Node, done: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        rclpy.spin_once(node, timeout_sec=0.1)


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
        start(ros_env, "map", log=tmp_path / "map.log"),
        start(ros_env, "sim", "x:=32.0", "y:=5.0", "speed:=4.0", log=tmp_path / "sim.log"),
        start(ros_env, "planner", log=tmp_path / "planner.log"),
        start(ros_env, "controller", log=tmp_path / "controller.log"),
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
