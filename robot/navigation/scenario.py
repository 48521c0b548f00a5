"""One escort run in the simulator, start to finish: plan, then step controller + simulator until
the escort ends or time runs out. Used by the benchmark and the tests; from the shell it draws the
run to a PNG:

    python -m robot.navigation.scenario --from-poi exit --to-poi window_1 [--pedestrians 8] [--seed 0] --out run.png
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from robot.navigation.controller import Controller, ControllerConfig, FloatArray
from robot.navigation.costmap import FloatGrid
from robot.navigation.escort import DONE, Escort, EscortConfig, EscortState
from robot.navigation.maps import FloorMap, Pose2D
from robot.navigation.planner import Path, Planner, Point
from robot.navigation.route import Instruction
from robot.navigation.simulator import Simulator, Visitor

DT = 0.1  # s: a 10 Hz control loop, as on the robot


@dataclass
class EscortRun:
    path: Path
    state: EscortState
    time_s: float
    distance_m: float
    moving_time_s: float  # time spent guiding (not waiting for the visitor)
    collisions: int
    said: list[str] = field(default_factory=list)
    robot: list[Point] = field(default_factory=list)
    visitor: list[Point] = field(default_factory=list)
    pedestrians: list[list[Point]] = field(default_factory=list)
    waits: int = 0

    @property
    def arrived(self) -> bool:
        return self.state is EscortState.ARRIVED

    @property
    def mean_speed(self) -> float:
        """Metres per second while guiding: the pace the visitor actually walked at."""
        return self.distance_m / self.moving_time_s if self.moving_time_s > 0 else 0.0


def clearance_lookup(fmap: FloorMap, clearance: FloatGrid) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """Vectorised (x, y) -> metres to the nearest mapped obstacle, for the controller."""

    def lookup(x: FloatArray, y: FloatArray) -> FloatArray:
        res = fmap.resolution
        h, w = clearance.shape
        ix = np.clip(np.floor((x - fmap.origin[0]) / res).astype(np.intp), 0, w - 1)
        iy = np.clip(np.floor((y - fmap.origin[1]) / res).astype(np.intp), 0, h - 1)
        return np.asarray(clearance[iy, ix], dtype=np.float64)

    return lookup


def run_escort(
    planner: Planner,
    start: Pose2D,
    goal: Point,
    *,
    seed: int = 0,
    pedestrians: int = 8,
    visitor_speed: float = 1.0,
    lag_rate_per_s: float = 0.02,
    max_time_s: float = 240.0,
    controller_config: ControllerConfig | None = None,
    escort_config: EscortConfig | None = None,
    destination: Instruction | None = None,
) -> EscortRun:
    path = planner.plan((start.x, start.y), goal)
    # The visitor stands a metre behind the robot, as when it has just said "please follow me".
    first = path.points[1] if len(path.points) > 1 else goal
    yaw = math.atan2(first[1] - start.y, first[0] - start.x)
    vis = _visitor_spot(planner, start, yaw)
    sim = Simulator(
        planner.costmap.fmap,
        Pose2D(start.x, start.y, yaw),
        visitor=Visitor(vis[0], vis[1], speed=visitor_speed, lag_rate_per_s=lag_rate_per_s),
        seed=seed,
        clearance=planner.costmap.clearance if not planner.costmap.people else None,
    )
    sim.add_pedestrians(pedestrians, avoid=(start.x, start.y))
    controller = Controller(
        list(path.points),
        controller_config or ControllerConfig(),
        map_clearance=clearance_lookup(sim.fmap, sim.dist),
    )
    escort = Escort(
        controller, destination or Instruction("目的地", "your destination"), escort_config or EscortConfig()
    )
    run = EscortRun(path, EscortState.GUIDING, 0.0, 0.0, 0.0, 0)
    while sim.t < max_time_s:
        assert sim.visitor is not None
        update = escort.step(sim.t, sim.pose, sim.scan(), (sim.visitor.x, sim.visitor.y))
        if update.say is not None:
            run.said.append(update.say.en)
            run.waits += update.state is EscortState.WAITING
        if update.state in DONE:
            break
        before = (sim.pose.x, sim.pose.y)
        sim.step(update.command, DT)
        if update.state is EscortState.GUIDING:
            run.moving_time_s += DT
            run.distance_m += math.dist(before, (sim.pose.x, sim.pose.y))
        run.robot.append((sim.pose.x, sim.pose.y))
        run.visitor.append((sim.visitor.x, sim.visitor.y))
        run.pedestrians.append([(p.x, p.y) for p in sim.pedestrians])
    run.state = escort.state
    run.time_s = sim.t
    run.collisions = sim.collisions
    return run


def _visitor_spot(planner: Planner, start: Pose2D, yaw: float) -> Point:
    """A free spot about a metre behind the robot (or beside it, if a wall is behind)."""
    for angle in (math.pi, 0.75 * math.pi, -0.75 * math.pi, 0.5 * math.pi, -0.5 * math.pi, 0.0):
        for dist in (1.0, 0.9, 0.8):
            x = start.x + dist * math.cos(yaw + angle)
            y = start.y + dist * math.sin(yaw + angle)
            if planner.costmap.clearance_at(x, y) >= 0.3:
                return (x, y)
    return (start.x, start.y)


def main(argv: Sequence[str] | None = None) -> int:
    from robot.navigation.costmap import CostMap
    from robot.navigation.maps import DEFAULT_BUILDING, load_building
    from robot.navigation.render import render

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--map", default=str(DEFAULT_BUILDING), help="building YAML")
    parser.add_argument("--from-poi", required=True)
    parser.add_argument("--to-poi", required=True, help="on the same floor as --from-poi")
    parser.add_argument("--pedestrians", type=int, default=8)
    parser.add_argument("--visitor-speed", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    building = load_building(args.map)
    a, b = building.poi(args.from_poi), building.poi(args.to_poi)
    if a.floor != b.floor:
        parser.error(
            f"{a.id} is on floor {a.floor} and {b.id} on floor {b.floor}: the simulator has one floor"
        )
    planner = Planner(CostMap(building.floors[a.floor]))
    run = run_escort(
        planner, a.pose, (b.pose.x, b.pose.y), seed=args.seed, pedestrians=args.pedestrians,
        visitor_speed=args.visitor_speed, destination=Instruction(b.name_ja, b.name_en),
    )  # fmt: skip
    title = f"{a.id} -> {b.id}: {run.state.value} in {run.time_s:.0f} s, {run.collisions} collisions"
    render(
        planner.costmap, args.out, path=run.path.points, robot=run.robot, visitor=run.visitor,
        pedestrians=run.pedestrians, pois=[p for p in building.pois.values() if p.floor == a.floor], title=title,
    )  # fmt: skip
    print(f"{title}; mean speed {run.mean_speed:.2f} m/s; said: {' / '.join(run.said)}; wrote {args.out}")
    return 0 if run.arrived and run.collisions == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
