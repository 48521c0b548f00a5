"""`lobby plan`: plan a path on a floor map between two points or points of interest.

    lobby plan [--map maps/cityhall.yaml] (--from X,Y | --from-poi ID) (--to X,Y | --to-poi ID)
               [--floor N] [--to-floor N] [--robot-radius 0.3] --json

`--map` is the building file (floors + POIs; the bundled demo city hall by default) or one floor's
map_server YAML (then only X,Y points). JSON: {"path": [[x, y], …], "length_m", "planning_ms",
"floor", "legs": [{"floor", "path", "length_m", "then": {"ja", "en"} | null, "via"}]}; `path` is the
first leg (the whole route when start and goal are on one floor).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _point(text: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a point X,Y in metres: {text!r}") from None
    return (x, y)


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--map", type=Path, help="building YAML or one floor's map YAML (default: bundled city hall)"
    )
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--from", dest="start", type=_point, metavar="X,Y", help="start point in map metres")
    start.add_argument("--from-poi", metavar="ID", help="start at a point of interest")
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--to", dest="goal", type=_point, metavar="X,Y", help="goal point in map metres")
    goal.add_argument("--to-poi", metavar="ID", help="go to a point of interest (any floor)")
    p.add_argument("--floor", type=int, help="floor of --from (default: the POI's floor, or 1)")
    p.add_argument("--to-floor", type=int, help="floor of --to (default: the start's floor)")
    p.add_argument("--robot-radius", type=float, default=0.30, help="robot radius in metres (default 0.30)")


def run(args: argparse.Namespace) -> int:
    from lobby.errors import CliError
    from robot.navigation.maps import DEFAULT_BUILDING, Building, MapError, load_building, load_floor_map
    from robot.navigation.planner import PlanningError
    from robot.navigation.route import RoutePlanner

    if not 0.05 <= args.robot_radius <= 2.0:
        raise CliError(f"--robot-radius {args.robot_radius} is not between 0.05 and 2 m")
    path = args.map or DEFAULT_BUILDING
    try:
        if args.map is not None and _is_floor_map(path):
            fmap = load_floor_map(path, args.floor or 1)
            building = Building("", "", {fmap.floor: fmap}, {}, [], path)
        else:
            building = load_building(path)
    except MapError as exc:
        raise CliError(f"bad map: {exc}") from None
    try:
        start_floor, start = _where(building, args.from_poi, args.start, args.floor)
        goal_floor, goal = _where(building, args.to_poi, args.goal, args.to_floor or start_floor)
        route = RoutePlanner(building, args.robot_radius).plan(start_floor, start, goal_floor, goal)
    except (KeyError, PlanningError) as exc:
        raise CliError(str(exc).strip('"') + " (check the points against the map)") from None
    legs: list[dict[str, Any]] = [
        {
            "floor": leg.path.floor,
            "path": [[round(x, 3), round(y, 3)] for x, y in leg.path.points],
            "length_m": round(leg.path.length_m, 3),
            "then": None if leg.then is None else {"ja": leg.then.ja, "en": leg.then.en},
            "via": leg.via,
        }
        for leg in route.legs
    ]
    result = {
        "path": legs[0]["path"],
        "length_m": legs[0]["length_m"],
        "planning_ms": round(route.planning_ms, 2),
        "floor": legs[0]["floor"],
        "total_length_m": round(route.length_m, 3),
        "legs": legs,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for leg in legs:
            print(f"floor {leg['floor']}: {len(leg['path'])} points, {leg['length_m']:.1f} m")
            if leg["then"]:
                print(f"  then: {leg['then']['ja']} / {leg['then']['en']}")
        print(f"total {route.length_m:.1f} m, planned in {route.planning_ms:.1f} ms")
    return 0


def _is_floor_map(path: Path) -> bool:
    """A map_server YAML names its image; a building file names floors."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False  # let the building loader report the missing file
    return any(line.startswith("image:") for line in head.splitlines())


def _where(
    building: Any, poi_id: str | None, point: tuple[float, float] | None, floor: int | None
) -> tuple[int, tuple[float, float]]:
    if poi_id is not None:
        if not building.pois:
            raise KeyError("this map has no points of interest: give the building file or use X,Y points")
        poi = building.poi(poi_id)
        return poi.floor, (poi.pose.x, poi.pose.y)
    assert point is not None
    return floor or min(building.floors), point
