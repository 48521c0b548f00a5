"""The global planner: clearance of every path it plans, unreachable goals, POI and cross-floor goals."""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from robot.navigation.costmap import CostMap
from robot.navigation.maps import Building, FloorMap, load_building
from robot.navigation.planner import Path, Planner, PlanningError
from robot.navigation.route import RoutePlanner


@pytest.fixture(scope="module")
def building() -> Building:
    return load_building()


@pytest.fixture(scope="module")
def planners(building: Building) -> dict[int, Planner]:
    return {f: Planner(CostMap(m)) for f, m in building.floors.items()}


@functools.cache
def distance_transform(fmap: FloorMap) -> npt.NDArray[np.float64]:
    return np.asarray(ndimage.distance_transform_edt(~fmap.occupied)) * fmap.resolution


def min_clearance_along(fmap: FloorMap, path: Path, step: float = 0.01) -> float:
    """Independent check: the distance transform of the occupied cells, looked up at points every
    centimetre along every segment (the cell containing each point)."""
    dist = distance_transform(fmap)
    worst = math.inf
    for a, b in zip(path.points, path.points[1:], strict=False):
        n = max(2, math.ceil(math.dist(a, b) / step) + 1)
        t = np.linspace(0, 1, n)
        ix = np.floor((a[0] + t * (b[0] - a[0]) - fmap.origin[0]) / fmap.resolution).astype(int)
        iy = np.floor((a[1] + t * (b[1] - a[1]) - fmap.origin[1]) / fmap.resolution).astype(int)
        worst = min(worst, float(dist[iy, ix].min()))
    return worst


def random_free_points(cm: CostMap, rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    cells = np.argwhere(cm.safe)
    picks = cells[rng.integers(len(cells), size=n)]
    return [cm.fmap.to_world(int(ix), int(iy)) for iy, ix in picks]


@pytest.mark.parametrize("floor", [1, 2])
def test_every_planned_path_keeps_the_robot_radius_from_every_occupied_cell(
    planners: dict[int, Planner], floor: int
) -> None:
    planner = planners[floor]
    rng = np.random.default_rng(floor)
    points = random_free_points(planner.costmap, rng, 160)
    planned = unreachable = 0
    for start, goal in zip(points[::2], points[1::2], strict=True):
        try:
            path = planner.plan(start, goal)
        except PlanningError:
            unreachable += 1  # the staff areas behind the counters are closed off
            continue
        planned += 1
        assert path.points[0] == start and path.points[-1] == goal
        assert min_clearance_along(planner.costmap.fmap, path) >= planner.costmap.robot_radius, (start, goal)
        assert path.length_m >= math.dist(start, goal) - 1e-9
    assert planned >= 50 and unreachable >= 1


def test_a_bigger_robot_gets_more_clearance(building: Building) -> None:
    planner = Planner(CostMap(building.floors[1], robot_radius=0.45))
    rng = np.random.default_rng(7)
    points = random_free_points(planner.costmap, rng, 40)
    for start, goal in zip(points[::2], points[1::2], strict=True):
        try:
            path = planner.plan(start, goal)
        except PlanningError:
            continue
        assert min_clearance_along(building.floors[1], path) >= 0.45


def test_paths_are_any_angle_and_near_the_straight_line_in_the_open(planners: dict[int, Planner]) -> None:
    path = planners[1].plan((32.0, 4.0), (40.8, 32.6))  # entrance to the restroom, across the lobby
    # An 8-connected grid path would be ~8% longer than the straight line here.
    assert path.length_m <= 1.02 * math.dist((32.0, 4.0), (40.8, 32.6))


def test_a_path_around_the_benches_bends_but_stays_short(
    building: Building, planners: dict[int, Planner]
) -> None:
    desk, window = building.pois["information_desk"].pose, building.pois["window_1"].pose
    path = planners[1].plan((desk.x, desk.y), (window.x, window.y))
    assert len(path.points) >= 3  # the benches and pillars are in the way
    assert path.length_m < 1.25 * math.dist((desk.x, desk.y), (window.x, window.y))


def test_an_unreachable_goal_is_an_error(planners: dict[int, Planner]) -> None:
    with pytest.raises(PlanningError, match="cannot be reached"):
        planners[1].plan((32.0, 5.0), (10.0, 36.0))  # the 市民課 staff area, behind the counter


def test_a_goal_in_or_next_to_a_wall_is_an_error(planners: dict[int, Planner]) -> None:
    with pytest.raises(PlanningError, match="in an obstacle"):
        planners[1].plan((32.0, 5.0), (30.0, 38.0))  # inside an elevator shaft
    with pytest.raises(PlanningError, match="closer than"):
        planners[1].plan((32.0, 5.0), (20.0, 2.5))  # against the south wall
    with pytest.raises(PlanningError, match="outside the map"):
        planners[1].plan((100.0, 5.0), (32.0, 5.0))


def test_a_start_inside_the_margin_drives_out_of_it(planners: dict[int, Planner]) -> None:
    planner = planners[1]
    start = (20.0, 2.62)  # 0.35 m from the wall: too close for comfort but not in it
    assert not planner.costmap.is_safe(*start)
    path = planner.plan(start, (20.0, 8.0))
    assert all(planner.costmap.is_safe(*p) for p in path.points[1:])


def test_a_goal_on_another_floor_goes_by_elevator_with_an_instruction(building: Building) -> None:
    routes = RoutePlanner(building)
    entrance = building.pois["exit"].pose
    target = building.pois["counter_mynumber"]
    route = routes.plan_to_poi(1, (entrance.x, entrance.y), target)
    assert [leg.path.floor for leg in route.legs] == [1, 2]
    first, second = route.legs
    elevator_1f, elevator_2f = building.pois["elevator"].pose, building.pois["elevator_2f"].pose
    assert first.via == "elevator" and first.path.points[-1] == (elevator_1f.x, elevator_1f.y)
    assert second.path.points[0] == (elevator_2f.x, elevator_2f.y)
    assert second.path.points[-1] == (target.pose.x, target.pose.y) and second.then is None
    assert first.then is not None and "2階" in first.then.ja and "エレベーター" in first.then.ja
    assert "up to the 2nd floor" in first.then.en
    assert route.length_m == pytest.approx(first.path.length_m + second.path.length_m)


def test_coming_down_says_down(building: Building) -> None:
    kaigo = building.pois["counter_kaigo"].pose
    route = RoutePlanner(building).plan_to_poi(2, (kaigo.x, kaigo.y), building.pois["exit"])
    assert (
        route.legs[0].then is not None
        and "down" in route.legs[0].then.en
        and "下ります" in route.legs[0].then.ja
    )


def test_people_in_the_cost_map_push_the_path_away(building: Building) -> None:
    start, goal = (20.0, 12.0), (44.0, 12.0)
    plain = Planner(CostMap(building.floors[1])).plan(start, goal)
    crowded = Planner(CostMap(building.floors[1], people=((32.0, 12.0), (32.0, 12.6), (32.0, 11.4)))).plan(
        start, goal
    )
    assert plain.length_m == pytest.approx(24.0, abs=0.01)
    far = min(math.dist((32.0, 12.0), p) for p in crowded.points)
    assert crowded.length_m > plain.length_m and far > 0.9
