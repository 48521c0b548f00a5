"""The demo city hall's two floors, described as rectangles, rasterised to map_server maps.

    python -m robot.navigation.mapgen [--out maps/]     # rewrites floor1/2.{yaml,pgm}, cityhall.yaml

Coordinates are map metres, x to the east, y to the north, origin at the south-west corner.
The strip y < 2 m is outside the building (unknown). Visitors enter by the automatic doors in the
middle of the south wall; the elevators, restrooms and stairs are at the back (north) in the middle,
as demo.yaml's guide describes them. Counters are long desks with the staff area behind them closed
off; the numbered windows are where a visitor stands, about 1.2 m in front of the desk.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from robot.navigation.maps import MAPS_DIR, write_pgm

RESOLUTION = 0.05
WIDTH_M, HEIGHT_M = 64.0, 42.0
FREE, OCCUPIED, UNKNOWN = 254, 0, 205
WALL = 0.3


@dataclass(frozen=True)
class Box:
    """An axis-aligned obstacle (wall, desk, bench, pillar, elevator shaft…)."""

    x0: float
    y0: float
    x1: float
    y1: float
    what: str


@dataclass(frozen=True)
class Poi:
    id: str
    kind: str
    x: float
    y: float
    yaw_deg: float
    ja: str
    en: str
    queues: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()


def outer_walls(entrance: bool) -> list[Box]:
    south = (
        [Box(0, 2, 30.5, 2 + WALL, "south wall"), Box(33.5, 2, WIDTH_M, 2 + WALL, "south wall")]
        if entrance
        else [Box(0, 2, WIDTH_M, 2 + WALL, "south wall")]
    )
    return [
        *south,
        Box(0, HEIGHT_M - WALL, WIDTH_M, HEIGHT_M, "north wall"),
        Box(0, 2, WALL, HEIGHT_M, "west wall"),
        Box(WIDTH_M - WALL, 2, WIDTH_M, HEIGHT_M, "east wall"),
    ]


def core() -> list[Box]:
    """Elevators, restrooms and stairs at the back middle: the same on every floor."""
    return [
        Box(28.0, 30.0, 28.0 + WALL, HEIGHT_M, "partition west of the elevator hall"),
        Box(29.0, 36.0, 32.5, HEIGHT_M, "elevator 1 shaft"),
        Box(33.5, 36.0, 37.0, HEIGHT_M, "elevator 2 shaft"),
        Box(38.0, 34.0, 38.0 + WALL, HEIGHT_M, "restroom west wall"),
        Box(38.0, 34.0, 40.0, 34.0 + WALL, "restroom south wall"),
        Box(41.6, 34.0, 45.0, 34.0 + WALL, "restroom south wall"),  # door 40.0-41.6
        Box(45.0, 34.0, 45.0 + WALL, HEIGHT_M, "restroom east wall"),
        Box(45.6, 35.0, 51.0, HEIGHT_M, "stairs"),
        Box(51.0, 34.0, 51.0 + WALL, HEIGHT_M, "stair hall east wall"),
    ]


def pillars() -> list[Box]:
    return [
        Box(x - 0.4, y - 0.4, x + 0.4, y + 0.4, "pillar")
        for x in (12.0, 24.0, 40.0, 52.0)
        for y in (10.0, 17.0)
    ]


def counter(x0: float, x1: float, y: float, staff_side: str, window_xs: Sequence[float]) -> list[Box]:
    """A desk 0.8 m deep along y, with 0.7 m dividers between windows on the visitors' side."""
    desk = Box(x0, y, x1, y + 0.8, "counter desk")
    sign = -1 if staff_side == "north" else 1
    edge = y if staff_side == "north" else y + 0.8
    dividers = [
        Box(x - 0.05, min(edge, edge + sign * 0.7), x + 0.05, max(edge, edge + sign * 0.7), "window divider")
        for a, b in itertools.pairwise(window_xs)
        for x in [(a + b) / 2]
    ]
    return [desk, *dividers]


def benches(xs: Sequence[float], ys: Sequence[float], length: float = 3.6) -> list[Box]:
    return [Box(x, y, x + length, y + 0.6, "bench") for x in xs for y in ys]


