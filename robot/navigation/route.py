"""Routes across floors: go to the elevator, ride it, continue on the other floor.

Nav2 plans on one map; a building has several. A `Route` is a list of legs, one per floor, each a
planned `Path`; between two legs the robot tells the visitor what happens next (the instruction is
spoken at the elevator). Goals are poses or POI ids of the building's semantic layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from robot.navigation.costmap import ROBOT_RADIUS_M, CostMap
from robot.navigation.maps import Building, PointOfInterest
from robot.navigation.planner import Path, Planner, PlanningError, Point


@dataclass(frozen=True)
class Instruction:
    ja: str
    en: str


@dataclass(frozen=True)
class Leg:
    path: Path
    #: Said when the leg ends and the next begins (riding the elevator), None on the last leg.
    then: Instruction | None = None
    via: str | None = None  # the POI id where this leg ends, when it is an elevator


@dataclass(frozen=True)
class Route:
    legs: tuple[Leg, ...]

    @property
    def length_m(self) -> float:
        return sum(leg.path.length_m for leg in self.legs)

    @property
    def planning_ms(self) -> float:
        return sum(leg.path.planning_ms for leg in self.legs)


def floor_name(floor: int) -> Instruction:
    ordinal = {1: "1st", 2: "2nd", 3: "3rd"}.get(floor, f"{floor}th")
    return Instruction(f"{floor}階", f"{ordinal} floor")


def elevator_instruction(to_floor: int, going_up: bool) -> Instruction:
    f = floor_name(to_floor)
    return Instruction(
        ja=f"エレベーターで{f.ja}へ{'上が' if going_up else '下'}ります。一緒にお乗りください。",
        en=f"We'll take the elevator {'up' if going_up else 'down'} to the {f.en}. Please ride with me.",
    )


class RoutePlanner:
    """One `Planner` per floor, built lazily and kept: plans after the first are fast."""

    def __init__(self, building: Building, robot_radius: float = ROBOT_RADIUS_M) -> None:
        self.building = building
        self.robot_radius = robot_radius
        self._planners: dict[int, Planner] = {}

    def planner(self, floor: int) -> Planner:
        if floor not in self.building.floors:
            raise PlanningError(f"the building has no floor {floor} (floors: {sorted(self.building.floors)})")
        if floor not in self._planners:
            self._planners[floor] = Planner(CostMap(self.building.floors[floor], self.robot_radius))
        return self._planners[floor]

    def plan(self, start_floor: int, start: Point, goal_floor: int, goal: Point) -> Route:
        if start_floor == goal_floor:
            return Route((Leg(self.planner(start_floor).plan(start, goal)),))
        elevator = self._elevator(start_floor, goal_floor, start)
        here = self.building.pois[elevator[start_floor]]
        there = self.building.pois[elevator[goal_floor]]
        first = self.planner(start_floor).plan(start, (here.pose.x, here.pose.y))
        second = self.planner(goal_floor).plan((there.pose.x, there.pose.y), goal)
        say = elevator_instruction(goal_floor, goal_floor > start_floor)
        return Route((Leg(first, say, here.id), Leg(second)))

    def plan_to_poi(self, start_floor: int, start: Point, poi: PointOfInterest) -> Route:
        return self.plan(start_floor, start, poi.floor, (poi.pose.x, poi.pose.y))

    def _elevator(self, a: int, b: int, start: Point) -> dict[int, str]:
        """The elevator serving both floors whose stop on floor a is nearest the start."""
        serving = [e for e in self.building.elevators if a in e and b in e]
        if not serving:
            raise PlanningError(f"no elevator connects floor {a} and floor {b}")
        pois = self.building.pois
        return min(serving, key=lambda e: math.dist(start, (pois[e[a]].pose.x, pois[e[a]].pose.y)))
