"""Fleet telemetry: the robot's side of `lobby/v1/{site}/robots/{robot}/…` (ARCHITECTURE.md §3).

Core (pure): build `RobotState` / `RobotTelemetry` / `RobotEvent` payloads from the behaviour's
state and actions, and `CommandGate`, which decides whether a staff command is obeyed: the schema
must validate, the command must name this robot, be signed with the shared secret, be fresh (issued
within `max_age_s`, either side, for clock skew) and not be a replay of an id already obeyed.

Shell: `RobotLink`, a paho-mqtt 2.x client whose last will is the retained state with mode
"offline" (the broker publishes it when the robot vanishes: SIGKILL, power loss, a cable pulled,
within 1.5 × keepalive at worst), that publishes retained state, ~1 Hz telemetry (QoS 0), events
(QoS 1), verifies commands through the gate and mirrors every queue's retained status to a callback
(the ROS node republishes it on /queue/status for the dialogue), and the site's taught examples,
once `check_examples` found them signed by the server, to another (republished on
/dialogue/site_examples for the dialogue to learn). The last examples passed on are kept in a file
(`read_examples_cache` / `write_examples_cache`), so a robot that restarts knows them before the
broker answers and still refuses older ones replayed on the broker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from lobby.schema import (
    PayloadError,
    Pose2D,
    QueueStatus,
    RobotCommand,
    RobotEvent,
    RobotMode,
    RobotState,
    RobotTelemetry,
    SiteExamples,
    examples_topic,
    parse_payload,
    payload_is_signed,
    robot_topic,
    status_topic,
)
from lobby.settings import Settings
from robot.behaviour import BehaviourState, PublishEvent

log = logging.getLogger("lobby.robot.telemetry")

_IDENT = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")

# -- payloads (pure) ----------------------------------------------------------------------------------


def state_payload(
    robot: str,
    state: BehaviourState,
    now: datetime,
    pose: Pose2D | None = None,
    floor: int = 1,
) -> RobotState:
    mode: RobotMode = state.mode
    faults = [f[:200] for f in state.faults][:20]
    if state.safety:
        faults = [f"safety: {state.safety}"[:200], *faults][:20]
    return RobotState(
        robot=robot, mode=mode, floor=floor, pose=pose, battery=state.battery, faults=faults, updated_at=now
    )


def offline_payload(robot: str, now: datetime, last: RobotState | None = None) -> RobotState:
    """The last will: what the bridge shows when the robot is gone (last known pose kept)."""
    if last is not None:
        return last.model_copy(update={"mode": "offline", "updated_at": now})
    return RobotState(robot=robot, mode="offline", updated_at=now)


def telemetry_payload(
    robot: str, pose: Pose2D, now: datetime, v: float = 0.0, w: float = 0.0,
    battery: float | None = None, floor: int = 1,
) -> RobotTelemetry:  # fmt: skip
    return RobotTelemetry(robot=robot, floor=floor, pose=pose, v=v, w=w, battery=battery, at=now)


def event_payload(robot: str, action: PublishEvent, now: datetime) -> RobotEvent:
    return RobotEvent(
        robot=robot, kind=action.kind, at=now, text=action.text[:1000], lang=action.lang,
        procedure=_ident_or_none(action.procedure), poi=_ident_or_none(action.poi),
        command_id=action.command_id, accepted=action.accepted,
    )  # fmt: skip


def _ident_or_none(value: str | None) -> str | None:
    """Procedure keys may be Japanese words; the schema wants identifiers, so those are left out."""
    return value if value is not None and _IDENT.match(value) else None


# -- command verification (pure) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str
    command: RobotCommand | None = None
    command_id: str | None = None  # for the acknowledgement, even when the payload is unusable


class CommandGate:
    """Obey the server only: signed, fresh, for this robot, and each id once."""

    def __init__(
        self, robot: str, secret: bytes | None, max_age_s: float = 60.0, remember: int = 10_000
    ) -> None:
        self.robot = robot
        self.secret = secret
        self.max_age = timedelta(seconds=max_age_s)
        self.remember = remember
        self._seen: OrderedDict[str, datetime] = OrderedDict()

    def check(self, raw: bytes | str, now: datetime) -> Verdict:
        try:
            cmd = parse_payload(RobotCommand, raw)
        except PayloadError as exc:
            return Verdict(False, f"invalid command: {exc}", command_id=_raw_id(raw))
        if cmd.robot != self.robot:
            return Verdict(False, f"command for robot {cmd.robot!r}, this is {self.robot!r}", cmd, cmd.id)
        if self.secret is None:
            return Verdict(
                False, "no command secret configured on the robot: refusing all commands", cmd, cmd.id
            )
        if not payload_is_signed(cmd, self.secret):
            return Verdict(False, "bad or missing signature", cmd, cmd.id)
        age = now - cmd.issued_at
        if age > self.max_age or -age > self.max_age:
            return Verdict(False, f"stale command: issued {age.total_seconds():.0f} s ago", cmd, cmd.id)
        # Only signed, fresh commands reach the replay memory: nobody can fill it with forgeries.
        if cmd.id in self._seen:
            return Verdict(False, "replayed command id", cmd, cmd.id)
        self._seen[cmd.id] = now
        self._forget(now)
        return Verdict(True, "ok", cmd, cmd.id)

    def _forget(self, now: datetime) -> None:
        """Ids older than twice the freshness window can go: a replay of them is stale anyway."""
        while self._seen and (
            len(self._seen) > self.remember or now - next(iter(self._seen.values())) > 2 * self.max_age
        ):
            self._seen.popitem(last=False)


def check_examples(
    raw: bytes | str, site: str, secret: bytes | None, learnt_at: datetime | None = None
) -> SiteExamples | str:
    """The site's taught examples if the server signed them for this site and they are not older
    than those learnt at `learnt_at`, else why not (one line): what a robot tells visitors changes
    only at the server's word, like a command, and an old signed message replayed on the broker
    cannot bring back what staff removed since."""
    try:
        examples = parse_payload(SiteExamples, raw)
    except PayloadError as exc:
        return f"invalid examples: {exc}"
    if examples.site != site:
        return f"examples for site {examples.site!r}, this is {site!r}"
    if secret is None:
        return "no command secret configured on the robot: refusing the taught examples"
    if not payload_is_signed(examples, secret):
        return "examples with a bad or missing signature"
    if learnt_at is not None and examples.updated_at < learnt_at:
        return f"examples of {examples.updated_at.isoformat()}, older than those learnt ({learnt_at.isoformat()})"
    return examples


def read_examples_cache(path: Path, site: str, secret: bytes | None) -> SiteExamples | str | None:
    """The taught examples this robot kept, checked again as when they came (the file may be stale,
    damaged or from another secret); None when it has kept none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    verdict = check_examples(raw, site, secret)
    return f"{path}: {verdict}" if isinstance(verdict, str) else verdict