def floor1() -> tuple[list[Box], list[Poi]]:
    boxes = [
        *outer_walls(entrance=True),
        *core(),
        *pillars(),
        # 市民課: counter along the north-west, staff area behind it.
        *counter(0.3, 28.0, 30.0, "north", [5.0, 9.0, 13.0, 17.0, 24.0]),
        *benches([4.0, 8.4, 12.8, 17.2], [20.0, 23.0]),
        # 総合案内, just left (west) of the entrance as you come in.
        Box(24.5, 5.0, 28.5, 5.8, "information desk"),
        # Kiosks and a waiting area on the east side.
        *benches([42.0, 46.4, 50.8], [13.0, 20.0]),
        Box(62.7, 8.0, WIDTH_M - WALL, 14.0, "vending machines and ATM"),
        Box(54.0, 26.0, 60.0, 30.0, "document writing tables"),
    ]
    shimin_procs = (
        "moving_in", "moving_out", "moving_within", "resident_certificate",
        "family_register", "seal_registration", "tax_certificate",
    )  # fmt: skip
    koseki_procs = ("birth", "death", "marriage")
    pois = [
        Poi("exit", "entrance", 32.0, 4.0, -90, "出口（正面玄関）", "Exit (main entrance)"),
        Poi("information_desk", "facility", 26.5, 7.2, -90, "総合案内", "Information desk"),
        Poi("dock", "dock", 21.0, 3.2, -90, "充電ステーション", "Charging dock"),
        Poi("counter_shimin", "counter", 11.0, 28.5, 90, "市民課", "Citizens Division",
            ("A", "B"), ("W1", "W2", "W3", "W4"), shimin_procs),
        Poi("counter_koseki", "counter", 24.0, 28.5, 90, "市民課 戸籍届出（6番窓口）",
            "Citizens Division, family register (window 6)", ("A",), (), koseki_procs),
        Poi("window_1", "window", 5.0, 28.5, 90, "1番窓口", "Window 1", ("A",), ("W1",)),
        Poi("window_2", "window", 9.0, 28.5, 90, "2番窓口", "Window 2", ("A",), ("W2",)),
        Poi("window_3", "window", 13.0, 28.5, 90, "3番窓口", "Window 3", ("A", "B"), ("W3",)),
        Poi("window_4", "window", 17.0, 28.5, 90, "4番窓口", "Window 4", ("B",), ("W4",)),
        Poi("window_6", "window", 24.0, 28.5, 90, "6番窓口（戸籍）", "Window 6 (family register)", ("A",)),
        Poi("elevator", "elevator", 33.0, 33.0, 90, "エレベーター（1階）", "Elevator (1st floor)"),
        Poi("restroom", "facility", 40.8, 32.6, 90, "お手洗い（1階）", "Restroom (1st floor)"),
        Poi("stairs", "stairs", 48.0, 33.0, 90, "階段（1階）", "Stairs (1st floor)"),
        Poi("waiting_area", "facility", 14.0, 25.5, 90, "市民課 待合", "Citizens Division waiting area"),
    ]  # fmt: skip
    return boxes, pois


def floor2() -> tuple[list[Box], list[Poi]]:
    boxes = [
        *outer_walls(entrance=False),
        *core(),
        *pillars(),
        # 保険年金課 (7, 8) and 介護保険課 (10) along the north-west.
        *counter(0.3, 28.0, 30.0, "north", [6.0, 10.0, 20.0]),
        Box(14.95, 29.3, 15.05, 30.0, "division sign"),
        # マイナンバーカード (5) and 子育て支援課 (9) along the south-west, staff behind to the south.
        *counter(0.3, 20.0, 8.2, "south", [6.0, 15.0]),
        Box(20.0, 2.0, 20.0 + WALL, 9.0, "partition"),
        # 税務課 (11, 12) along the east wall, staff behind to the east.
        Box(58.0, 12.0, 58.8, 30.0, "counter desk"),
        Box(57.3, 18.95, 58.0, 19.05, "window divider"),
        Box(58.0, 30.0, WIDTH_M - WALL, 30.0 + WALL, "staff area wall"),
        Box(58.0, 2.0, 58.0 + WALL, 12.0, "staff area wall"),
        *benches([5.0, 9.4, 13.8, 18.2], [19.0, 22.0]),
        *benches([40.0, 44.4], [22.0, 25.0]),
        *benches([6.0, 10.4], [13.0]),
    ]
    pois = [
        Poi("elevator_2f", "elevator", 33.0, 33.0, -90, "エレベーター（2階）", "Elevator (2nd floor)"),
        Poi("restroom_2f", "facility", 40.8, 32.6, 90, "お手洗い（2階）", "Restroom (2nd floor)"),
        Poi("stairs_2f", "stairs", 48.0, 33.0, 90, "階段（2階）", "Stairs (2nd floor)"),
        Poi("counter_hoken_nenkin", "counter", 8.0, 28.5, 90, "保険年金課", "Insurance and Pension Division",
            (), (), ("health_insurance", "pension")),
        Poi("counter_kaigo", "counter", 20.0, 28.5, 90, "介護保険課", "Long-Term Care Division",
            (), (), ("nursing_care",)),
        Poi("counter_mynumber", "counter", 6.0, 10.5, -90, "マイナンバーカード窓口（5番）",
            "My Number card counter (window 5)", ("C",), ("W5",), ("my_number_card",)),
        Poi("counter_kosodate", "counter", 15.0, 10.5, -90, "子育て支援課", "Child Support Division",
            (), (), ("child_allowance",)),
        Poi("counter_zeimu", "counter", 56.3, 21.0, 0, "税務課", "Taxation Division"),
        Poi("window_5", "window", 6.0, 10.5, -90, "5番窓口", "Window 5", ("C",), ("W5",)),
        Poi("window_7", "window", 6.0, 28.5, 90, "7番窓口（国民健康保険）", "Window 7 (health insurance)"),
        Poi("window_8", "window", 10.0, 28.5, 90, "8番窓口（国民年金）", "Window 8 (pension)"),
        Poi("window_9", "window", 15.0, 10.5, -90, "9番窓口（児童手当）", "Window 9 (child allowance)"),
        Poi("window_10", "window", 20.0, 28.5, 90, "10番窓口（介護保険）", "Window 10 (long-term care)"),
        Poi("window_11", "window", 56.3, 16.0, 0, "11番窓口（税務課）", "Window 11 (taxation)"),
        Poi("window_12", "window", 56.3, 23.0, 0, "12番窓口（税務課）", "Window 12 (taxation)"),
    ]  # fmt: skip
    return boxes, pois


