"""Floor maps and their semantic layer: loading and validation.

A floor is a ROS map_server map (YAML + PGM, trinary mode). The building file (`maps/cityhall.yaml`)
names the floors' maps, the points of interest (counters, numbered windows, elevators, restrooms, the
dock) and which POIs are the same elevator on different floors. Every error names the file and,
where there is one, the line, so whoever edits a map can fix it at once.

Grid convention: `occupied[iy, ix]` with row 0 at the map origin (the bottom of the PGM image), so
cell (ix, iy) covers x in [ox + ix*res, ox + (ix+1)*res), likewise y.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml


def _maps_dir() -> Path:
    """The bundled maps: a checkout's `maps/`, else where setup.py installs them (share/lobby_guide)."""
    checkout = Path(__file__).resolve().parent.parent.parent / "maps"
    installed = Path(sys.prefix) / "share" / "lobby_guide" / "maps"
    return checkout if checkout.is_dir() or not installed.is_dir() else installed


MAPS_DIR = _maps_dir()
DEFAULT_BUILDING = MAPS_DIR / "cityhall.yaml"

BoolGrid = npt.NDArray[np.bool_]


class MapError(ValueError):
    """A map or semantic file is unusable; the message starts with `file:line:`."""

    def __init__(self, path: Path | str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line


@dataclass(frozen=True)
class Pose2D:
    x: float
    y: float
    yaw: float = 0.0  # radians, counter-clockwise from +x


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: grids are large
class FloorMap:
    """One floor's occupancy grid (ROS map_server semantics) in map metres."""

    floor: int
    resolution: float
    origin: tuple[float, float]
    occupied: BoolGrid  # occupied or unknown: the robot must never be there
    unknown: BoolGrid
    source: Path | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.occupied.shape[0]), int(self.occupied.shape[1]))

    @property
    def width_m(self) -> float:
        return self.shape[1] * self.resolution

    @property
    def height_m(self) -> float:
        return self.shape[0] * self.resolution

    def to_cell(self, x: float, y: float) -> tuple[int, int]:
        """(ix, iy) of the cell containing the point; may be outside the grid."""
        return (
            math.floor((x - self.origin[0]) / self.resolution),
            math.floor((y - self.origin[1]) / self.resolution),
        )

    def to_world(self, ix: float, iy: float) -> tuple[float, float]:
        """The centre of cell (ix, iy) in metres."""
        return (
            self.origin[0] + (ix + 0.5) * self.resolution,
            self.origin[1] + (iy + 0.5) * self.resolution,
        )

    def inside(self, x: float, y: float) -> bool:
        ix, iy = self.to_cell(x, y)
        return 0 <= ix < self.shape[1] and 0 <= iy < self.shape[0]

    def is_occupied(self, x: float, y: float) -> bool:
        """Outside the map counts as occupied."""
        ix, iy = self.to_cell(x, y)
        return not (0 <= ix < self.shape[1] and 0 <= iy < self.shape[0]) or bool(self.occupied[iy, ix])


@dataclass(frozen=True)
class PointOfInterest:
    id: str
    kind: str  # counter | window | facility | elevator | stairs | entrance | dock
    floor: int
    pose: Pose2D
    name_ja: str
    name_en: str
    queues: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()  # the site's window ids (demo.yaml W1..) served here
    procedures: tuple[str, ...] = ()  # the site guide's procedure keys (moving_in, …)
    line: int | None = None


@dataclass(frozen=True)
class Building:
    name_ja: str
    name_en: str
    floors: dict[int, FloorMap]
    pois: dict[str, PointOfInterest]
    #: Each elevator: floor -> the POI where the robot waits for it on that floor.
    elevators: list[dict[int, str]] = field(default_factory=list)
    source: Path | None = None

    def poi(self, poi_id: str) -> PointOfInterest:
        try:
            return self.pois[poi_id]
        except KeyError:
            known = ", ".join(sorted(self.pois))
            raise KeyError(f"unknown point of interest {poi_id!r} (known: {known})") from None


# -- YAML with line numbers ---------------------------------------------------------------------


class _LineDict(dict[str, Any]):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings remember their 1-based line, for error messages."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict(loader.construct_pairs(node, deep=True))
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MapError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise MapError(path, f"not valid YAML: {exc.problem or exc}", line) from None


