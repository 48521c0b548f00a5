"""Local controller: follow the global path, avoid what the lidar sees, slow near people, stop for
anything in the safety zone. Pure: (pose, scan) in, a Twist-like `Command` out; the only state is
how far along the path the robot has got.

Each step:
1. Carrot. Project the robot on the path (searching forward from last time, so a path that
   doubles back is not short-cut) and take the point `lookahead` further along.
2. Speed limit. The smallest of: the configured maximum (or the caller's, e.g. the escort's pace),
   braking to stop at the goal, the turn ahead, and — for returns the map does not explain, i.e.
   people — a ramp from full speed at `slow_distance` down to a crawl near the safety zone.
3. Safety zone. Any return in the rectangle just ahead of the robot's body: v = 0 (the robot may
   still turn in place: a round robot cannot hit anything by turning).
4. Dynamic window. Candidate arcs (v, w) within the limits are rolled out by length (2 m, so a
   slow arc straight at a person is as blocked as a fast one) against the scan's points; an arc is
   admissible if the robot can brake before its first contact (robot radius + `arc_margin`). The
   rest are scored by how close they stay to where a perfect tracker at their speed would be after
   `horizon` seconds, their heading, their free length and their speed. None admissible: turn in
   place toward the carrot and report `blocked`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from robot.navigation.costmap import ROBOT_RADIUS_M
from robot.navigation.maps import Pose2D

if TYPE_CHECKING:
    from robot.navigation.simulator import Scan

FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]


@dataclass(frozen=True)
class Command:
    v: float = 0.0  # m/s forward
    w: float = 0.0  # rad/s counter-clockwise
    status: str = "idle"  # following | slowing | turning | blocked | arrived | idle


@dataclass(frozen=True)
class ControllerConfig:
    robot_radius: float = ROBOT_RADIUS_M
    max_v: float = 1.0
    max_w: float = 1.6
    max_accel: float = 1.0
    lookahead: float = 1.0
    goal_tolerance: float = 0.25
    #: The safety zone: this far beyond the body ahead, this much beside it.
    stop_distance: float = 0.25
    stop_side: float = 0.0
    #: People (returns the map does not explain) closer than this slow the robot down.
    slow_distance: float = 1.8
    slow_min_v: float = 0.25
    #: Scan returns lie on obstacles' surfaces, half a cell nearer than the cell centres the
    #: planner's margin (0.075 m) is measured to: stay under 0.05 m so every planned path is driveable.
    arc_margin: float = 0.03
    horizon: float = 1.6
    #: How far along each candidate arc obstacles are looked for.
    probe_length: float = 2.0
    #: A return within this of a mapped obstacle is the map; further, it is a person or object.
    map_tolerance: float = 0.25


@dataclass
class Controller:
    path: list[Point]
    config: ControllerConfig = field(default_factory=ControllerConfig)
    #: Optional static clearance lookup (metres to the nearest mapped obstacle) to tell people
    #: from walls; without it every return counts as a person.
    map_clearance: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    progress: int = 0  # index of the path segment the robot is on

    def step(self, pose: Pose2D, scan: Scan | None, speed_limit: float | None = None) -> Command:
        c = self.config
        goal = self.path[-1]
        to_goal = math.dist((pose.x, pose.y), goal)
        if to_goal < c.goal_tolerance:
            return Command(0.0, 0.0, "arrived")
        carrot = self._carrot(pose)
        xs, ys = _to_robot_frame(pose, scan) if scan is not None else (np.zeros(0), np.zeros(0))
        v_max = min(c.max_v, speed_limit if speed_limit is not None else c.max_v)
        v_max = min(v_max, math.sqrt(2 * 0.6 * c.max_accel * max(to_goal - c.goal_tolerance * 0.5, 0.0)))
        heading_err = _wrap(math.atan2(carrot[1] - pose.y, carrot[0] - pose.x) - pose.yaw)
        v_max *= max(0.0, math.cos(heading_err)) ** 2  # turn first, then go
        status = "following"
        people = self._people_distance(pose, xs, ys)
        if people < c.slow_distance:
            near = c.robot_radius + c.stop_distance
            ramp = max(0.0, (people - near) / (c.slow_distance - near))
            slowed = c.slow_min_v + (c.max_v - c.slow_min_v) * ramp
            if slowed < v_max:
                v_max, status = slowed, "slowing"
        if self._in_safety_zone(xs, ys):
            # Turning in place is always safe for a round robot, and often unblocks the zone.
            return Command(0.0, self._turn_toward(heading_err) if abs(heading_err) > 0.15 else 0.0, "blocked")
        if v_max < 0.05:  # facing away from the path (or at the goal): turn in place first
            return Command(0.0, self._turn_toward(heading_err), "turning")
        best = self._best_arc(pose, carrot, xs, ys, v_max)
        if best is None:
            return Command(0.0, self._turn_toward(heading_err), "blocked")
        return Command(best[0], best[1], status)

    # -- pieces ------------------------------------------------------------------------------

    def _carrot(self, pose: Pose2D) -> Point:
        """The point `lookahead` metres along the path past the robot's projection on it."""
        path = self.path
        if len(path) == 1:
            return path[0]
        best_i, best_d = self.progress, math.inf
        for i in range(self.progress, min(self.progress + 6, len(path) - 1)):
            _, d = _project((pose.x, pose.y), path[i], path[i + 1])
            if d < best_d - 1e-9:
                best_i, best_d = i, d
        self.progress = best_i
        return self._along(pose, self.config.lookahead)

    def _along(self, pose: Pose2D, distance: float) -> Point:
        """The path point `distance` metres past the robot's projection on its current segment."""
        path = self.path
        if len(path) == 1:
            return path[0]
        a, b = path[self.progress], path[self.progress + 1]
        t, _ = _project((pose.x, pose.y), a, b)
        here = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
        remaining = distance
        for i in range(self.progress, len(path) - 1):
            nxt = path[i + 1]
            seg = math.dist(here, nxt)
            if seg >= remaining:
                f = remaining / seg if seg > 0 else 0.0
                return (here[0] + f * (nxt[0] - here[0]), here[1] + f * (nxt[1] - here[1]))
            remaining -= seg
            here = nxt
        return path[-1]

    def _in_safety_zone(self, xs: FloatArray, ys: FloatArray) -> bool:
        c = self.config
        ahead = (
            (xs > 0) & (xs < c.robot_radius + c.stop_distance) & (np.abs(ys) < c.robot_radius + c.stop_side)
        )
        return bool(ahead.any())

    def _people_distance(self, pose: Pose2D, xs: FloatArray, ys: FloatArray) -> float:
        """Distance to the nearest return ahead (±70°) that the map does not explain."""
        front = (xs > 0) & (np.abs(np.arctan2(ys, np.maximum(xs, 1e-9))) < math.radians(70))
        if not front.any():
            return math.inf
        d = np.hypot(xs[front], ys[front])
        lookup = self.map_clearance
        if lookup is not None:
            c, s = math.cos(pose.yaw), math.sin(pose.yaw)
            wx = pose.x + c * xs[front] - s * ys[front]
            wy = pose.y + s * xs[front] + c * ys[front]
            unexplained = np.asarray(lookup(wx, wy)) > self.config.map_tolerance
            d = d[unexplained]
        return float(d.min()) if len(d) else math.inf

    def _best_arc(
        self, pose: Pose2D, carrot: Point, xs: FloatArray, ys: FloatArray, v_max: float
    ) -> tuple[float, float] | None:
        c = self.config
        vs = np.linspace(v_max, 0.15 * v_max, 5)
        ws = np.linspace(-c.max_w, c.max_w, 17)
        V, W = (a.ravel() for a in np.meshgrid(vs, ws, indexing="ij"))
        kappa = W / V  # curvature: each (v, w) is a circle arc (or a line)
        # Roll every arc out by length (not time), so a slow arc straight at a person is as
        # blocked as a fast one; `free` is how far along it the robot's body stays clear.
        s = np.linspace(c.probe_length / 16, c.probe_length, 16)
        ax, ay = _arc(kappa, s[None, :])
        near = np.hypot(xs, ys) < c.probe_length + c.robot_radius + 0.5
        px, py = xs[near], ys[near]
        if len(px):
            d = np.hypot(ax[:, :, None] - px[None, None, :], ay[:, :, None] - py[None, None, :]).min(axis=2)
        else:
            d = np.full(ax.shape, np.inf)
        hit = d < c.robot_radius + c.arc_margin
        first_hit = np.where(hit.any(axis=1), hit.argmax(axis=1), len(s))
        free = np.where(first_hit > 0, s[np.maximum(first_hit - 1, 0)], 0.0)
        free[first_hit == len(s)] = c.probe_length
        # Admissible: the robot can still stop before the first contact on its arc.
        ok = np.sqrt(2 * c.max_accel * 0.8 * np.maximum(free - 0.05, 0.0)) >= V
        if not ok.any():
            return None
        # Where each arc is after the horizon, compared with where a perfect tracker at the same
        # speed would be (so no speed is favoured just because its arc ends at the carrot) ...
        ex_r, ey_r = _arc(kappa, (V * c.horizon)[:, None])
        ex_r, ey_r = ex_r[:, 0], ey_r[:, 0]
        cy, sy = math.cos(pose.yaw), math.sin(pose.yaw)
        ex = pose.x + cy * ex_r - sy * ey_r
        ey = pose.y + sy * ex_r + cy * ey_r
        targets = {float(v): self._along(pose, float(v) * c.horizon) for v in vs}
        aims = {float(v): self._along(pose, float(v) * c.horizon + c.lookahead) for v in vs}
        tx = np.array([targets[float(v)][0] for v in V])
        ty = np.array([targets[float(v)][1] for v in V])
        off_path = np.hypot(ex - tx, ey - ty)
        # ... and then heading for the path beyond that point.
        end_heading = pose.yaw + W * c.horizon
        want = np.arctan2(
            np.array([aims[float(v)][1] for v in V]) - ey, np.array([aims[float(v)][0] for v in V]) - ex
        )
        heading_cost = np.abs(np.angle(np.exp(1j * (want - end_heading))))
        to_carrot = math.atan2(carrot[1] - pose.y, carrot[0] - pose.x)
        first_heading = np.abs(np.angle(np.exp(1j * (pose.yaw + W * 0.3 - to_carrot))))
        score = (
            -1.0 * off_path - 0.3 * heading_cost - 0.8 * first_heading + 1.5 * free / c.probe_length + 0.8 * V
        )
        score[~ok] = -np.inf
        i = int(np.argmax(score))
        return float(V[i]), float(W[i])

    def _turn_toward(self, heading_err: float) -> float:
        return float(np.clip(1.5 * heading_err, -self.config.max_w, self.config.max_w))


def _arc(kappa: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Points at arc lengths `s` (broadcast against one row per arc) along circles of curvature
    `kappa` that start at the origin heading along +x."""
    k = kappa[:, None]
    straight = np.abs(k) < 1e-6
    safe_k = np.where(straight, 1.0, k)
    x = np.where(straight, s, np.sin(safe_k * s) / safe_k)
    y = np.where(straight, 0.0, (1 - np.cos(safe_k * s)) / safe_k)
    return np.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape)), np.broadcast_to(
        y, np.broadcast_shapes(x.shape, y.shape)
    )


def _to_robot_frame(pose: Pose2D, scan: Scan) -> tuple[FloatArray, FloatArray]:
    del pose  # scans are already in the robot frame
    return scan.points()


def _project(p: Point, a: Point, b: Point) -> tuple[float, float]:
    """(t in [0, 1] along a→b of p's projection, distance from p to it)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    seg2 = dx * dx + dy * dy
    t = 0.0 if seg2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / seg2))
    return t, math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def _wrap(a: float) -> float:
    return math.atan2(math.sin(a), math.cos(a))
