"""A 2-D lobby: a differential-drive robot with a 360° lidar, walking pedestrians and a visitor
who follows the robot. Pure stepping (no clock, no display), so it runs as fast as numpy allows.

- Robot: unicycle kinematics with acceleration limits; the command is held for the step.
- Lidar: every beam marched through the occupancy grid in half-cell steps at once (one numpy
  gather), then intersected analytically with the people's circles; nearest return wins.
- Pedestrians walk between random mutually visible points, steering away from the robot and each
  other (a social-force push) and never into a wall; now and then they stop to read a sign.
- The visitor follows the robot's own trail (so never cuts corners into benches) at their own
  walking speed, keeps a personal distance, and sometimes falls behind for a few seconds.
- Collisions are counted, never prevented: the robot touching a wall (its centre closer than its
  radius to an occupied cell) or a person (discs overlapping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from robot.navigation.controller import Command
from robot.navigation.costmap import PERSON_RADIUS_M, ROBOT_RADIUS_M, FloatGrid, clearance_grid
from robot.navigation.maps import FloorMap, Pose2D

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scan:
    """A LaserScan in the robot's frame: beam i points at angle_min + i * angle_increment."""

    angle_min: float
    angle_increment: float
    ranges: FloatArray  # inf where nothing was hit within range_max
    range_max: float

    @property
    def angles(self) -> FloatArray:
        return self.angle_min + self.angle_increment * np.arange(len(self.ranges), dtype=np.float64)

    def points(self) -> tuple[FloatArray, FloatArray]:
        """Returns (x, y) in the robot frame of the beams that hit something."""
        hit = np.isfinite(self.ranges)
        a = self.angles[hit]
        r = self.ranges[hit]
        return r * np.cos(a), r * np.sin(a)


@dataclass
class Pedestrian:
    x: float
    y: float
    goal: tuple[float, float]
    speed: float = 1.1
    vx: float = 0.0
    vy: float = 0.0
    pause_s: float = 0.0


@dataclass
class Visitor:
    x: float
    y: float
    speed: float = 1.0  # preferred walking speed
    gap_m: float = 1.2  # how far behind the robot they like to walk
    lag_s: float = 0.0  # while > 0 they stand still (reading a notice, looking for their card)
    lag_rate_per_s: float = 0.02
    travelled_m: float = 0.0


@dataclass(frozen=True)
class SimConfig:
    robot_radius: float = ROBOT_RADIUS_M
    max_accel: float = 1.0  # m/s²
    max_ang_accel: float = 3.0  # rad/s²
    beams: int = 180
    range_max: float = 6.0
    person_radius: float = PERSON_RADIUS_M