def _line(obj: Any) -> int | None:
    return obj.line if isinstance(obj, _LineDict) else None


def _number(path: Path, data: dict[str, Any], key: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MapError(path, f"{key!r} must be a number, not {value!r}", _line(data))
    return float(value)


# -- floor maps (map_server YAML + PGM) -----------------------------------------------------------


def read_pgm(path: Path) -> npt.NDArray[np.uint8]:
    """A binary (P5) 8-bit PGM as rows top to bottom, as the image is stored."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MapError(path, f"cannot read the map image: {exc.strerror or exc}") from None
    tokens: list[bytes] = []
    pos = 0
    while len(tokens) < 4:  # magic, width, height, maxval; comments start with '#'
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            pos = raw.find(b"\n", pos) + 1 or len(raw)
            continue
        start = pos
        while pos < len(raw) and not raw[pos : pos + 1].isspace():
            pos += 1
        if start == pos:
            raise MapError(path, "truncated PGM header")
        tokens.append(raw[start:pos])
    if tokens[0] != b"P5":
        raise MapError(path, f"not a binary PGM (magic {tokens[0]!r}, expected b'P5')")
    try:
        width, height, maxval = (int(t) for t in tokens[1:])
    except ValueError:
        raise MapError(path, "bad PGM header numbers") from None
    if maxval != 255:
        raise MapError(path, f"only 8-bit PGM is supported (maxval {maxval})")
    pixels = raw[pos + 1 : pos + 1 + width * height]
    if len(pixels) != width * height:
        raise MapError(path, f"PGM has {len(pixels)} pixels, header says {width}x{height}")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width)


def write_pgm(path: Path, image: npt.NDArray[np.uint8]) -> None:
    height, width = image.shape
    path.write_bytes(f"P5\n{width} {height}\n255\n".encode() + np.ascontiguousarray(image).tobytes())


def load_floor_map(path: Path | str, floor: int = 1) -> FloorMap:
    """A map_server YAML and its image, interpreted as map_server does (trinary/scale modes)."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise MapError(path, "a map YAML must be a mapping with image, resolution and origin", 1)
    for key in ("image", "resolution", "origin"):
        if key not in data:
            raise MapError(path, f"missing {key!r}", _line(data))
    resolution = _number(path, data, "resolution")
    if not 0 < resolution <= 1:
        raise MapError(path, f"resolution {resolution} m is not in (0, 1]", _line(data))
    origin = data["origin"]
    if not (
        isinstance(origin, list) and len(origin) == 3 and all(isinstance(v, int | float) for v in origin)
    ):
        raise MapError(path, f"origin must be [x, y, yaw], not {origin!r}", _line(data))
    if origin[2] != 0:
        raise MapError(path, "rotated map origins are not supported (yaw must be 0)", _line(data))
    mode = data.get("mode", "trinary")
    if mode not in ("trinary", "scale"):
        raise MapError(path, f"mode {mode!r} is not supported (trinary or scale)", _line(data))
    occ_t = _number(path, data, "occupied_thresh", 0.65)
    free_t = _number(path, data, "free_thresh", 0.196)
    if not 0 <= free_t < occ_t <= 1:
        raise MapError(path, "need 0 <= free_thresh < occupied_thresh <= 1", _line(data))
    image = read_pgm(path.parent / str(data["image"]))
    p = image.astype(np.float32) / 255.0
    if not data.get("negate", 0):
        p = 1.0 - p  # dark pixels are occupied
    occupied = np.flipud(p > occ_t)  # image rows run top-down; grid rows run from the origin up
    unknown = np.flipud((p >= free_t) & (p <= occ_t))
    return FloorMap(
        floor=floor,
        resolution=resolution,
        origin=(float(origin[0]), float(origin[1])),
        occupied=np.ascontiguousarray(occupied | unknown),
        unknown=np.ascontiguousarray(unknown),
        source=path,
    )


# -- the building's semantic layer ----------------------------------------------------------------


def _names(path: Path, data: dict[str, Any], what: str) -> tuple[str, str]:
    name = data.get("name")
    if not (isinstance(name, dict) and isinstance(name.get("ja"), str) and isinstance(name.get("en"), str)):
        raise MapError(path, f"{what} needs name: {{ja: …, en: …}}", _line(data))
    return name["ja"], name["en"]


def _strings(path: Path, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise MapError(path, f"{key!r} must be a list of strings", _line(data))
    return tuple(value)


POI_KINDS = ("counter", "window", "facility", "elevator", "stairs", "entrance", "dock")


def _poi(path: Path, data: Any, floors: dict[int, FloorMap]) -> PointOfInterest:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise MapError(path, "each POI needs a string id", _line(data))
    poi_id = data["id"]
    line = _line(data)
    kind = data.get("kind")
    if kind not in POI_KINDS:
        raise MapError(path, f"POI {poi_id!r}: kind must be one of {', '.join(POI_KINDS)}", line)
    floor = data.get("floor")
    if floor not in floors:
        raise MapError(path, f"POI {poi_id!r}: floor {floor!r} is not one of the building's floors", line)
    pose = data.get("pose")
    if not isinstance(pose, dict):
        raise MapError(path, f"POI {poi_id!r} needs pose: {{x, y, yaw_deg}}", line)
    x, y = _number(path, pose, "x"), _number(path, pose, "y")
    yaw = math.radians(_number(path, pose, "yaw_deg", 0.0))
    name_ja, name_en = _names(path, data, f"POI {poi_id!r}")
    fmap = floors[floor]
    if not fmap.inside(x, y):
        raise MapError(path, f"POI {poi_id!r} at ({x}, {y}) is outside floor {floor}'s map", line)
    if fmap.is_occupied(x, y):
        raise MapError(
            path, f"POI {poi_id!r} at ({x}, {y}) is inside a wall or obstacle on floor {floor}", line
        )
    return PointOfInterest(
        id=poi_id,
        kind=kind,
        floor=floor,
        pose=Pose2D(x, y, yaw),
        name_ja=name_ja,
        name_en=name_en,
        queues=_strings(path, data, "queues"),
        windows=_strings(path, data, "windows"),
        procedures=_strings(path, data, "procedures"),
        line=line,
    )


def load_building(path: Path | str = DEFAULT_BUILDING) -> Building:
    """The building file, every floor map it names, and its POIs, all validated."""
    path = Path(path)
    data = _read_yaml(path)
    if not isinstance(data, dict) or "floors" not in data:
        raise MapError(path, "a building file needs floors: and pois: (is this a single floor's map?)", 1)
    if data.get("version") != 1:
        raise MapError(path, f"version must be 1, not {data.get('version')!r}", _line(data))
    name_ja, name_en = _names(path, data, "the building")
    floors: dict[int, FloorMap] = {}
    if not isinstance(data["floors"], list) or not data["floors"]:
        raise MapError(path, "floors must be a non-empty list", _line(data))
    for entry in data["floors"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("floor"), int):
            raise MapError(path, "each floor needs an integer floor: and a map:", _line(entry))
        if entry["floor"] in floors:
            raise MapError(path, f"floor {entry['floor']} is listed twice", _line(entry))
        if not isinstance(entry.get("map"), str):
            raise MapError(path, f"floor {entry['floor']} needs map: FILE.yaml", _line(entry))
        floors[entry["floor"]] = load_floor_map(path.parent / entry["map"], entry["floor"])
    pois: dict[str, PointOfInterest] = {}
    for item in data.get("pois") or []:
        poi = _poi(path, item, floors)
        if poi.id in pois:
            raise MapError(
                path, f"POI {poi.id!r} is defined twice (first on line {pois[poi.id].line})", poi.line
            )
        pois[poi.id] = poi
    elevators: list[dict[int, str]] = []
    for entry in data.get("elevators") or []:
        stops = entry.get("stops") if isinstance(entry, dict) else None
        if not isinstance(stops, list) or len(stops) < 2:
            raise MapError(
                path, "each elevator needs stops: [POI id on each floor, …] (two or more)", _line(entry)
            )
        by_floor: dict[int, str] = {}
        for stop in stops:
            if stop not in pois:
                raise MapError(path, f"elevator stop {stop!r} is not a POI", _line(entry))
            if pois[stop].kind != "elevator":
                raise MapError(
                    path, f"elevator stop {stop!r} is a {pois[stop].kind}, not an elevator", _line(entry)
                )
            by_floor[pois[stop].floor] = stop
        elevators.append(by_floor)
    return Building(name_ja, name_en, floors, pois, elevators, path)
