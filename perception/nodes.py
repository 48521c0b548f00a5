"""The perception ROS 2 node: a thin shell around `pipeline.FacePipeline`.

    /camera/image_raw (sensor_msgs/Image) ─┐
    or a video file / image directory ─────┴→ faces → /perception/faces
                                                     /perception/visitor_events
                                                     /perception/visitor_count (latched)
                                                     /perception/debug_image (only if debug_image:=true)

Payloads are the versioned JSON of `lobby/schema.py` in std_msgs/String. Frames are processed
on a worker thread that always takes the newest frame (older ones are dropped and counted), so
a slow CPU lowers the frame rate, never raises the latency. No frame is written anywhere; the
debug image is blurred before boxes are drawn, and only published.

    python -m perception.nodes faces --ros-args -p source:=topic -p range_m:=1.5

Parameters: source (topic | video:PATH | dir:PATH | device:N), detector (yuface | haar),
fx, fy, cx, cy, calib_width, calib_height (camera intrinsics), face_width_m, range_m, dwell_s,
min_approach_m, engaged_dwell_s, min_frontality, debug_image, fps (image directories).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image as ImageMsg
from std_msgs.msg import String

from lobby.ros import run_node
from lobby.schema import FaceDetection, PerceivedFaces, VisitorCount
from lobby.schema import VisitorEvent as VisitorEventPayload
from perception.camera import CameraError, FrameSource, PushSource, decode_image, encode_image, open_source
from perception.detect import make_detector
from perception.engagement import CameraIntrinsics, EngagementConfig, VisitorEvent
from perception.pipeline import FacePipeline, FrameResult, PipelineConfig

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
#: Camera frames: the newest only, and a lost frame is not resent (a new one is coming).
CAMERA = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
MAX_FACES = 20


def faces_payload(result: FrameResult) -> PerceivedFaces:
    nearest = sorted(result.faces, key=lambda f: f.distance_m)[:MAX_FACES]
    return PerceivedFaces(
        stamp=result.stamp, frame=result.index, width=result.width, height=result.height,
        faces=[
            FaceDetection(
                box=[round(v, 1) for v in f.box], score=round(min(1.0, max(0.0, f.score)), 3),
                track_id=f.track_id, distance_m=round(f.distance_m, 2),
                frontality=None if f.frontality is None else round(f.frontality, 2),
            )
            for f in nearest
        ],
    )  # fmt: skip


def event_payload(event: VisitorEvent) -> VisitorEventPayload:
    distance = None if event.distance_m is None else round(event.distance_m, 2)
    return VisitorEventPayload(
        type=event.type.value, track_id=event.track_id, stamp=event.stamp, distance_m=distance
    )


class FacesNode(Node):
    def __init__(self) -> None:
        super().__init__("perception_faces")
        p = self._param
        camera = CameraIntrinsics(
            fx=float(p("fx", 554.0)), fy=float(p("fy", 554.0)), cx=float(p("cx", 320.0)), cy=float(p("cy", 240.0)),
            width=int(p("calib_width", 640)), height=int(p("calib_height", 480)),
        )  # fmt: skip
        engagement = EngagementConfig(
            range_m=float(p("range_m", 1.5)), dwell_s=float(p("dwell_s", 0.8)),
            min_approach_m=float(p("min_approach_m", 0.4)), engaged_dwell_s=float(p("engaged_dwell_s", 0.5)),
            min_frontality=float(p("min_frontality", 0.6)),
        )  # fmt: skip
        self.pipeline = FacePipeline(
            make_detector(str(p("detector", "yuface"))), PipelineConfig(engagement=engagement, camera=camera)
        )
        self.pipeline.monitor.face_width_m = float(p("face_width_m", 0.15))
        self.debug = bool(p("debug_image", False))
        self.rejected = 0  # malformed Image messages, counted for operators
        self.processed = 0
        self.failed = 0  # frames whose processing raised: logged and counted, the next one goes on
        self.faces_pub = self.create_publisher(String, "/perception/faces", RELIABLE)
        self.events_pub = self.create_publisher(String, "/perception/visitor_events", RELIABLE)
        self.count_pub = self.create_publisher(String, "/perception/visitor_count", LATCHED)
        self.debug_pub = (
            self.create_publisher(ImageMsg, "/perception/debug_image", CAMERA) if self.debug else None
        )
        self._last_count = 0.0
        source_spec = str(p("source", "topic"))
        self.source: FrameSource
        if source_spec == "topic":
            self.push = PushSource()
            self.source = self.push
            self.create_subscription(ImageMsg, "/camera/image_raw", self._on_image, CAMERA)
        else:
            self.source = open_source(source_spec, fps=float(p("fps", 15.0)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="perception", daemon=True)
        self._thread.start()

    def _param(self, name: str, default: float | int | str | bool) -> float | int | str | bool:
        value: float | int | str | bool | None = self.declare_parameter(name, default).value
        return default if value is None else value

    def _on_image(self, msg: ImageMsg) -> None:
        try:
            image = decode_image(
                msg.height, msg.width, msg.encoding, msg.step, bytes(msg.data), msg.is_bigendian
            )
        except CameraError as exc:
            self.rejected += 1
            self.get_logger().warning(f"/camera/image_raw: rejected frame ({self.rejected} so far): {exc}")
            return
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        self.push.push(image, stamp if stamp > 0 else time.monotonic())

    def _run(self) -> None:
        if not isinstance(self.source, PushSource):  # a recording: nobody must miss its start
            deadline = time.monotonic() + 30
            while self.faces_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            for frame in self.source.frames():
                if self._stop.is_set() or not rclpy.ok():
                    return
                try:
                    self._publish(self.pipeline.process(frame.image, frame.stamp), frame.image)
                except Exception as exc:  # one bad frame must not silence the robot's eyes for good
                    if self._stop.is_set() or not rclpy.ok():
                        return  # shutting down: publishers are going away under us
                    self.failed += 1
                    self.get_logger().error(
                        f"frame {frame.index} failed ({self.failed} so far): {type(exc).__name__}: {exc}"
                    )
        except CameraError as exc:
            self.get_logger().error(str(exc))

    def _publish(self, result: FrameResult, image: object) -> None:
        self.processed += 1
        self.faces_pub.publish(String(data=faces_payload(result).model_dump_json()))
        for event in result.events:
            self.get_logger().info(f"visitor {event.type.value}: track {event.track_id}")
            self.events_pub.publish(String(data=event_payload(event).model_dump_json()))
        now = time.monotonic()
        if now - self._last_count >= 1.0:
            self._last_count = now
            self.count_pub.publish(String(data=self.count_payload().model_dump_json()))
        if self.debug_pub is not None:
            from perception.privacy import debug_view

            view = debug_view(image, result.faces)  # type: ignore[arg-type]
            step, data = encode_image(view, "bgr8")
            msg = ImageMsg(height=view.shape[0], width=view.shape[1], encoding="bgr8", step=step, data=data)
            msg.header.frame_id = "camera"
            self.debug_pub.publish(msg)

    def count_payload(self) -> VisitorCount:
        now = datetime.now(UTC)
        since = (now - timedelta(hours=24)).isoformat()
        per_hour = {h: n for h, n in self.pipeline.counter.counts.items() if h >= since[:13]}
        return VisitorCount(per_hour=per_hour, updated_at=now)

    def stop(self) -> None:
        """Stop the worker and wait for it, before the publishers are destroyed."""
        self._stop.set()
        if isinstance(self.source, PushSource):
            self.source.close()
        self._thread.join(timeout=5)

    def destroy_node(self) -> None:
        self.stop()
        super().destroy_node()


NODES = {"faces": FacesNode}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m perception.nodes faces [--ros-args ...]`."""
    return run_node("perception.nodes", NODES, argv, startup_errors=(CameraError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
