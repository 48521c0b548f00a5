"""Global planner: Dijkstra on a coarse lattice over the cost map, then any-angle string pulling.

1. Lattice. Each 4 x 4 block of the 5 cm cost map (20 cm) is one node, placed on the block's cell
   with the most clearance (so nodes line up along gaps only a cell wide); a node is usable when
   that cell is safe. Each node links to its 8 neighbours when every 5 cm cell that the straight
   segment between them touches is safe (checked for all edges at once with numpy). An edge costs
   its length times (1 + the mean soft cost of its ends), so the search prefers comfortable routes.
   The lattice is built once per cost map (~0.1 s) and reused for every plan.
2. Search. scipy's compiled Dijkstra from the start node over the ~60 k-node lattice.
3. Any-angle. The 8-connected lattice path is pulled tight: from each vertex, the farthest later
   vertex reachable by one straight segment is found by galloping + bisection, where a segment is
   accepted when it is safe on the 5 cm grid *and* keeps at least the comfort clearance, or, where
   the lattice path itself runs closer to obstacles (a door), at least as much clearance as the
   part of the lattice path it replaces. Paths are therefore short, smooth and never closer to
   anything than the lattice path already had to be.

Every returned segment keeps the cost map's safe clearance (robot radius + margin) except the very
first one when the robot starts inside the margin (it can only drive out of it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from robot.navigation.costmap import CostMap

Point = tuple[float, float]
IntArray = npt.NDArray[np.intp]


class PlanningError(ValueError):
    """No path: the start or goal is unusable, or the goal cannot be reached."""


@dataclass(frozen=True)
class Path:
    """A polyline in map metres on one floor."""

    points: tuple[Point, ...]
    floor: int
    planning_ms: float = 0.0

    @property
    def length_m(self) -> float:
        return sum(math.dist(a, b) for a, b in zip(self.points, self.points[1:], strict=False))


DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))  # (dy, dx); the other four are the same edges reversed


class Lattice:
    """The coarse search graph over one cost map.

    Each `factor` x `factor` block of fine cells has one node, placed on the block's cell with the
    most clearance (not its centre): in a gap only a cell or two wide, the nodes line up along the
    gap, so narrow passages the fine grid allows are not lost to the coarse one.
    """

    def __init__(self, costmap: CostMap, factor: int = 4) -> None:
        self.costmap = costmap
        self.factor = factor
        k = factor
        fine_h, fine_w = costmap.safe.shape
        self.h, self.w = fine_h // k, fine_w // k
        blocks = costmap.clearance[: self.h * k, : self.w * k].reshape(self.h, k, self.w, k)
        best = blocks.transpose(0, 2, 1, 3).reshape(self.h, self.w, k * k).argmax(axis=2)
        by, bx = np.divmod(best, k)
        # Fine-cell coordinates of every node's representative cell.
        self.fy = (np.arange(self.h)[:, None] * k + by).astype(np.intp)
        self.fx = (np.arange(self.w)[None, :] * k + bx).astype(np.intp)
        self.node_ok = costmap.safe[self.fy, self.fx]
        self.node_cost = costmap.cost[self.fy, self.fx]

    def fine_cell(self, node: int) -> tuple[int, int]:
        cy, cx = divmod(node, self.w)
        return int(self.fy[cy, cx]), int(self.fx[cy, cx])

    def node_point(self, node: int) -> Point:
        fy, fx = self.fine_cell(node)
        return self.costmap.fmap.to_world(fx, fy)

    @cached_property
    def graph(self) -> csr_matrix:
        """Edges to the 8 neighbours whose straight segment touches only safe fine cells (sampled
        every half cell or finer, the same test `CostMap.segment_clearance` applies)."""
        safe = self.costmap.safe
        fine_h, fine_w = safe.shape
        res = self.costmap.fmap.resolution
        cy, cx = np.mgrid[0 : self.h, 0 : self.w]
        rows, cols, weights = [], [], []
        for dy, dx in DIRECTIONS:
            ny, nx = cy + dy, cx + dx
            inside = (ny >= 0) & (ny < self.h) & (nx >= 0) & (nx < self.w)
            a_y, a_x = cy[inside], cx[inside]
            b_y, b_x = ny[inside], nx[inside]
            ok = self.node_ok[a_y, a_x] & self.node_ok[b_y, b_x]
            a_y, a_x, b_y, b_x = a_y[ok], a_x[ok], b_y[ok], b_x[ok]
            y0, x0 = self.fy[a_y, a_x] + 0.5, self.fx[a_y, a_x] + 0.5  # cell centres, in cells
            y1, x1 = self.fy[b_y, b_x] + 0.5, self.fx[b_y, b_x] + 0.5
            # Half-cell steps over the longest possible edge (diagonal, 2k - 1 cells per axis).
            steps = 2 * math.ceil((2 * self.factor - 1) * math.sqrt(2)) + 1
            keep = np.ones(len(y0), dtype=bool)
            for t in np.linspace(0.0, 1.0, steps):
                iy = np.floor(y0 + t * (y1 - y0)).astype(np.intp)
                ix = np.floor(x0 + t * (x1 - x0)).astype(np.intp)
                keep &= safe[np.clip(iy, 0, fine_h - 1), np.clip(ix, 0, fine_w - 1)]
            a = (a_y * self.w + a_x)[keep]
            b = (b_y * self.w + b_x)[keep]
            length = np.hypot((y1 - y0)[keep], (x1 - x0)[keep]) * res
            cost = self.node_cost.ravel()
            w = length * (1.0 + 0.5 * (cost[a] + cost[b]))
            rows += [a, b]
            cols += [b, a]
            weights += [w, w]
        n = self.h * self.w
        return coo_matrix(
            (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
        ).tocsr()

    def nearest_node(self, p: Point, must_see: bool) -> int | None:
        """The closest usable node within 1 m that a straight segment from p reaches safely
        (`must_see`), or merely without crossing anything occupied (a start inside the margin)."""
        fmap = self.costmap.fmap
        ix, iy = fmap.to_cell(*p)
        cx, cy = ix // self.factor, iy // self.factor
        reach = math.ceil(1.0 / (fmap.resolution * self.factor))
        candidates: list[tuple[float, int]] = []
        for y in range(max(cy - reach, 0), min(cy + reach + 1, self.h)):
            for x in range(max(cx - reach, 0), min(cx + reach + 1, self.w)):
                if self.node_ok[y, x]:
                    node = y * self.w + x
                    candidates.append((math.dist(p, self.node_point(node)), node))
        need = self.costmap.lethal_below if must_see else 1e-6
        for _, node in sorted(candidates):
            if self.costmap.segment_clearance(p, self.node_point(node)) >= need:
                return node
        return None


class Planner:
    """Plans on one floor's cost map; reuse it for many plans on the same map."""

    def __init__(self, costmap: CostMap, factor: int = 4) -> None:
        self.costmap = costmap
        self.lattice = Lattice(costmap, factor)

    def plan(self, start: Point, goal: Point) -> Path:
        t0 = time.perf_counter()
        cm = self.costmap
        floor = cm.fmap.floor
        if not cm.fmap.inside(*start) or cm.fmap.is_occupied(*start):
            raise PlanningError(
                f"start ({start[0]:.2f}, {start[1]:.2f}) is outside the map or in an obstacle"
            )
        if not cm.fmap.inside(*goal) or cm.fmap.is_occupied(*goal):
            raise PlanningError(f"goal ({goal[0]:.2f}, {goal[1]:.2f}) is outside the map or in an obstacle")
        if not cm.is_safe(*goal):
            raise PlanningError(
                f"goal ({goal[0]:.2f}, {goal[1]:.2f}) is closer than {cm.lethal_below:.2f} m to an obstacle"
            )
        if math.dist(start, goal) < 1e-9:
            return Path((start,), floor, (time.perf_counter() - t0) * 1e3)
        if cm.is_safe(*start) and cm.segment_clearance(start, goal) >= cm.comfortable:
            return Path((start, goal), floor, (time.perf_counter() - t0) * 1e3)  # in plain view
        s = self.lattice.nearest_node(start, must_see=False)
        g = self.lattice.nearest_node(goal, must_see=True)
        if s is None or g is None:
            which = "start" if s is None else "goal"
            raise PlanningError(f"the {which} is boxed in: no free space within 1 m of it")
        pred = self.search(s, g, math.dist(start, goal))
        if s != g and pred[g] < 0:
            raise PlanningError(
                f"goal ({goal[0]:.2f}, {goal[1]:.2f}) cannot be reached from ({start[0]:.2f}, {start[1]:.2f})"
            )
        nodes = [g]
        while nodes[-1] != s:
            nodes.append(int(pred[nodes[-1]]))
        points = [start, *(self.lattice.node_point(n) for n in reversed(nodes)), goal]
        pulled = self.pull_tight(points)
        return Path(tuple(pulled), floor, (time.perf_counter() - t0) * 1e3)

    def search(self, s: int, g: int, crow_flies_m: float) -> IntArray:
        """Dijkstra's predecessor array from s. The first try stops at the cost of a detour twice the
        straight line would have (most goals); only if g is beyond that is the whole floor searched."""
        for limit in (2.0 * crow_flies_m + 4.0, np.inf):
            _, pred = dijkstra(self.lattice.graph, indices=s, return_predecessors=True, limit=limit)
            if s == g or pred[g] >= 0:
                break
        return np.asarray(pred, dtype=np.intp)

    def pull_tight(self, points: list[Point]) -> list[Point]:
        """Any-angle shortcutting of a lattice path (see the module docstring)."""
        cm = self.costmap
        # Clearance of each lattice vertex: a shortcut may come as close as the path it replaces.
        vertex_clear = np.array([cm.clearance_at(*p) for p in points])
        out = [points[0]]
        i, last = 0, len(points) - 1
        while i < last:

            def ok(j: int, i: int = i) -> bool:
                need = min(cm.comfortable, float(vertex_clear[i + 1 : j + 1].min()) - 1e-6)
                if i == 0 and not cm.is_safe(*points[0]):  # driving out of the margin
                    return j == 1
                need = max(need, cm.lethal_below)
                return cm.segment_clearance(points[i], points[j]) >= need

            good, step = i + 1, 1
            bad = None
            while good + step <= last:  # gallop
                if ok(good + step):
                    good += step
                    step *= 2
                else:
                    bad = good + step
                    break
            if bad is None and good < last:
                bad = last + 1
                if ok(last):
                    good, bad = last, None
            while bad is not None and bad - good > 1:  # bisect between good and bad
                mid = (good + bad) // 2
                if ok(mid):
                    good = mid
                else:
                    bad = mid
            out.append(points[good])
            i = good
        return out


def plan(costmap: CostMap, start: Point, goal: Point) -> Path:
    """One-off planning (builds the lattice each call; keep a `Planner` to plan repeatedly)."""
    return Planner(costmap).plan(start, goal)