@dataclass
class Simulator:
    fmap: FloorMap
    pose: Pose2D
    pedestrians: list[Pedestrian] = field(default_factory=list)
    visitor: Visitor | None = None
    config: SimConfig = field(default_factory=SimConfig)
    seed: int = 0
    t: float = 0.0
    v: float = 0.0
    w: float = 0.0
    collisions: int = 0
    trail: list[tuple[float, float]] = field(default_factory=list)
    #: Metres to the nearest occupied cell, per cell (computed from the map when not given).
    clearance: FloatGrid | None = None
    _in_contact: bool = False

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        given = self.clearance
        self.dist: FloatGrid = (
            given if given is not None else clearance_grid(self.fmap.occupied, self.fmap.resolution)
        )
        self.walkable = np.argwhere(self.dist >= 0.6)  # where pedestrians choose goals
        self.trail = [(self.pose.x, self.pose.y)]

    # -- stepping -------------------------------------------------------------------------------

    def step(self, cmd: Command, dt: float) -> None:
        self._move_robot(cmd, dt)
        for p in self.pedestrians:
            self._move_pedestrian(p, dt)
        if self.visitor is not None:
            self._move_visitor(self.visitor, dt)
        self.t += dt
        self._count_collision()

    def _move_robot(self, cmd: Command, dt: float) -> None:
        c = self.config
        self.v += float(np.clip(cmd.v - self.v, -c.max_accel * dt, c.max_accel * dt))
        self.w += float(np.clip(cmd.w - self.w, -c.max_ang_accel * dt, c.max_ang_accel * dt))
        yaw = self.pose.yaw + 0.5 * self.w * dt  # midpoint heading: exact enough at 20 Hz
        x = self.pose.x + self.v * math.cos(yaw) * dt
        y = self.pose.y + self.v * math.sin(yaw) * dt
        self.pose = Pose2D(
            x, y, math.atan2(math.sin(self.pose.yaw + self.w * dt), math.cos(self.pose.yaw + self.w * dt))
        )
        if math.dist(self.trail[-1], (x, y)) >= 0.1:
            self.trail.append((x, y))

    def clearance_at(self, x: float, y: float) -> float:
        ix, iy = self.fmap.to_cell(x, y)
        h, w = self.dist.shape
        return float(self.dist[iy, ix]) if 0 <= ix < w and 0 <= iy < h else 0.0

    def _move_pedestrian(self, p: Pedestrian, dt: float) -> None:
        if p.pause_s > 0:
            p.pause_s -= dt
            p.vx = p.vy = 0.0
            return
        dx, dy = p.goal[0] - p.x, p.goal[1] - p.y
        dist = math.hypot(dx, dy)
        if dist < 0.3:
            p.goal = self.random_visible_goal(p.x, p.y)
            if self.rng.random() < 0.3:
                p.pause_s = float(self.rng.uniform(1.0, 4.0))
            return
        fx, fy = p.speed * dx / dist, p.speed * dy / dist
        # Social force: people give the robot (and each other) room as they pass.
        others = [(self.pose.x, self.pose.y, self.config.robot_radius + 0.5)] + [
            (q.x, q.y, 2 * self.config.person_radius + 0.2) for q in self.pedestrians if q is not p
        ]
        for ox, oy, reach in others:
            ex, ey = p.x - ox, p.y - oy
            d = math.hypot(ex, ey)
            if 1e-6 < d < reach + 1.0:
                push = 2.0 * math.exp((reach - d) / 0.4)
                fx, fy = fx + push * ex / d, fy + push * ey / d
        speed = math.hypot(fx, fy)
        if speed > p.speed:
            fx, fy = fx * p.speed / speed, fy * p.speed / speed
        nx, ny = p.x + fx * dt, p.y + fy * dt
        if self.clearance_at(nx, ny) >= self.config.person_radius + 0.05:
            p.x, p.y, p.vx, p.vy = nx, ny, fx, fy
        else:
            p.goal = self.random_visible_goal(p.x, p.y)

    def _move_visitor(self, vis: Visitor, dt: float) -> None:
        if vis.lag_s > 0:
            vis.lag_s -= dt
            return
        if self.v > 0.2 and self.rng.random() < vis.lag_rate_per_s * dt:
            vis.lag_s = float(self.rng.uniform(3.0, 8.0))  # stops to read a notice board
            return
        # Walk along the robot's trail to the point gap_m behind it.
        robot = (self.pose.x, self.pose.y)
        if math.dist((vis.x, vis.y), robot) <= vis.gap_m:
            return
        target = self._trail_point_behind(vis)
        dx, dy = target[0] - vis.x, target[1] - vis.y
        d = math.hypot(dx, dy)
        if d < 1e-6:
            return
        step = min(vis.speed * dt, d)
        nx, ny = vis.x + step * dx / d, vis.y + step * dy / d
        if math.dist((nx, ny), robot) < self.config.robot_radius + self.config.person_radius + 0.3:
            return  # never walks into the robot
        vis.x, vis.y = nx, ny
        vis.travelled_m += step

    def _trail_point_behind(self, vis: Visitor) -> tuple[float, float]:
        """Where the visitor heads: the robot's trail point after the one nearest them (at least
        0.3 m on, so they keep walking), but never one within gap_m of the robot."""
        trail = self.trail
        pts = np.asarray(trail)
        near = int(np.argmin(np.hypot(pts[:, 0] - vis.x, pts[:, 1] - vis.y)))
        robot = (self.pose.x, self.pose.y)
        for i in range(near, len(trail)):
            if math.dist(trail[i], robot) <= vis.gap_m:
                return trail[max(i - 1, near)]
            if math.dist(trail[i], (vis.x, vis.y)) > 0.3:
                return trail[i]
        return trail[-1]

    def _count_collision(self) -> None:
        r = self.config.robot_radius
        touching = self.clearance_at(self.pose.x, self.pose.y) < r or any(
            math.hypot(p.x - self.pose.x, p.y - self.pose.y) < r + self.config.person_radius
            for p in self.pedestrians
        )
        if touching and not self._in_contact:
            self.collisions += 1  # one contact counts once, however long it lasts
        self._in_contact = touching

    # -- people -----------------------------------------------------------------------------------

    def random_visible_goal(self, x: float, y: float) -> tuple[float, float]:
        """A random walkable point in straight view of (x, y) (people walk straight at things)."""
        best = (x, y)
        for _ in range(30):
            iy, ix = self.walkable[self.rng.integers(len(self.walkable))]
            gx, gy = self.fmap.to_world(int(ix), int(iy))
            if math.dist((x, y), (gx, gy)) < 2.0:
                continue
            if self._sight_clearance((x, y), (gx, gy)) >= self.config.person_radius + 0.1:
                return (gx, gy)
        return best

    def _sight_clearance(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        n = max(2, int(math.dist(a, b) / 0.05))
        t = np.linspace(0.0, 1.0, n)
        res = self.fmap.resolution
        ix = np.floor((a[0] + t * (b[0] - a[0]) - self.fmap.origin[0]) / res).astype(np.intp)
        iy = np.floor((a[1] + t * (b[1] - a[1]) - self.fmap.origin[1]) / res).astype(np.intp)
        return float(self.dist[iy, ix].min())

    def add_pedestrians(self, n: int, avoid: tuple[float, float], keep_away_m: float = 2.0) -> None:
        """n people at random walkable spots at least `keep_away_m` from `avoid` (the robot's
        start), in the part of the floor connected to it (not behind the counters)."""
        labels, _ = ndimage.label(self.dist >= 0.6, structure=np.ones((3, 3)))
        ix, iy = self.fmap.to_cell(*avoid)
        here = labels[iy, ix] if 0 <= iy < labels.shape[0] and 0 <= ix < labels.shape[1] else 0
        if here:
            self.walkable = np.argwhere(labels == here)
        while len(self.pedestrians) < n:
            iy, ix = self.walkable[self.rng.integers(len(self.walkable))]
            x, y = self.fmap.to_world(int(ix), int(iy))
            if math.dist((x, y), avoid) < keep_away_m:
                continue
            self.pedestrians.append(
                Pedestrian(x, y, self.random_visible_goal(x, y), float(self.rng.uniform(0.8, 1.4)))
            )

    # -- sensing ----------------------------------------------------------------------------------

    def scan(self) -> Scan:
        c = self.config
        inc = 2 * math.pi / c.beams
        angles = -math.pi + inc * np.arange(c.beams)
        world = angles + self.pose.yaw
        cos, sin = np.cos(world), np.sin(world)
        res = self.fmap.resolution
        # One-cell steps: walls here are several cells thick, so no beam slips through one.
        steps = np.arange(1, int(c.range_max / res) + 1) * res
        xs = self.pose.x + np.outer(cos, steps)
        ys = self.pose.y + np.outer(sin, steps)
        ix = np.floor((xs - self.fmap.origin[0]) / res).astype(np.intp)
        iy = np.floor((ys - self.fmap.origin[1]) / res).astype(np.intp)
        h, w = self.fmap.occupied.shape
        outside = (ix < 0) | (iy < 0) | (ix >= w) | (iy >= h)
        hit = outside | self.fmap.occupied[np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        ranges = np.where(first >= 0, steps[np.maximum(first, 0)], np.inf)
        people = [(p.x, p.y) for p in self.pedestrians]
        if self.visitor is not None:
            people.append((self.visitor.x, self.visitor.y))
        for px, py in people:  # ray-circle intersection: |o + t d - p|² = r²
            ox, oy = self.pose.x - px, self.pose.y - py
            b = ox * cos + oy * sin
            disc = b * b - (ox * ox + oy * oy - c.person_radius**2)
            t_hit = -b - np.sqrt(np.maximum(disc, 0.0))
            ok = (disc >= 0) & (t_hit > 0) & (t_hit < c.range_max)
            ranges = np.where(ok & (t_hit < ranges), t_hit, ranges)
        return Scan(angle_min=-math.pi, angle_increment=inc, ranges=ranges, range_max=c.range_max)
