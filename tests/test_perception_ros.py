"""The perception node over real ROS 2 (DDS on loopback): camera frames published by a real
publisher in this process, faces and visitor events back, malformed frames counted, and no
image file written anywhere while it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from lobby.schema import PerceivedFaces, VisitorCount, VisitorEvent, parse_payload  # noqa: E402
from perception.camera import encode_image  # noqa: E402
from perception.nodes import CAMERA, LATCHED, RELIABLE  # noqa: E402
from perception.scenes import Sequence, Walker  # noqa: E402
from tests.ros_support import spin_until  # noqa: E402

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff", ".webp", ".gif"}


def image_msg(image: np.ndarray, stamp: float, encoding: str = "bgr8", align: int = 1) -> Image:
    step, data = encode_image(image, encoding, align=align)
    msg = Image(height=image.shape[0], width=image.shape[1], encoding=encoding, step=step, data=data)
    msg.header.stamp.sec = int(stamp)
    msg.header.stamp.nanosec = int((stamp % 1) * 1e9)
    msg.header.frame_id = "camera"
    return msg


def image_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]


def test_frames_in_faces_and_events_out_with_no_image_written(
    ros_env: dict[str, str], tmp_path: Path
) -> None:
    # The node runs in an empty working directory with an empty HOME: anything it writes lands there.
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = {**ros_env, "HOME": str(home), "ROS_LOG_DIR": str(tmp_path / "roslog")}
    log = tmp_path / "node.log"
    args = [sys.executable, "-m", "perception.nodes", "faces", "--ros-args", "-p", "debug_image:=true"]
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    node = rclpy.create_node("test_camera")
    faces: list[PerceivedFaces] = []
    events: list[VisitorEvent] = []
    counts: list[VisitorCount] = []
    debug: list[Image] = []
    node.create_subscription(
        String, "/perception/faces", lambda m: faces.append(parse_payload(PerceivedFaces, m.data)), RELIABLE
    )
    node.create_subscription(
        String,
        "/perception/visitor_events",
        lambda m: events.append(parse_payload(VisitorEvent, m.data)),
        RELIABLE,
    )
    node.create_subscription(
        String,
        "/perception/visitor_count",
        lambda m: counts.append(parse_payload(VisitorCount, m.data)),
        LATCHED,
    )
    node.create_subscription(Image, "/perception/debug_image", debug.append, CAMERA)
    camera = node.create_publisher(Image, "/camera/image_raw", CAMERA)
    # A visitor walks up to the robot over 3 s (320×240, rows padded to 64 bytes, rgb8), then leaves.
    walker = Walker(sprite=7, start=(160, 110, 20), end=(160, 115, 75), first=0, last=44)
    sequence = Sequence([walker], n_frames=70, width=322, height=240, seed=2)
    try:
        spin_until(node, lambda: camera.get_subscription_count() > 0, 60, "the perception node")
        spin_until(node, lambda: node.count_publishers("/perception/faces") > 0, 30, "its publishers")
        # Malformed frames: refused, counted, logged. Best effort may lose one: resend until seen.
        bad = image_msg(sequence.frame(0), 0.0)
        bad.step -= 3  # shorter than a row
        odd = image_msg(sequence.frame(0), 0.0)
        odd.encoding = "jpeg"
        for msg, expect in ((bad, "shorter than a row"), (odd, "unsupported encoding 'jpeg'")):
            for _attempt in range(20):
                camera.publish(msg)
                try:
                    spin_until(node, lambda expect=expect: expect in log.read_text(), 1, f"{expect!r} logged")
                    break
                except AssertionError:
                    continue
        for i, (stamp, image) in enumerate(sequence.frames()):
            # The next frame once the node has answered this one (it keeps up, as with a camera at
            # 15 frames/s); camera QoS is best effort, so a frame lost on the way is sent again.
            seen = len(faces)
            for _attempt in range(10):
                camera.publish(image_msg(image, 100.0 + stamp, "rgb8", align=64))
                try:
                    spin_until(node, lambda seen=seen: len(faces) > seen, 2, f"faces for frame {i}")
                    break
                except AssertionError:
                    continue
            assert len(faces) > seen, f"no answer to frame {i}"
        spin_until(node, lambda: any(e.type == "left" for e in events) and bool(counts and debug), 20, "left")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        node.destroy_node()

    output = log.read_text()
    rejected = output.count("rejected frame")
    assert "shorter than a row" in output and "unsupported encoding 'jpeg'" in output
    assert rejected >= 2 and f"({rejected} so far)" in output and "Traceback" not in output
    assert faces[-1].width == 322 and faces[-1].height == 240
    assert max(len(f.faces) for f in faces) == 1
    seen_near = [f.faces[0] for f in faces if f.faces]
    assert {f.track_id for f in seen_near} == {1}
    assert min(f.distance_m for f in seen_near) < 1.0 < max(f.distance_m for f in seen_near)
    assert [e.type for e in events if e.type != "engaged"] == ["approaching", "left"]
    assert all(e.track_id == 1 for e in events)
    assert sum(counts[-1].per_hour.values()) == 1
    assert debug[-1].width == 322 and debug[-1].encoding == "bgr8"
    assert image_files(cwd, home, tmp_path / "roslog") == []  # privacy: not one frame on disk
