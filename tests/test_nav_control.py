"""Controller, escort and simulator: stopping for obstacles, waiting for the visitor, arriving."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot.navigation.controller import Command, Controller, ControllerConfig
from robot.navigation.costmap import CostMap
from robot.navigation.escort import Escort, EscortState
from robot.navigation.maps import Building, Pose2D, load_building
from robot.navigation.planner import Planner
from robot.navigation.render import render
from robot.navigation.route import Instruction
from robot.navigation.scenario import run_escort
from robot.navigation.simulator import Pedestrian, Scan, Simulator


@pytest.fixture(scope="module")
def building() -> Building:
    return load_building()


@pytest.fixture(scope="module")
def planner(building: Building) -> Planner:
    return Planner(CostMap(building.floors[1]))


def scan_with(points: list[tuple[float, float]], beams: int = 360) -> Scan:
    """A scan in the robot frame that sees exactly these points (and nothing else)."""
    inc = 2 * math.pi / beams
    ranges = np.full(beams, np.inf)
    for x, y in points:
        i = round((math.atan2(y, x) + math.pi) / inc) % beams
        ranges[i] = min(ranges[i], math.hypot(x, y))
    return Scan(-math.pi, inc, ranges, 8.0)


STRAIGHT = [(0.0, 0.0), (20.0, 0.0)]


def test_the_controller_drives_along_a_clear_path() -> None:
    command = Controller(list(STRAIGHT)).step(Pose2D(2.0, 0.0, 0.0), scan_with([]))
    assert command.status == "following" and command.v == pytest.approx(1.0) and command.w == 0.0


def test_the_controller_stops_for_anything_in_its_safety_zone() -> None:
    controller = Controller(list(STRAIGHT))
    command = controller.step(Pose2D(2.0, 0.0, 0.0), scan_with([(0.45, 0.1)]))  # a bag just ahead
    assert command == Command(0.0, 0.0, "blocked")
    # Beside the robot, outside the zone: it may drive on.
    assert controller.step(Pose2D(2.0, 0.0, 0.0), scan_with([(0.0, 0.9)])).v > 0


def test_the_controller_slows_near_people_and_steers_around_them() -> None:
    controller = Controller(list(STRAIGHT))
    person = [(1.3 + 0.25 * math.cos(a), 0.0 + 0.25 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 24)]
    command = controller.step(Pose2D(2.0, 0.0, 0.0), scan_with(person))
    assert command.status == "slowing" and 0 < command.v < 0.7
    assert command.w != 0.0  # not straight into them


def test_returns_the_map_explains_do_not_slow_the_robot() -> None:
    wall = [(x, 1.2) for x in np.linspace(-1, 3, 30)]  # a wall alongside, 1.2 m away
    blind = Controller(list(STRAIGHT)).step(Pose2D(2.0, 0.0, 0.0), scan_with(wall))
    knows = Controller(list(STRAIGHT), map_clearance=lambda x, y: np.abs(np.asarray(y) - 1.2)).step(
        Pose2D(2.0, 0.0, 0.0), scan_with(wall)
    )
    assert blind.status == "slowing" and knows.status == "following" and knows.v > blind.v


def test_the_controller_turns_in_place_before_driving_off_backwards() -> None:
    command = Controller(list(STRAIGHT)).step(Pose2D(2.0, 0.0, math.pi), scan_with([]))
    assert command.v == 0.0 and abs(command.w) > 0.5 and command.status == "turning"


def test_the_controller_reports_arrival() -> None:
    assert Controller(list(STRAIGHT)).step(Pose2D(19.9, 0.05, 0.0), None).status == "arrived"


def escort_on(path: list[tuple[float, float]]) -> Escort:
    return Escort(Controller(path, ControllerConfig()), Instruction("市民課", "the Citizens Division"))


def test_the_escort_waits_for_a_visitor_who_falls_behind_and_goes_on_when_they_catch_up() -> None:
    escort = escort_on(list(STRAIGHT))
    pose = Pose2D(5.0, 0.0, 0.0)
    near = escort.step(0.0, pose, scan_with([]), (3.8, 0.0))
    assert near.state is EscortState.GUIDING and near.command.v == pytest.approx(1.0)
    lagging = escort.step(0.1, pose, scan_with([]), (2.6, 0.0))  # 2.4 m behind: slow down
    assert lagging.state is EscortState.GUIDING and 0 < lagging.command.v < 0.8
    gone = escort.step(0.2, pose, scan_with([]), (1.5, 0.0))  # 3.5 m behind: stop and wait
    assert gone.state is EscortState.WAITING and gone.command.v == 0.0
    assert gone.say is not None and "お待ちしています" in gone.say.ja
    still = escort.step(5.0, pose, scan_with([]), (2.5, 0.0))  # 2.5 m: not yet back
    assert still.state is EscortState.WAITING and still.say is None and still.command.v == 0.0
    back = escort.step(6.0, pose, scan_with([]), (3.5, 0.0))
    assert back.state is EscortState.GUIDING and back.say is not None and back.say.en == "Let's go on."


def test_the_escort_announces_arrival() -> None:
    escort = escort_on(list(STRAIGHT))
    update = escort.step(0.0, Pose2D(19.95, 0.0, 0.0), None, (18.8, 0.0))
    assert update.state is EscortState.ARRIVED and update.command.v == 0.0
    assert update.say is not None and update.say.ja == "市民課に到着しました。"
    assert "the Citizens Division" in update.say.en


def test_the_escort_gives_up_when_the_way_stays_blocked_or_the_visitor_is_lost() -> None:
    escort = escort_on(list(STRAIGHT))
    blocked = scan_with([(0.4, 0.0)])
    states = [
        escort.step(float(t), Pose2D(5.0, 0.0, 0.0), blocked, (4.0, 0.0)) for t in np.arange(0, 25, 1.0)
    ]
    assert [u.state for u in states[:20]] == [EscortState.GUIDING] * 20  # 20 s of patience
    assert states[20].state is EscortState.STUCK and states[20].say is not None
    assert "blocked" in states[20].say.en
    lost = escort_on(list(STRAIGHT))
    updates = [lost.step(float(t), Pose2D(5.0, 0.0, 0.0), None, None) for t in np.arange(0, 35, 1.0)]
    assert updates[0].state is EscortState.WAITING and updates[29].state is EscortState.WAITING
    assert updates[30].state is EscortState.VISITOR_LOST and updates[30].say is not None


def test_the_lidar_sees_walls_and_people_where_they_are(building: Building) -> None:
    # Facing east from (20, 2.9): the south wall's top edge is at y = 2.3, 0.6 m to the right.
    sim = Simulator(
        building.floors[1], Pose2D(20.0, 2.9, 0.0), pedestrians=[Pedestrian(22.0, 2.9, (22.0, 2.9))]
    )
    scan = sim.scan()
    ahead = scan.ranges[np.argmin(np.abs(scan.angles))]
    right = scan.ranges[np.argmin(np.abs(scan.angles + math.pi / 2))]
    assert ahead == pytest.approx(2.0 - 0.25, abs=0.02)  # the person's near side
    assert right == pytest.approx(0.6, abs=0.06)


def test_the_simulated_robot_drives_like_a_unicycle(building: Building) -> None:
    sim = Simulator(building.floors[1], Pose2D(20.0, 15.0, 0.0))
    for _ in range(40):
        sim.step(Command(0.5, 0.0), 0.1)
    assert sim.pose.x > 21.5 and sim.pose.y == pytest.approx(15.0) and sim.v == pytest.approx(0.5)
    for _ in range(40):
        sim.step(Command(0.0, 1.0), 0.1)
    assert sim.v == pytest.approx(0.0) and sim.w == pytest.approx(1.0)


def test_the_simulator_counts_a_collision_with_a_wall(building: Building) -> None:
    sim = Simulator(building.floors[1], Pose2D(20.0, 4.0, -math.pi / 2))
    for _ in range(40):
        sim.step(Command(0.5, 0.0), 0.1)
    assert sim.collisions == 1


def test_an_escort_through_a_busy_lobby_arrives_without_touching_anyone(
    building: Building, planner: Planner, tmp_path: object
) -> None:
    start, goal = building.pois["information_desk"].pose, building.pois["counter_shimin"].pose
    run = run_escort(
        planner, Pose2D(start.x, start.y), (goal.x, goal.y), seed=3, pedestrians=10, lag_rate_per_s=0.05
    )
    assert run.arrived and run.collisions == 0
    assert math.dist(run.robot[-1], (goal.x, goal.y)) < 0.3
    assert run.said[-1] == "Here we are: your destination."
    assert math.dist(run.visitor[-1], run.robot[-1]) < 3.0  # the visitor came along


def test_a_run_renders_to_png(building: Building, planner: Planner, tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    out = render(
        planner.costmap, Path(str(tmp_path)) / "run.png", path=[(32.0, 4.0), (40.0, 30.0)],
        robot=[(32.0, 4.0), (35.0, 15.0)], visitor=[(32.0, 3.5), (34.5, 14.0)],
        pois=list(building.pois.values())[:3], title="test",
    )  # fmt: skip
    from PIL import Image

    with Image.open(out) as image:
        assert image.size == (960, 630)
        assert image.getpixel((int(35.0 * 15), 630 - int(15.0 * 15))) == (20, 20, 20)  # the robot
