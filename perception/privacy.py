"""The only picture perception ever makes for people to look at: the debug view, blurred past
recognition before any box is drawn on it. It is published on a ROS topic when asked for, and
never written to disk (nothing in this package writes images)."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from perception.detect import Image
from perception.pipeline import TrackedFace

#: The frame is shrunk to 1/BLUR_FACTOR before it is enlarged back: a face of 100 px becomes
#: ~6 blocks wide, enough to see where people are, not who they are.
BLUR_FACTOR = 16


def blurred(image: Image) -> Image:
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(1, w // BLUR_FACTOR), max(1, h // BLUR_FACTOR)), interpolation=cv2.INTER_AREA
    )
    return np.ascontiguousarray(
        cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0), 3)
    )


def debug_view(image: Image, faces: Iterable[TrackedFace]) -> Image:
    """The blurred frame with each tracked face's box, id and distance. Inside each box (and a
    margin) the blur is replaced by one flat colour: a blurred face can still be a face to a
    detector, a flat patch is nobody."""
    view = blurred(image)
    h_img, w_img = view.shape[:2]
    for face in faces:
        x, y, w, h = (round(v) for v in face.box)
        mx, my = w // 5, h // 5
        x0, y0, x1, y1 = max(0, x - mx), max(0, y - my), min(w_img, x + w + mx), min(h_img, y + h + my)
        if x1 > x0 and y1 > y0:
            view[y0:y1, x0:x1] = view[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0).astype(np.uint8)
        colour = (0, 200, 0) if face.measured else (0, 200, 200)
        cv2.rectangle(view, (x, y), (x + w, y + h), colour, 2)
        cv2.putText(view, f"#{face.track_id} {face.distance_m:.1f}m", (x, max(12, y - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)  # fmt: skip
    return view
