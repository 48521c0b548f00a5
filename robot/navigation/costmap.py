"""The inflated cost map the global planner searches.

From the floor's occupancy grid (plus any people to keep clear of) one Euclidean distance transform
gives every cell's clearance: the distance from its centre to the nearest occupied cell's centre.
Then, as in Nav2's inflation layer:

- lethal where clearance < robot radius + margin (the margin covers the half-cell between a cell's
  centre and any point inside it, so a path through safe cells keeps the full radius);
- a soft cost that falls from `comfort_weight` to 0 over `comfort_m` beyond that, so paths keep a
  comfortable distance from walls, counters, benches and people where there is room, and still
  pass through doors where there is not;
- free beyond.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from robot.navigation.maps import FloorMap

FloatGrid = npt.NDArray[np.float32]
BoolGrid = npt.NDArray[np.bool_]

ROBOT_RADIUS_M = 0.30
#: Body radius of a person stamped into the cost map (shoulders, seen from above).
PERSON_RADIUS_M = 0.25


def clearance_grid(occupied: BoolGrid, resolution: float) -> FloatGrid:
    """Metres from each cell centre to the nearest occupied cell centre (0 on occupied cells)."""
    if not occupied.any():
        return np.full(occupied.shape, np.inf, dtype=np.float32)
    edt = np.asarray(ndimage.distance_transform_edt(~occupied), dtype=np.float64)
    return (edt * resolution).astype(np.float32)


def stamp_people(occupied: BoolGrid, fmap: FloorMap, people: Iterable[tuple[float, float]]) -> BoolGrid:
    """A copy of `occupied` with a disc of PERSON_RADIUS_M marked at each person."""
    out = occupied.copy()
    h, w = out.shape
    r_cells = math.ceil(PERSON_RADIUS_M / fmap.resolution)
    for x, y in people:
        cx, cy = fmap.to_cell(x, y)
        x0, x1 = max(cx - r_cells, 0), min(cx + r_cells + 1, w)
        y0, y1 = max(cy - r_cells, 0), min(cy + r_cells + 1, h)
        if x0 >= x1 or y0 >= y1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        wx, wy = fmap.to_world(xx, yy)
        out[y0:y1, x0:x1] |= (np.asarray(wx) - x) ** 2 + (np.asarray(wy) - y) ** 2 <= PERSON_RADIUS_M**2
    return out


@dataclass(eq=False)
class CostMap:
    fmap: FloorMap
    robot_radius: float = ROBOT_RADIUS_M
    margin: float = 0.075  # 1.5 cells at 5 cm: > the half-diagonal of a cell
    comfort_m: float = 0.5
    comfort_weight: float = 2.0
    people: tuple[tuple[float, float], ...] = ()
    clearance: FloatGrid = field(init=False, repr=False)
    safe: BoolGrid = field(init=False, repr=False)
    cost: FloatGrid = field(init=False, repr=False)

    def __post_init__(self) -> None:
        occupied = (
            stamp_people(self.fmap.occupied, self.fmap, self.people) if self.people else self.fmap.occupied
        )
        self.clearance = clearance_grid(occupied, self.fmap.resolution)
        self.safe = self.clearance >= self.lethal_below
        # Quadratic fall-off: steep near the lethal edge, flat far from it.
        beyond = np.clip((self.clearance - self.lethal_below) / max(self.comfort_m, 1e-6), 0.0, 1.0)
        self.cost = (self.comfort_weight * (1.0 - beyond) ** 2).astype(np.float32)
        self.cost[~self.safe] = np.inf

    @property
    def lethal_below(self) -> float:
        """Cells with less clearance than this are never entered by the robot's centre."""
        return self.robot_radius + self.margin

    @property
    def comfortable(self) -> float:
        """The clearance the planner keeps where there is room."""
        return self.lethal_below + self.comfort_m

    def clearance_at(self, x: float, y: float) -> float:
        ix, iy = self.fmap.to_cell(x, y)
        h, w = self.clearance.shape
        return float(self.clearance[iy, ix]) if 0 <= ix < w and 0 <= iy < h else 0.0

    def is_safe(self, x: float, y: float) -> bool:
        return self.clearance_at(x, y) >= self.lethal_below

    def segment_clearance(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """The least clearance of the cells containing points sampled every half cell from a to b."""
        res = self.fmap.resolution
        n = max(2, math.ceil(math.hypot(b[0] - a[0], b[1] - a[1]) / (res / 2)) + 1)
        t = np.linspace(0.0, 1.0, n)
        ix = np.floor((a[0] + t * (b[0] - a[0]) - self.fmap.origin[0]) / res).astype(np.intp)
        iy = np.floor((a[1] + t * (b[1] - a[1]) - self.fmap.origin[1]) / res).astype(np.intp)
        h, w = self.clearance.shape
        if ix.min() < 0 or iy.min() < 0 or ix.max() >= w or iy.max() >= h:
            return 0.0
        return float(self.clearance[iy, ix].min())