FLOORS = {1: floor1, 2: floor2}


def rasterise(boxes: Sequence[Box]) -> npt.NDArray[np.uint8]:
    """The PGM image (rows top-down): a cell is occupied when its centre lies in a box."""
    h, w = round(HEIGHT_M / RESOLUTION), round(WIDTH_M / RESOLUTION)
    grid = np.full((h, w), FREE, dtype=np.uint8)
    grid[: round(2.0 / RESOLUTION), :] = UNKNOWN  # outside the building
    centres_x = (np.arange(w) + 0.5) * RESOLUTION
    centres_y = (np.arange(h) + 0.5) * RESOLUTION
    for b in boxes:
        cols = (centres_x >= b.x0) & (centres_x < b.x1)
        rows = (centres_y >= b.y0) & (centres_y < b.y1)
        grid[np.ix_(rows, cols)] = OCCUPIED
    return np.flipud(grid)


def map_yaml(image: str) -> str:
    return (
        f"image: {image}\nmode: trinary\nresolution: {RESOLUTION}\norigin: [0.0, 0.0, 0.0]\n"
        "negate: 0\noccupied_thresh: 0.65\nfree_thresh: 0.196\n"
    )


def building_yaml() -> str:
    pois: list[dict[str, Any]] = []
    for floor, make in FLOORS.items():
        for p in make()[1]:
            item: dict[str, Any] = {
                "id": p.id,
                "kind": p.kind,
                "floor": floor,
                "name": {"ja": p.ja, "en": p.en},
                "pose": {"x": p.x, "y": p.y, "yaw_deg": p.yaw_deg},
            }
            for key in ("queues", "windows", "procedures"):
                if getattr(p, key):
                    item[key] = list(getattr(p, key))
            pois.append(item)
    data = {
        "version": 1,
        "site": "demo",
        "name": {"ja": "デモ区役所", "en": "Demo Ward Office"},
        "floors": [{"floor": f, "map": f"floor{f}.yaml"} for f in FLOORS],
        "elevators": [{"id": "main_elevators", "stops": ["elevator", "elevator_2f"]}],
        "pois": pois,
    }
    header = (
        "# The demo city hall's semantic layer: generated by `python -m robot.navigation.mapgen`\n"
        "# from robot/navigation/mapgen.py (edit that, then regenerate). Poses are map metres;\n"
        "# yaw_deg is the way the robot faces on arrival. queues / windows are demo.yaml's ids,\n"
        "# procedures are the keys of demo.yaml's guide.procedures served here.\n"
    )
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)


def generated_files() -> dict[str, bytes]:
    """File name -> content, exactly as committed in maps/."""
    files: dict[str, bytes] = {"cityhall.yaml": building_yaml().encode()}
    for floor, make in FLOORS.items():
        image = rasterise(make()[0])
        header = f"P5\n{image.shape[1]} {image.shape[0]}\n255\n".encode()
        files[f"floor{floor}.pgm"] = header + image.tobytes()
        files[f"floor{floor}.yaml"] = map_yaml(f"floor{floor}.pgm").encode()
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=MAPS_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in generated_files().items():
        (args.out / name).write_bytes(content)
        print(f"wrote {args.out / name}")
    return 0


__all__ = ["generated_files", "main", "write_pgm"]

if __name__ == "__main__":
    sys.exit(main())