def write_examples_cache(path: Path, examples: SiteExamples) -> None:
    """Keep the examples (signature and all) whole or not at all: written aside, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(examples.model_dump_json(), "utf-8")
    os.replace(part, path)


def _raw_id(raw: bytes | str) -> str | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and _IDENT.match(value) else None


# -- MQTT shell ------------------------------------------------------------------------------------------


class RobotLink:
    """The robot's MQTT connection. Callbacks run on paho's network thread: keep them short."""

    def __init__(
        self,
        settings: Settings,
        site: str,
        robot: str,
        on_command: Callable[[RobotCommand], None],
        on_status: Callable[[QueueStatus], None] | None = None,
        on_refused: Callable[[RobotEvent], None] | None = None,
        on_examples: Callable[[SiteExamples], None] | None = None,
        *,
        examples_cache: Path | None = None,
        keepalive_s: int = 5,
        max_age_s: float = 60.0,
        clock: Callable[[], datetime],
    ) -> None:
        from queue_bridge.mqtt_io import make_client

        self.site, self.robot, self.settings = site, robot, settings
        self.clock = clock
        self.keepalive_s = keepalive_s
        secret = settings.command_secret.get_secret_value().encode() if settings.command_secret else None
        if secret is None:
            log.error("LOBBY_COMMAND_SECRET is not set: every staff command will be refused")
        self.gate = CommandGate(robot, secret, max_age_s)
        self.on_command, self.on_status, self.on_refused = on_command, on_status, on_refused
        self.on_examples = on_examples
        self.examples_cache = examples_cache
        self._examples_at: datetime | None = None  # when the server made the examples last passed on
        self.rejected = 0  # invalid queue status and examples payloads, counted for operators
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self._last_state: RobotState | None = None
        self.client = make_client(settings, f"robot-{robot}", persistent=False)
        self.client.will_set(
            robot_topic(site, robot, "state"),
            offline_payload(robot, clock()).model_dump_json(),
            qos=1,
            retain=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        if self.on_examples is not None and self.examples_cache is not None:
            self._kept_examples(self.examples_cache)
        self.client.connect_async(
            self.settings.mqtt_host, self.settings.mqtt_port, keepalive=self.keepalive_s
        )
        self.client.loop_start()

    def stop(self) -> None:
        """A clean shutdown says so itself: the last will only covers the unclean kind."""
        with self._lock:
            last = self._last_state
        if self.connected.is_set():
            info = self.client.publish(
                robot_topic(self.site, self.robot, "state"),
                offline_payload(self.robot, self.clock(), last).model_dump_json(),
                qos=1,
                retain=True,
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(3)
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing ----------------------------------------------------------------------------------
    def publish_state(self, state: RobotState) -> None:
        with self._lock:
            self._last_state = state
        self.client.publish(
            robot_topic(self.site, self.robot, "state"), state.model_dump_json(), qos=1, retain=True
        )

    def publish_telemetry(self, telemetry: RobotTelemetry) -> None:
        if self.connected.is_set():  # old positions are worthless: never queue them
            self.client.publish(
                robot_topic(self.site, self.robot, "telemetry"), telemetry.model_dump_json(), qos=0
            )

    def publish_event(self, event: RobotEvent) -> None:
        self.client.publish(robot_topic(self.site, self.robot, "events"), event.model_dump_json(), qos=1)

    # -- paho callbacks ----------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        client.subscribe(robot_topic(self.site, self.robot, "commands"), qos=1)
        if self.on_status is not None:
            client.subscribe(status_topic(self.site, "+"), qos=1)
        if self.on_examples is not None:
            client.subscribe(examples_topic(self.site), qos=1)
        self.connected.set()
        log.info("connected to MQTT %s:%s", self.settings.mqtt_host, self.settings.mqtt_port)
        with self._lock:
            last = self._last_state
        if last is not None:  # replace the last will the broker may have published meanwhile
            self.publish_state(last)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        log.warning("MQTT disconnected (%s)", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            if msg.topic.endswith("/commands"):
                self._command(bytes(msg.payload))
            elif msg.topic == examples_topic(self.site):
                self._examples(bytes(msg.payload))
            elif self.on_status is not None:
                self._status(bytes(msg.payload))
        except Exception:  # a bad message must never kill the network thread
            log.exception("error handling MQTT message on %s", msg.topic)

    def _command(self, raw: bytes) -> None:
        verdict = self.gate.check(raw, self.clock())
        if verdict.accepted and verdict.command is not None:
            log.info(
                "command %s (%s) from %s",
                verdict.command.id,
                verdict.command.command,
                verdict.command.issued_by,
            )
            self.on_command(verdict.command)
            return
        log.warning("refused command %s: %s", verdict.command_id, verdict.reason)
        ack = RobotEvent(
            robot=self.robot, kind="command_ack", at=self.clock(), text=verdict.reason,
            command_id=verdict.command_id, accepted=False,
        )  # fmt: skip
        self.publish_event(ack)
        if self.on_refused is not None:
            self.on_refused(ack)

    def _status(self, raw: bytes) -> None:
        try:
            status = parse_payload(QueueStatus, raw)
        except PayloadError as exc:
            self.rejected += 1
            log.warning("queue status rejected (%d so far): %s", self.rejected, exc)
            return
        if status.site == self.site and self.on_status is not None:
            self.on_status(status)

    def _examples(self, raw: bytes) -> None:
        examples = check_examples(raw, self.site, self.gate.secret, self._examples_at)
        if isinstance(examples, str):
            self.rejected += 1
            log.warning("taught examples refused (%d payloads rejected so far): %s", self.rejected, examples)
        elif examples.updated_at == self._examples_at:  # (re)connecting brings the retained one again
            log.debug("taught examples of %s already learnt", examples.updated_at.isoformat())
        elif self.on_examples is not None:
            log.info("taught examples of %s received", examples.updated_at.isoformat(timespec="seconds"))
            self._pass_on(examples)
            if self.examples_cache is not None:
                try:
                    write_examples_cache(self.examples_cache, examples)
                except OSError as exc:  # learnt all the same; only a restart forgets them
                    log.error("cannot keep the taught examples in %s: %s", self.examples_cache, exc)

    def _kept_examples(self, path: Path) -> None:
        kept = read_examples_cache(path, self.site, self.gate.secret)
        if isinstance(kept, str):
            log.warning("taught examples kept on this robot not used: %s", kept)
        elif kept is not None:
            log.info(
                "taught examples of %s kept on this robot", kept.updated_at.isoformat(timespec="seconds")
            )
            self._pass_on(kept)

    def _pass_on(self, examples: SiteExamples) -> None:
        assert self.on_examples is not None
        self._examples_at = examples.updated_at
        self.on_examples(examples)
