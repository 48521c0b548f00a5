"""Navigation: planning time and path length against scikit-image's MCP_Geometric, and escort runs.

1. Planning. Random start/goal pairs (5 cm cell centres, both ends safe and connected) on the
   project's two 64 m x 42 m floors and on randomly generated 60 m x 40 m office floors (rooms off
   corridors, doors, desks). Each pair is planned by our planner (`robot.navigation.planner`) and,
   in the same run on the same cost field, by `skimage.graph.MCP_Geometric` (8-connected Dijkstra
   on the 5 cm grid, compiled; it stops when the goal is reached). Both search the same cells (safe
   for the robot) with the same per-metre cost (1 + comfort cost near obstacles). Per-map setup
   (our lattice, MCP's constructor) is timed apart from the queries.
2. Escorts. Randomized runs in the simulator on both floors: random start and goal, 6-12 walking
   pedestrians, a visitor of random walking speed who now and then stops for a few seconds.
   Run 0 (the entrance to window 1, around the benches) is drawn to docs/escort.png.

Targets (exit status 1 if missed): planning >= 5x faster than MCP (median of per-query ratios) with
mean length ratio <= 1.0; p95 planning time <= 50 ms on the project floors; escorts >= 98 % arrive,
0 collisions, mean guiding speed >= 0.6 m/s.

    .venv/bin/python -m bench.navigation [--pairs 25] [--maps 4] [--map-pairs 10] [--runs 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from skimage.graph import MCP_Geometric

from bench.common import machine_note, median, percentile, show
from robot.navigation.costmap import CostMap
from robot.navigation.maps import Building, FloorMap, Pose2D, load_building
from robot.navigation.planner import Planner, PlanningError
from robot.navigation.render import render
from robot.navigation.route import Instruction
from robot.navigation.scenario import EscortRun, run_escort

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "escort.png"
Cell = tuple[int, int]  # (row, col) = (iy, ix)


# -- maps ------------------------------------------------------------------------------------------


def office_map(seed: int, width_m: float = 60.0, height_m: float = 40.0, res: float = 0.05) -> FloorMap:
    """An office floor: a corridor along the middle and one across, rooms off them with a door
    each, desks and cabinets inside; walls 15 cm."""
    rng = np.random.default_rng(seed)
    h, w = round(height_m / res), round(width_m / res)
    occ = np.zeros((h, w), dtype=bool)

    def box(x0: float, y0: float, x1: float, y1: float, value: bool = True) -> None:
        occ[max(round(y0 / res), 0) : round(y1 / res), max(round(x0 / res), 0) : round(x1 / res)] = value

    t = 0.15
    box(0, 0, width_m, t)
    box(0, height_m - t, width_m, height_m)
    box(0, 0, t, height_m)
    box(width_m - t, 0, width_m, height_m)
    cy = float(rng.uniform(17, 21))  # main corridor, 2.4 m wide
    cx = float(rng.uniform(24, 36))  # cross corridor, 2.4 m wide
    for side, (y0, y1) in (("south", (t, cy)), ("north", (cy + 2.4, height_m - t))):
        for xa, xb in ((t, cx), (cx + 2.4, width_m - t)):
            x = xa
            while x < xb - 3:
                room_w = min(float(rng.uniform(5, 10)), xb - x)
                if xb - (x + room_w) < 3:
                    room_w = xb - x
                wall_y = y1 if side == "south" else y0
                box(x, wall_y - t / 2, x + room_w, wall_y + t / 2)  # wall on the corridor
                box(x + room_w - t / 2, y0, x + room_w + t / 2, y1)  # wall to the next room
                door = float(rng.uniform(x + 0.6, x + room_w - 1.8))
                box(door, wall_y - t, door + 1.1, wall_y + t, False)
                for _ in range(int(rng.integers(0, 5))):  # desks, kept off the door
                    dw, dh = float(rng.uniform(1.2, 2.0)), float(rng.uniform(0.6, 0.9))
                    dx = float(rng.uniform(x + 0.3, x + room_w - dw - 0.3))
                    dy = float(rng.uniform(y0 + 0.3, y1 - dh - 0.3))
                    near_door_y = abs((dy + dh / 2) - wall_y) < 2.5
                    if near_door_y and dx < door + 2.5 and dx + dw > door - 1.5:
                        continue
                    box(dx, dy, dx + dw, dy + dh)
                x += room_w
    box(cx - t / 2, t, cx + t / 2, cy)  # the cross corridor's walls
    box(cx + 2.4 - t / 2, t, cx + 2.4 + t / 2, cy)
    box(cx - t / 2, cy + 2.4, cx + t / 2, height_m - t)
    box(cx + 2.4 - t / 2, cy + 2.4, cx + 2.4 + t / 2, height_m - t)
    box(cx, t, cx + 2.4, cy + 2.4, False)
    box(t, cy, width_m - t, cy + 2.4, False)
    return FloorMap(floor=0, resolution=res, origin=(0.0, 0.0), occupied=occ, unknown=np.zeros_like(occ))


# -- planning --------------------------------------------------------------------------------------


@dataclass
class Query:
    ours_ms: float
    ref_ms: float
    ours_m: float
    ref_m: float


def pairs(cm: CostMap, n: int, seed: int) -> list[tuple[Cell, Cell]]:
    """Random safe start/goal cells at least 5 m apart in the same connected free region."""
    labels, _ = ndimage.label(cm.safe, structure=np.ones((3, 3)))
    cells = np.argwhere(cm.safe)
    rng = np.random.default_rng(seed)
    out: list[tuple[Cell, Cell]] = []
    while len(out) < n:
        a, b = (tuple(int(v) for v in cells[rng.integers(len(cells))]) for _ in range(2))
        if labels[a] == labels[b] and math.dist(a, b) * cm.fmap.resolution >= 5.0:
            out.append((a, b))  # type: ignore[arg-type]
    return out


def compare(cm: CostMap, queries: Sequence[tuple[Cell, Cell]]) -> tuple[list[Query], int, float, float]:
    """Per-query figures, how many pairs our planner could not solve, and the setup seconds."""
    t0 = time.perf_counter()
    planner = Planner(cm)
    _ = planner.lattice.graph
    ours_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    costs: npt.NDArray[np.float64] = np.where(cm.safe, 1.0 + cm.cost.astype(np.float64), -1.0)
    mcp = MCP_Geometric(costs, fully_connected=True)
    ref_setup = time.perf_counter() - t0
    res = cm.fmap.resolution
    out: list[Query] = []
    failures = 0
    for a, b in queries:
        start, goal = cm.fmap.to_world(a[1], a[0]), cm.fmap.to_world(b[1], b[0])
        t0 = time.perf_counter()
        try:
            path = planner.plan(start, goal)
        except PlanningError:
            failures += 1
            continue
        ours_ms = (time.perf_counter() - t0) * 1e3
        t0 = time.perf_counter()
        mcp.find_costs([a], [b], find_all_ends=True)
        cells = np.asarray(mcp.traceback(b), dtype=np.float64)
        ref_ms = (time.perf_counter() - t0) * 1e3
        ref_m = float(np.hypot(*np.diff(cells, axis=0).T).sum()) * res
        out.append(Query(ours_ms, ref_ms, path.length_m, ref_m))
    return out, failures, ours_setup, ref_setup


def summarize(
    title: str, queries: list[Query], failures: int, setup: tuple[float, float]
) -> dict[str, float]:
    ours = [q.ours_ms for q in queries]
    ref = [q.ref_ms for q in queries]
    speedup = [q.ref_ms / q.ours_ms for q in queries]
    length = [q.ours_m / q.ref_m for q in queries]
    show(
        title,
        {
            "queries (ours found no path)": f"{len(queries)} ({failures})",
            "ours ms p50 / p95 / max": f"{median(ours):.1f} / {percentile(ours, 95):.1f} / {max(ours):.1f}",
            "MCP_Geometric ms p50 / p95 / max": f"{median(ref):.1f} / {percentile(ref, 95):.1f} / {max(ref):.1f}",
            "speed-up MCP/ours p50 / min (per query)": f"{median(speedup):.1f}x / {min(speedup):.1f}x",
            "total time MCP / ours": f"{sum(ref) / sum(ours):.1f}x",
            "length ours/MCP mean / max": f"{statistics.fmean(length):.3f} / {max(length):.3f}",
            "mean length ours / MCP (m)": f"{statistics.fmean(q.ours_m for q in queries):.2f} / "
            f"{statistics.fmean(q.ref_m for q in queries):.2f}",
            "per-map setup s, ours / MCP": f"{setup[0]:.3f} / {setup[1]:.3f}",
        },
    )
    return {
        "speedup": median(speedup),
        "length": statistics.fmean(length),
        "p95": percentile(ours, 95),
        "failures": failures,
    }


# -- escorts ---------------------------------------------------------------------------------------

_building: Building | None = None
_planners: dict[int, Planner] = {}


def _worker_init() -> None:
    global _building
    _building = load_building()
    for f, m in _building.floors.items():
        _planners[f] = Planner(CostMap(m))


@dataclass
class RunResult:
    index: int
    floor: int
    start: tuple[float, float]
    goal: tuple[float, float]
    run: EscortRun


def one_escort(i: int) -> RunResult:
    assert _building is not None
    rng = np.random.default_rng(10_000 + i)
    if i == 0:
        floor = 1
        a, b = _building.pois["exit"].pose, _building.pois["window_1"].pose
        start, goal = (a.x, a.y), (b.x, b.y)
    else:
        floor = 1 + i % 2
        start, goal = _random_pair(_planners[floor], rng)
    run = run_escort(
        _planners[floor],
        Pose2D(*start),
        goal,
        seed=i,
        pedestrians=int(rng.integers(6, 13)),
        visitor_speed=float(rng.uniform(0.8, 1.3)),
        lag_rate_per_s=0.02,
        destination=Instruction("目的地", "your destination"),
    )
    return RunResult(i, floor, start, goal, run)


def _random_pair(
    planner: Planner, rng: np.random.Generator
) -> tuple[tuple[float, float], tuple[float, float]]:
    cm = planner.costmap
    cells = np.argwhere(cm.clearance >= cm.comfortable)
    while True:
        a, b = (cells[rng.integers(len(cells))] for _ in range(2))
        start, goal = cm.fmap.to_world(int(a[1]), int(a[0])), cm.fmap.to_world(int(b[1]), int(b[0]))
        if math.dist(start, goal) < 10.0:
            continue
        try:
            planner.plan(start, goal)
        except PlanningError:
            continue  # e.g. a start in the staff area behind a counter
        return start, goal


def escorts(n: int, workers: int) -> dict[str, float]:
    with ProcessPoolExecutor(workers, initializer=_worker_init) as pool:
        results = list(pool.map(one_escort, range(n)))
    runs = [r.run for r in results]
    arrived = sum(r.arrived for r in runs)
    collisions = sum(r.collisions for r in runs)
    speeds = [r.mean_speed for r in runs if r.arrived]
    for r in results:
        if not r.run.arrived or r.run.collisions:
            print(
                f"  run {r.index} floor {r.floor} {r.start} -> {r.goal}: {r.run.state.value}, {r.run.collisions} collisions"
            )
    show(
        f"{n} escort runs in the simulator (6-12 pedestrians, visitor 0.8-1.3 m/s who stops now and then)",
        {
            "arrived": f"{arrived}/{n} ({100 * arrived / n:.0f} %)",
            "collisions (robot touching a wall or person)": collisions,
            "mean guiding speed m/s (mean / min)": f"{statistics.fmean(speeds):.2f} / {min(speeds):.2f}",
            "mean path length m": f"{statistics.fmean(r.path.length_m for r in runs):.1f}",
            "mean time s (incl. waiting)": f"{statistics.fmean(r.time_s for r in runs):.1f}",
            "runs where the robot waited for the visitor": sum(r.waits > 0 for r in runs),
        },
    )
    first = results[0]
    building = load_building()
    render(
        CostMap(building.floors[first.floor]),
        PICTURE,
        path=first.run.path.points,
        robot=first.run.robot,
        visitor=first.run.visitor,
        pedestrians=first.run.pedestrians,
        pois=[p for p in building.pois.values() if p.floor == first.floor],
        title=(
            f"escort run 0: exit -> window_1, {first.run.state.value} in {first.run.time_s:.0f} s, "
            f"{first.run.collisions} collisions (blue plan, black robot, green visitor, orange people)"
        ),
    )
    print(f"  drew run 0 to {PICTURE.relative_to(ROOT)}")
    return {"arrived": arrived / n, "collisions": collisions, "speed": statistics.fmean(speeds)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=25, help="queries per project floor")
    parser.add_argument("--maps", type=int, default=4, help="random office maps")
    parser.add_argument("--map-pairs", type=int, default=10, help="queries per random map")
    parser.add_argument("--runs", type=int, default=100, help="escort runs")
    parser.add_argument("--workers", type=int, default=2, help="processes for the escort runs")
    args = parser.parse_args(argv)
    print(f"bench.navigation: {' '.join(sys.argv[1:]) or '(defaults)'}; {machine_note()}")
    building = load_building()
    project: list[Query] = []
    failures = 0
    setup = [0.0, 0.0]
    for floor, fmap in building.floors.items():
        cm = CostMap(fmap)
        q, f, s_ours, s_ref = compare(cm, pairs(cm, args.pairs, seed=floor))
        project += q
        failures += f
        setup = [max(setup[0], s_ours), max(setup[1], s_ref)]
    own = summarize(
        f"planning on the project's floors (2 x {args.pairs} queries, 64 m x 42 m, 5 cm)",
        project,
        failures,
        (setup[0], setup[1]),
    )
    office: list[Query] = []
    failures = 0
    for seed in range(args.maps):
        cm = CostMap(office_map(seed))
        q, f, s_ours, s_ref = compare(cm, pairs(cm, args.map_pairs, seed=100 + seed))
        office += q
        failures += f
        setup = [max(setup[0], s_ours), max(setup[1], s_ref)]
    rand = (
        summarize(
            f"planning on {args.maps} random office floors ({args.map_pairs} queries each, 60 m x 40 m, 5 cm)",
            office,
            failures,
            (setup[0], setup[1]),
        )
        if office
        else {"failures": 0.0}
    )
    esc = escorts(args.runs, args.workers)
    both = project + office
    speedup = median([q.ref_ms / q.ours_ms for q in both])
    length = statistics.fmean(q.ours_m / q.ref_m for q in both)
    checks = {
        f"planning >= 5x faster than MCP_Geometric (median per query {speedup:.1f}x)": speedup >= 5,
        f"path length <= MCP's (mean ratio {length:.3f})": length <= 1.0,
        f"p95 planning time <= 50 ms on the project floors ({own['p95']:.1f} ms)": own["p95"] <= 50,
        f"every connected pair planned (failures: {own['failures'] + rand['failures']:.0f})": own["failures"]
        + rand["failures"]
        == 0,
        f">= 98 % of escorts arrive ({100 * esc['arrived']:.0f} %)": esc["arrived"] >= 0.98,
        f"0 collisions ({esc['collisions']:.0f})": esc["collisions"] == 0,
        f"mean guiding speed >= 0.6 m/s ({esc['speed']:.2f})": esc["speed"] >= 0.6,
    }
    show("targets", {k: "met" if ok else "MISSED" for k, ok in checks.items()})
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
