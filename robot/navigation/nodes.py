"""Navigation's ROS 2 nodes: thin shells on the standard topics around the pure core.

    map        building file → /map (nav_msgs/OccupancyGrid, transient local) for one floor
    planner    /map + /odom + /goal_pose (PoseStamped) → /plan (nav_msgs/Path)        [Planner]
    controller /plan + /odom + /scan → /cmd_vel (Twist), one command per scan         [Controller]
    sim        /cmd_vel → /odom (Odometry) + /scan (LaserScan), faster than real time [Simulator]

Run one with `python -m robot.navigation.nodes sim --ros-args -p speed:=5.0`. Parameters:
map: `building` (default: bundled), `floor` (1). planner: `robot_radius` (0.3). controller:
`max_v` (1.0), `goal_tolerance` (0.25). sim: `building`, `floor`, `x`, `y`, `yaw` (start pose),
`pedestrians` (0), `speed` (simulated seconds per second, 5.0), `dt` (0.05 s), `seed`.
Frames follow REP 105: paths and goals in `map`; the simulator's odometry is perfect, so its
`odom` frame coincides with `map` and poses from /odom are used as map poses.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence

import numpy as np
from geometry_msgs.msg import Pose, PoseStamped, Quaternion, Twist
from nav_msgs.msg import OccupancyGrid, Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import LaserScan

from lobby.ros import run_node
from robot.navigation.controller import Command, Controller, ControllerConfig, FloatArray
from robot.navigation.costmap import CostMap, clearance_grid
from robot.navigation.maps import DEFAULT_BUILDING, FloorMap, Pose2D, load_building
from robot.navigation.planner import Planner, PlanningError
from robot.navigation.scenario import clearance_lookup
from robot.navigation.simulator import Scan, Simulator

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
#: /map is latched, as map_server does: a planner started later still gets it.
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
SENSOR = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


# -- conversions (pure) ----------------------------------------------------------------------------


def yaw_quaternion(yaw: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2))


def quaternion_yaw(q: Quaternion) -> float:
    return math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z))


def grid_message(fmap: FloorMap) -> OccupancyGrid:
    msg = OccupancyGrid()
    msg.header.frame_id = "map"
    msg.info.resolution = float(fmap.resolution)
    msg.info.height, msg.info.width = fmap.shape
    msg.info.origin = Pose()
    msg.info.origin.position.x, msg.info.origin.position.y = fmap.origin
    msg.info.origin.orientation.w = 1.0
    data = np.where(fmap.unknown, -1, np.where(fmap.occupied, 100, 0)).astype(np.int8)
    msg.data = data.ravel().tolist()  # row-major from the origin: the grid's own layout
    return msg


def floor_map_from_grid(msg: OccupancyGrid, floor: int = 1) -> FloorMap:
    h, w = int(msg.info.height), int(msg.info.width)
    data = np.asarray(msg.data, dtype=np.int8).reshape(h, w)
    unknown = data < 0
    return FloorMap(
        floor=floor,
        resolution=float(msg.info.resolution),
        origin=(float(msg.info.origin.position.x), float(msg.info.origin.position.y)),
        occupied=(data >= 65) | unknown,
        unknown=unknown,
    )


def scan_from_message(msg: LaserScan) -> Scan:
    ranges = np.asarray(msg.ranges, dtype=np.float64)
    ranges = np.where(
        np.isfinite(ranges) & (ranges >= msg.range_min) & (ranges <= msg.range_max), ranges, np.inf
    )
    return Scan(float(msg.angle_min), float(msg.angle_increment), ranges, float(msg.range_max))


def odom_pose(msg: Odometry) -> Pose2D:
    p = msg.pose.pose
    return Pose2D(float(p.position.x), float(p.position.y), quaternion_yaw(p.orientation))


# -- nodes ------------------------------------------------------------------------------------------


class MapNode(Node):
    def __init__(self) -> None:
        super().__init__("map_server")
        building = load_building(str(self.declare_parameter("building", str(DEFAULT_BUILDING)).value))
        floor = int(self.declare_parameter("floor", 1).value)
        self.publisher = self.create_publisher(OccupancyGrid, "/map", LATCHED)
        msg = grid_message(building.floors[floor])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.publisher.publish(msg)
        self.get_logger().info(f"published floor {floor}: {msg.info.width}x{msg.info.height} cells")


class PlannerNode(Node):
    def __init__(self) -> None:
        super().__init__("planner")
        self.robot_radius = float(self.declare_parameter("robot_radius", 0.30).value)
        self.planner: Planner | None = None
        self.pose: Pose2D | None = None
        self.paths = self.create_publisher(PathMsg, "/plan", RELIABLE)
        self.create_subscription(OccupancyGrid, "/map", self._on_map, LATCHED)
        self.create_subscription(Odometry, "/odom", self._on_odom, SENSOR)
        self.create_subscription(PoseStamped, "/goal_pose", self._on_goal, RELIABLE)

    def _on_map(self, msg: OccupancyGrid) -> None:
        self.planner = Planner(CostMap(floor_map_from_grid(msg), self.robot_radius))
        self.get_logger().info("cost map ready")

    def _on_odom(self, msg: Odometry) -> None:
        self.pose = odom_pose(msg)

    def _on_goal(self, msg: PoseStamped) -> None:
        if self.planner is None or self.pose is None:
            self.get_logger().warning("goal ignored: no /map or /odom yet")
            return
        goal = (float(msg.pose.position.x), float(msg.pose.position.y))
        try:
            path = self.planner.plan((self.pose.x, self.pose.y), goal)
        except PlanningError as exc:
            self.get_logger().error(f"no path: {exc}")
            return
        out = PathMsg()
        out.header.frame_id = "map"
        out.header.stamp = self.get_clock().now().to_msg()
        for x, y in path.points:
            ps = PoseStamped()
            ps.header = out.header
            ps.pose.position.x, ps.pose.position.y = x, y
            ps.pose.orientation.w = 1.0
            out.poses.append(ps)
        self.paths.publish(out)
        self.get_logger().info(
            f"plan: {len(path.points)} points, {path.length_m:.1f} m, {path.planning_ms:.1f} ms"
        )


class ControllerNode(Node):
    def __init__(self) -> None:
        super().__init__("controller")
        config = ControllerConfig(
            max_v=float(self.declare_parameter("max_v", 1.0).value),
            goal_tolerance=float(self.declare_parameter("goal_tolerance", 0.25).value),
        )
        self.config = config
        self.controller: Controller | None = None
        self.pose: Pose2D | None = None
        self.lookup: Callable[[FloatArray, FloatArray], FloatArray] | None = None
        self.cmd = self.create_publisher(Twist, "/cmd_vel", RELIABLE)
        self.create_subscription(OccupancyGrid, "/map", self._on_map, LATCHED)
        self.create_subscription(PathMsg, "/plan", self._on_plan, RELIABLE)
        self.create_subscription(Odometry, "/odom", self._on_odom, SENSOR)
        self.create_subscription(LaserScan, "/scan", self._on_scan, SENSOR)

    def _on_map(self, msg: OccupancyGrid) -> None:
        """With the map, the controller tells people (unmapped returns) from walls."""
        fmap = floor_map_from_grid(msg)
        self.lookup = clearance_lookup(fmap, clearance_grid(fmap.occupied, fmap.resolution))

    def _on_plan(self, msg: PathMsg) -> None:
        points = [(float(p.pose.position.x), float(p.pose.position.y)) for p in msg.poses]
        self.controller = Controller(points, self.config, map_clearance=self.lookup) if points else None

    def _on_odom(self, msg: Odometry) -> None:
        self.pose = odom_pose(msg)

    def _on_scan(self, msg: LaserScan) -> None:
        if self.controller is None or self.pose is None:
            return
        command = self.controller.step(self.pose, scan_from_message(msg))
        twist = Twist()
        twist.linear.x, twist.angular.z = command.v, command.w
        self.cmd.publish(twist)
        if command.status == "arrived":
            self.get_logger().info("goal reached")
            self.controller = None


class SimNode(Node):
    def __init__(self) -> None:
        super().__init__("lobby_sim")
        param = self.declare_parameter
        building = load_building(str(param("building", str(DEFAULT_BUILDING)).value))
        floor = int(param("floor", 1).value)
        start = Pose2D(
            float(param("x", 32.0).value),
            float(param("y", 5.0).value),
            float(param("yaw", math.pi / 2).value),
        )
        self.dt = float(param("dt", 0.05).value)
        speed = float(param("speed", 5.0).value)
        self.sim = Simulator(building.floors[floor], start, seed=int(param("seed", 0).value))
        self.sim.add_pedestrians(int(param("pedestrians", 0).value), avoid=(start.x, start.y))
        self.command = Command()
        self.odom = self.create_publisher(Odometry, "/odom", SENSOR)
        self.scans = self.create_publisher(LaserScan, "/scan", SENSOR)
        self.create_subscription(Twist, "/cmd_vel", self._on_cmd, RELIABLE)
        self.create_timer(self.dt / speed, self._tick)

    def _on_cmd(self, msg: Twist) -> None:
        self.command = Command(float(msg.linear.x), float(msg.angular.z), "cmd_vel")

    def _tick(self) -> None:
        self.sim.step(self.command, self.dt)
        stamp = self.get_clock().now().to_msg()
        odom = Odometry()
        odom.header.frame_id, odom.child_frame_id = "odom", "base_link"
        odom.header.stamp = stamp
        odom.pose.pose.position.x, odom.pose.pose.position.y = self.sim.pose.x, self.sim.pose.y
        odom.pose.pose.orientation = yaw_quaternion(self.sim.pose.yaw)
        odom.twist.twist.linear.x, odom.twist.twist.angular.z = self.sim.v, self.sim.w
        self.odom.publish(odom)
        scan = self.sim.scan()
        msg = LaserScan()
        msg.header.frame_id, msg.header.stamp = "base_link", stamp
        msg.angle_min = scan.angle_min
        msg.angle_increment = scan.angle_increment
        msg.angle_max = scan.angle_min + scan.angle_increment * (len(scan.ranges) - 1)
        msg.range_min, msg.range_max = 0.05, scan.range_max
        msg.ranges = [float(r) for r in scan.ranges]
        self.scans.publish(msg)


NODES: dict[str, type[MapNode | PlannerNode | ControllerNode | SimNode]] = {
    "map": MapNode,
    "planner": PlannerNode,
    "controller": ControllerNode,
    "sim": SimNode,
}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m robot.navigation.nodes NAME [--ros-args ...]`."""
    return run_node("robot.navigation.nodes", NODES, argv)


if __name__ == "__main__":
    sys.exit(main())
