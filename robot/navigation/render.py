"""Draw a floor, its POIs, a planned path and an escort run's trajectories to a PNG.

The map is drawn at `scale` pixels per metre; walls dark grey, the inflated margin
light grey, the planned path blue, the robot's track black, the visitor's green, pedestrians' tracks
faint orange with their last position as a dot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path as FilePath

import numpy as np
from PIL import Image, ImageDraw

from robot.navigation.costmap import CostMap
from robot.navigation.maps import PointOfInterest
from robot.navigation.planner import Point

BLUE, BLACK, GREEN, ORANGE, RED = (40, 90, 220), (20, 20, 20), (20, 150, 60), (240, 150, 60), (210, 40, 40)


def render(
    costmap: CostMap,
    out: FilePath | str,
    *,
    path: Sequence[Point] = (),
    robot: Sequence[Point] = (),
    visitor: Sequence[Point] = (),
    pedestrians: Sequence[Sequence[Point]] = (),
    pois: Sequence[PointOfInterest] = (),
    title: str = "",
    scale: float = 15.0,  # pixels per metre
) -> FilePath:
    fmap = costmap.fmap
    occ = fmap.occupied
    margin = ~costmap.safe
    rgb = np.full((*occ.shape, 3), 255, dtype=np.uint8)
    rgb[margin] = (225, 225, 225)
    rgb[occ] = (70, 70, 70)
    image = Image.fromarray(np.flipud(rgb)).convert("RGB")
    px_per_m = scale
    size = (round(image.width * fmap.resolution * scale), round(image.height * fmap.resolution * scale))
    image = image.resize(size, Image.Resampling.BOX)
    draw = ImageDraw.Draw(image)
    height = image.height

    def px(p: Point) -> tuple[float, float]:
        return ((p[0] - fmap.origin[0]) * px_per_m, height - (p[1] - fmap.origin[1]) * px_per_m)

    for poi in pois:
        x, y = px((poi.pose.x, poi.pose.y))
        draw.rectangle((x - 2, y - 2, x + 2, y + 2), outline=RED)
        if poi.kind != "window":  # numbered windows sit side by side: their labels would overlap
            draw.text((x + 4, y - 6), poi.id, fill=RED)
    if pedestrians:
        for k in range(len(pedestrians[0])):
            track = [px(frame[k]) for frame in pedestrians if k < len(frame)]
            if len(track) > 1:
                draw.line(track, fill=ORANGE, width=1)
            x, y = track[-1]
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=ORANGE)
    for points, colour, width in ((path, BLUE, 2), (visitor, GREEN, 6), (robot, BLACK, 2)):
        if len(points) > 1:
            draw.line([px(p) for p in points], fill=colour, width=width)
    for points, colour in ((robot, BLACK), (visitor, GREEN)):
        if points:
            x, y = px(points[-1])
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=colour)
    if path:
        for p, label in ((path[0], "start"), (path[-1], "goal")):
            x, y = px(p)
            draw.ellipse((x - 5, y - 5, x + 5, y + 5), outline=BLUE, width=2)
            draw.text((x + 6, y + 2), label, fill=BLUE)
    if title:
        draw.text((10, 8), title, fill=BLACK)
    out = FilePath(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out)
    return out
