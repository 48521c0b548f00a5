"""The robot's own ROS 2 nodes: thin shells around `robot.behaviour` and `robot.telemetry`.

    behaviour  /perception/visitor_events, /perception/faces, /speech/transcript, /dialogue/intent,
               /odom, /scan, /battery_state (or a battery model), /robot/command, /robot/safety_stop
               → /speech/say, /goal_pose (+ an empty /plan to cancel), /cmd_vel while escorting,
                 /robot/state (RobotState JSON, latched), /robot/events (RobotEvent JSON), /diagnostics
    telemetry  /robot/state, /robot/events, /odom → MQTT state (retained, last will offline),
               telemetry (~1 Hz), events; MQTT commands (signature checked) → /robot/command;
               MQTT `queues/+/status` → /queue/status (latched), for the dialogue

Escorts run inside the behaviour node (`Escort` paces the visitor, so it needs the visitor's
position and drives /cmd_vel itself); going back to the post or the dock is a plain /goal_pose for
the planner and controller nodes. Run one with `python -m robot.nodes behaviour --ros-args -p k:=v`.

behaviour parameters: building, floor, post, dock, low_battery, resume_battery, greeting_timeout_s,
conversation_timeout_s, simulate_battery, battery_start, battery_speed, drain_idle_per_h,
drain_moving_per_h, charge_per_h, visitor_source (faces | follow | none), nav_timeout_s.
telemetry parameters: site (default: the settings' site file), robot (default: settings robot_id),
telemetry_period_s, keepalive_s, command_max_age_s. MQTT host, port, credentials and the command
secret come from the settings (LOBBY_* environment, --config), never from ROS parameters.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped, Twist
from nav_msgs.msg import Odometry
from nav_msgs.msg import Path as PathMsg
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import BatteryState, LaserScan
from std_msgs.msg import Bool, String

from lobby import schema
from lobby.ros import run_node
from lobby.schema import (
    DialogueIntent,
    PayloadError,
    PerceivedFaces,
    QueueStatus,
    RobotCommand,
    RobotEvent,
    RobotState,
    SayRequest,
    SiteExamples,
    SpeechTranscript,
    VisitorEvent,
    parse_payload,
)
from lobby.settings import load_settings
from robot.battery import BatteryModel
from robot.behaviour import (
    Action,
    BatteryLevel,
    Behaviour,
    BehaviourConfig,
    Command,
    EscortArrived,
    EscortStuck,
    Event,
    Fault,
    FaultCleared,
    Heard,
    IntentDecided,
    NavigateTo,
    PlaceInfo,
    PublishEvent,
    ReturnedHome,
    SafetyCleared,
    SafetyStop,
    Say,
    StartEscort,
    Stop,
    Tick,
    VisitorApproaching,
    VisitorEngaged,
    VisitorLeft,
    VisitorLost,
)
from robot.navigation.controller import Controller, ControllerConfig
from robot.navigation.escort import DONE, Escort, EscortState
from robot.navigation.maps import DEFAULT_BUILDING, Pose2D, load_building
from robot.navigation.nodes import SENSOR, odom_pose, scan_from_message, yaw_quaternion
from robot.navigation.planner import PlanningError
from robot.navigation.route import Instruction, RoutePlanner
from robot.navigation.simulator import Scan
from robot.telemetry import RobotLink, event_payload, state_payload, telemetry_payload

RELIABLE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
#: /robot/state and /queue/status are latched: a late subscriber gets the latest at once.
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
STATUS_LATCHED = QoSProfile(
    depth=50, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)  # one retained message per queue, as speech.nodes.LATCHED
TICK_S = 0.5
CONTROL_S = 0.1  # the escort's 10 Hz loop, as in robot.navigation.scenario
ODOM_STALE_S = 3.0
ARRIVED_M = 0.4
FOLLOW_GAP_M = 1.2  # the simulated visitor walks this far behind the robot
FACE_FRESH_S = 2.0
STATE_REFRESH_S = 30.0


def _string(payload: Any) -> String:
    return String(data=payload.model_dump_json())


class BehaviourNode(Node):
    def __init__(self) -> None:
        super().__init__("behaviour")
        p = self.declare_parameter
        building = load_building(str(p("building", str(DEFAULT_BUILDING)).value))
        self.floor = int(p("floor", 1).value)
        places = {poi.id: PlaceInfo(poi.name_ja, poi.name_en, poi.floor) for poi in building.pois.values()}
        config = BehaviourConfig(
            post=str(p("post", "information_desk").value),
            dock=str(p("dock", "dock").value),
            low_battery=float(p("low_battery", 0.25).value),
            resume_battery=float(p("resume_battery", 0.80).value),
            greeting_timeout_s=float(p("greeting_timeout_s", 20.0).value),
            conversation_timeout_s=float(p("conversation_timeout_s", 45.0).value),
            places=places,
        )
        for poi in (config.post, config.dock):
            building.poi(poi)  # an unknown post or dock is a configuration error: fail at start
        self.building = building
        self.behaviour = Behaviour(config)
        self.routes = RoutePlanner(building)
        self.visitor_source = str(p("visitor_source", "faces").value)
        self.nav_timeout_s = float(p("nav_timeout_s", 180.0).value)
        self.battery: BatteryModel | None = None
        if bool(p("simulate_battery", False).value):
            self.battery = BatteryModel(
                level=float(p("battery_start", 0.9).value),
                drain_idle_per_h=float(p("drain_idle_per_h", 0.10).value),
                drain_moving_per_h=float(p("drain_moving_per_h", 0.30).value),
                charge_per_h=float(p("charge_per_h", 0.60).value),
                speed=float(p("battery_speed", 1.0).value),
            )
        self.robot = load_settings().robot_id
        self.pose: Pose2D | None = None
        self.v = 0.0
        self.odom_at: float | None = None
        self.scan: Scan | None = None
        self.face: tuple[float, float] | None = None  # (distance m, seen at)
        self.escort: Escort | None = None
        self.escort_lang: str = "ja"
        self.goal: tuple[float, float, str, float] | None = None  # x, y, place, sent at
        self.goal_planned = False
        self.last_state: tuple[Any, ...] | None = None

        self.say = self.create_publisher(String, "/speech/say", RELIABLE)
        self.goals = self.create_publisher(PoseStamped, "/goal_pose", RELIABLE)
        self.plans = self.create_publisher(PathMsg, "/plan", RELIABLE)
        self.cmd = self.create_publisher(Twist, "/cmd_vel", RELIABLE)
        self.states = self.create_publisher(String, "/robot/state", LATCHED)
        self.events = self.create_publisher(String, "/robot/events", RELIABLE)
        self.diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", RELIABLE)
        sub = self.create_subscription
        sub(String, "/perception/visitor_events", self._on_visitor, RELIABLE)
        sub(String, "/perception/faces", self._on_faces, RELIABLE)
        sub(String, "/speech/transcript", self._on_transcript, RELIABLE)
        sub(String, "/dialogue/intent", self._on_intent, RELIABLE)
        sub(String, "/robot/command", self._on_command, RELIABLE)
        sub(Bool, "/robot/safety_stop", self._on_safety, RELIABLE)
        sub(Odometry, "/odom", self._on_odom, SENSOR)
        sub(LaserScan, "/scan", self._on_scan, SENSOR)
        sub(PathMsg, "/plan", self._on_plan, RELIABLE)
        if self.battery is None:
            sub(BatteryState, "/battery_state", self._on_battery, SENSOR)
        self.create_timer(TICK_S, self._tick)
        self.create_timer(CONTROL_S, self._control)
        self.create_timer(1.0, self._diagnose)
        self._publish_state(force=True)
        self.get_logger().info(f"behaviour ready: post {config.post}, dock {config.dock}")

    # -- events in --------------------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        before = self.behaviour.state.mode
        actions = self.behaviour.handle(event)
        if self.behaviour.state.mode != before:
            self.get_logger().info(f"{before} → {self.behaviour.state.mode} on {type(event).__name__}")
        for action in actions:
            self._do(action)
        self._publish_state()

    def _parse(self, model: type[Any], msg: String, topic: str) -> Any:
        try:
            return parse_payload(model, msg.data)
        except PayloadError as exc:
            self.get_logger().warning(f"{topic}: rejected payload: {exc}")
            return None

    def _on_visitor(self, msg: String) -> None:
        e: VisitorEvent | None = self._parse(VisitorEvent, msg, "/perception/visitor_events")
        if e is not None:
            kinds: dict[str, type[VisitorApproaching | VisitorEngaged | VisitorLeft]] = {
                "approaching": VisitorApproaching, "engaged": VisitorEngaged, "left": VisitorLeft,
            }  # fmt: skip
            self.feed(kinds[e.type](e.track_id))

    def _on_faces(self, msg: String) -> None:
        faces: PerceivedFaces | None = self._parse(PerceivedFaces, msg, "/perception/faces")
        if faces is not None and faces.faces:
            self.face = (min(f.distance_m for f in faces.faces), time.monotonic())

    def _on_transcript(self, msg: String) -> None:
        heard: SpeechTranscript | None = self._parse(SpeechTranscript, msg, "/speech/transcript")
        if heard is not None and heard.text:
            self.feed(Heard(heard.text, heard.lang))

    def _on_intent(self, msg: String) -> None:
        i: DialogueIntent | None = self._parse(DialogueIntent, msg, "/dialogue/intent")
        if i is not None:
            intent = IntentDecided(
                i.lang, i.procedure, i.destination, i.escort, i.handoff, i.text, guessed=i.guessed is not None
            )
            self.feed(intent)

    def _on_command(self, msg: String) -> None:
        c: RobotCommand | None = self._parse(RobotCommand, msg, "/robot/command")
        if c is not None:  # the telemetry node checked the signature before publishing it here
            self.feed(Command(c.command, c.id, c.poi))

    def _on_safety(self, msg: Bool) -> None:
        self.feed(SafetyStop("safety input") if msg.data else SafetyCleared())

    def _on_odom(self, msg: Odometry) -> None:
        self.pose = odom_pose(msg)
        self.v = float(msg.twist.twist.linear.x)
        self.odom_at = time.monotonic()
        if "no odometry" in self.behaviour.state.faults:
            self.feed(FaultCleared("no odometry"))

    def _on_scan(self, msg: LaserScan) -> None:
        self.scan = scan_from_message(msg)

    def _on_plan(self, msg: PathMsg) -> None:
        if msg.poses:
            self.goal_planned = True

    def _on_battery(self, msg: BatteryState) -> None:
        if math.isfinite(msg.percentage):
            self.feed(BatteryLevel(float(msg.percentage)))

    # -- time --------------------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.monotonic()
        stale = self.odom_at is not None and now - self.odom_at > ODOM_STALE_S
        if stale and "no odometry" not in self.behaviour.state.faults:
            self.feed(Fault("no odometry"))
        if self.battery is not None:
            moving = self.escort is not None or self.goal is not None
            level = self.battery.step(TICK_S, moving=moving, charging=self.behaviour.state.mode == "charging")
            self.feed(BatteryLevel(level))
        self.feed(Tick(now))
        self._check_goal(now)
        self._publish_state(force=True)

    def _check_goal(self, now: float) -> None:
        if self.goal is None or self.pose is None:
            return
        x, y, place, sent_at = self.goal
        if math.dist((self.pose.x, self.pose.y), (x, y)) <= ARRIVED_M and abs(self.v) < 0.05:
            self.goal = None
            self.feed(ReturnedHome("dock" if place == "dock" else "post"))
        elif now - sent_at > self.nav_timeout_s:
            self.goal = None
            self.feed(EscortStuck(f"no way to the {place} within {self.nav_timeout_s:.0f} s"))
        elif not self.goal_planned and int(now / TICK_S) % 6 == 0:
            self._send_goal(x, y)  # the planner may have started after us: ask again

    def _control(self) -> None:
        if self.escort is None or self.pose is None:
            return
        update = self.escort.step(time.monotonic(), self.pose, self.scan, self._visitor_position(self.pose))
        twist = Twist()
        twist.linear.x, twist.angular.z = update.command.v, update.command.w
        self.cmd.publish(twist)
        # The behaviour says its own apology for STUCK and VISITOR_LOST, with directions.
        if update.say is not None and update.state not in (EscortState.STUCK, EscortState.VISITOR_LOST):
            lang = "ja" if self.escort_lang == "ja" else "en"
            self.say.publish(_string(SayRequest(text=getattr(update.say, lang), lang=lang)))
        if update.state in DONE:
            self.escort = None
            done: Event = VisitorLost()
            if update.state is EscortState.ARRIVED:
                done = EscortArrived()
            elif update.state is EscortState.STUCK:
                done = EscortStuck("blocked")
            self.feed(done)

    def _visitor_position(self, pose: Pose2D) -> tuple[float, float] | None:
        """Where the visitor is, in map metres: the camera looks backwards while the robot leads."""
        if self.visitor_source == "follow":
            gap = FOLLOW_GAP_M
        elif self.visitor_source == "faces" and self.face and time.monotonic() - self.face[1] < FACE_FRESH_S:
            gap = self.face[0]
        else:
            return None
        return (pose.x - gap * math.cos(pose.yaw), pose.y - gap * math.sin(pose.yaw))

    # -- actions out --------------------------------------------------------------------------------
    def _do(self, action: Action) -> None:
        if isinstance(action, Say):
            self.say.publish(_string(SayRequest(text=action.text, lang=action.lang)))
        elif isinstance(action, PublishEvent):
            self.events.publish(_string(event_payload(self.robot, action, datetime.now(UTC))))
        elif isinstance(action, Stop):
            self._stop_motion()
        elif isinstance(action, NavigateTo):
            self._stop_motion()
            poi = self.building.poi(action.poi)
            self.goal = (poi.pose.x, poi.pose.y, action.place, time.monotonic())
            self.goal_planned = False
            self._send_goal(poi.pose.x, poi.pose.y)
        elif isinstance(action, StartEscort):
            self._start_escort(action.poi)

    def _stop_motion(self) -> None:
        self.escort = None
        self.goal = None
        empty = PathMsg()
        empty.header.frame_id = "map"
        self.plans.publish(empty)  # the controller node drops its path on an empty plan
        self.cmd.publish(Twist())

    def _send_goal(self, x: float, y: float) -> None:
        msg = PoseStamped()
        msg.header.frame_id = "map"
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.pose.position.x, msg.pose.position.y = x, y
        msg.pose.orientation = yaw_quaternion(0.0)
        self.goals.publish(msg)

    def _start_escort(self, poi_id: str) -> None:
        self._stop_motion()
        self.escort_lang = self.behaviour.state.lang
        if self.pose is None:
            self.feed(EscortStuck("no position yet"))
            return
        try:
            poi = self.building.poi(poi_id)
            route = self.routes.plan_to_poi(self.floor, (self.pose.x, self.pose.y), poi)
        except (KeyError, PlanningError) as exc:
            self.feed(EscortStuck(f"no path: {exc}"))
            return
        first = route.legs[0]
        # On another floor the escort ends at the elevator (this robot does not ride it), where it
        # tells the visitor the rest of the way.
        here = (
            Instruction(poi.name_ja, poi.name_en)
            if len(route.legs) == 1
            else Instruction("エレベーター", "the elevator")
        )
        if first.then is not None:
            here = Instruction(f"{here.ja}。{first.then.ja}", f"{here.en}. {first.then.en}")
        controller = Controller(list(first.path.points), ControllerConfig())
        self.escort = Escort(controller, here)
        self.get_logger().info(f"escorting to {poi_id}: {route.length_m:.1f} m")

    # -- state out ---------------------------------------------------------------------------------
    def _publish_state(self, force: bool = False) -> None:
        s = self.behaviour.state
        key = (s.mode, s.faults, s.safety, None if s.battery is None else round(s.battery, 2))
        if key == self.last_state and not force:
            return
        self.last_state = key
        pose = None if self.pose is None else schema.Pose2D(x=self.pose.x, y=self.pose.y, yaw=self.pose.yaw)
        self.states.publish(_string(state_payload(self.robot, s, datetime.now(UTC), pose, self.floor)))

    def _diagnose(self) -> None:
        s = self.behaviour.state
        status = DiagnosticStatus(name="lobby_guide: behaviour", hardware_id=self.robot)
        if s.mode in ("fault", "safe_stop"):
            status.level, status.message = DiagnosticStatus.ERROR, s.safety or ", ".join(s.faults)
        elif s.dock_pending:
            status.level, status.message = DiagnosticStatus.WARN, "battery low"
        else:
            status.level, status.message = DiagnosticStatus.OK, s.mode
        battery = "unknown" if s.battery is None else f"{s.battery:.2f}"
        status.values = [KeyValue(key="mode", value=s.mode), KeyValue(key="battery", value=battery)]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics.publish(array)


class TelemetryNode(Node):
    def __init__(self) -> None:
        super().__init__("robot_telemetry")
        p = self.declare_parameter
        settings = load_settings()
        site = str(p("site", "").value)
        if not site:
            from queue_bridge.site import load_site

            site = load_site(settings.site_file).site
        self.robot = str(p("robot", "").value) or settings.robot_id
        period = float(p("telemetry_period_s", 1.0).value)
        self.state: RobotState | None = None
        self.odom: Odometry | None = None
        self.state_sent_at = 0.0
        self.commands = self.create_publisher(String, "/robot/command", RELIABLE)
        self.statuses = self.create_publisher(String, "/queue/status", STATUS_LATCHED)
        self.site_examples = self.create_publisher(String, "/dialogue/site_examples", LATCHED)
        self.link = RobotLink(
            settings, site, self.robot, self._on_command, self._on_status,
            on_examples=self._on_examples,
            examples_cache=settings.robot_examples_cache,
            keepalive_s=int(p("keepalive_s", 5).value),
            max_age_s=float(p("command_max_age_s", 60.0).value),
            clock=lambda: datetime.now(UTC),
        )  # fmt: skip
        self.create_subscription(String, "/robot/state", self._on_state, LATCHED)
        self.create_subscription(String, "/robot/events", self._on_event, RELIABLE)
        self.create_subscription(Odometry, "/odom", self._on_odom, SENSOR)
        self.create_timer(period, self._telemetry)
        self.link.start()
        self.get_logger().info(f"telemetry for robot {self.robot} at site {site}")

    def _on_command(self, command: RobotCommand) -> None:
        self.commands.publish(_string(command))

    def _on_status(self, status: QueueStatus) -> None:
        self.statuses.publish(_string(status))

    def _on_examples(self, examples: SiteExamples) -> None:
        self.site_examples.publish(_string(examples))

    def _on_state(self, msg: String) -> None:
        try:
            state = parse_payload(RobotState, msg.data).model_copy(update={"robot": self.robot})
        except PayloadError as exc:
            self.get_logger().warning(f"/robot/state: rejected payload: {exc}")
            return
        before, self.state = self.state, state
        # Retained state on every change of what the fleet view shows as status, and now and then
        # for pose and battery (which otherwise travel in telemetry at ~1 Hz).
        status = (state.mode, state.faults, state.floor)
        changed = before is None or (before.mode, before.faults, before.floor) != status
        now = time.monotonic()
        if changed or now - self.state_sent_at >= STATE_REFRESH_S:
            self.state_sent_at = now
            self.link.publish_state(state)

    def _on_event(self, msg: String) -> None:
        try:
            event = parse_payload(RobotEvent, msg.data).model_copy(update={"robot": self.robot})
        except PayloadError as exc:
            self.get_logger().warning(f"/robot/events: rejected payload: {exc}")
            return
        self.link.publish_event(event)

    def _on_odom(self, msg: Odometry) -> None:
        self.odom = msg

    def _telemetry(self) -> None:
        if self.odom is None:
            return
        pose = odom_pose(self.odom)
        battery = self.state.battery if self.state else None
        floor = self.state.floor if self.state else 1
        self.link.publish_telemetry(
            telemetry_payload(
                self.robot, schema.Pose2D(x=pose.x, y=pose.y, yaw=pose.yaw), datetime.now(UTC),
                v=float(self.odom.twist.twist.linear.x), w=float(self.odom.twist.twist.angular.z),
                battery=battery, floor=floor,
            )
        )  # fmt: skip

    def destroy_node(self) -> None:
        self.link.stop()
        super().destroy_node()


NODES: dict[str, type[BehaviourNode | TelemetryNode]] = {
    "behaviour": BehaviourNode,
    "telemetry": TelemetryNode,
}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m robot.nodes NAME [--ros-args ...]`."""
    return run_node("robot.nodes", NODES, argv)


if __name__ == "__main__":
    sys.exit(main())
