"""MQTT shell of the bridge: events in (QoS 1, acknowledged only after the log commits), status out.

The client keeps a persistent session (stable client id, clean_session=False), so events published
while the bridge is down or restarting wait at the broker and are redelivered; events received
but not yet committed are not acknowledged, so the broker redelivers them too. Duplicates that
result are dropped by `event_id`.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from lobby.schema import (
    QueueEvent,
    QueueStatus,
    RobotCommand,
    events_topic,
    examples_topic,
    robot_topic,
    sign_payload,
    status_topic,
)
from lobby.settings import Settings
from queue_bridge.bridge import Bridge, Rejected
from queue_bridge.taught import site_examples

log = logging.getLogger("lobby.mqtt")

BATCH_MAX = 500
BATCH_WAIT_S = 0.005


def make_client(settings: Settings, client_id: str, *, persistent: bool) -> mqtt.Client:
    """A paho client configured from settings (credentials, TLS); not yet connected."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=not persistent,
        protocol=mqtt.MQTTv311,
        manual_ack=persistent,
    )
    if settings.mqtt_username:
        password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
        client.username_pw_set(settings.mqtt_username, password)
    if settings.mqtt_tls_ca:
        client.tls_set(ca_certs=str(settings.mqtt_tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.max_inflight_messages_set(1000)
    return client


@dataclass(frozen=True)
class _Inbound:
    mid: int
    qos: int
    topic_queue: str | None
    payload: bytes


@dataclass(frozen=True)
class _RobotInbound:
    mid: int
    qos: int
    robot: str
    kind: str
    payload: bytes
    retained: bool


class CommandNotSent(RuntimeError):
    """The broker is not reachable: the command was not handed over (one-line reason)."""


class MqttBridge:
    """Subscribes to the site's event topics and publishes retained status for changed queues."""

    def __init__(self, bridge: Bridge, settings: Settings) -> None:
        self.bridge = bridge
        self.settings = settings
        self.site = bridge.site.site
        self.client = make_client(settings, settings.mqtt_client_id, persistent=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self._stopping = False
        self._inbox: queue.Queue[_Inbound | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="lobby-ingest", daemon=True)
        # Robot state/telemetry/events have a worker of their own: a burst of ticket events never
        # delays telemetry (and so never makes a robot look offline), and the other way round.
        self._robot_inbox: queue.Queue[_RobotInbound | None] = queue.Queue()
        self._robot_worker = threading.Thread(target=self._run_robots, name="lobby-fleet", daemon=True)
        bridge.add_listener(self.publish_statuses)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._worker.start()
        self._robot_worker.start()
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port, keepalive=15)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        self._inbox.put(None)
        self._robot_inbox.put(None)
        self._worker.join(timeout=5)
        self._robot_worker.join(timeout=5)

    # -- paho callbacks (network thread): only hand over, never block -------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("MQTT connection refused: %s", reason)
            return
        client.subscribe(
            [(events_topic(self.site), 1)]
            + [(robot_topic(self.site, "+", kind), 1) for kind in ("state", "telemetry", "events")]
        )
        self.connected.set()
        self.bridge.links["mqtt"] = True
        log.info("connected to MQTT %s:%s", self.settings.mqtt_host, self.settings.mqtt_port)
        # Re-publish what is retained: the broker may have restarted without persistence.
        self.publish_statuses(self.bridge.statuses())
        self.publish_examples()

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected.clear()
        self.bridge.links["mqtt"] = False
        if self._stopping:
            return
        self.bridge.counters["mqtt_disconnects"] += 1
        log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) == 6 and parts[3] == "robots":
            self._robot_inbox.put(
                _RobotInbound(msg.mid, msg.qos, parts[4], parts[5], bytes(msg.payload), bool(msg.retain))
            )
            return
        topic_queue = parts[4] if len(parts) == 6 else None
        self._inbox.put(_Inbound(msg.mid, msg.qos, topic_queue, bytes(msg.payload)))

    # -- ingest worker ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._inbox.get()
            if first is None:
                return
            batch = [first]
            try:
                while len(batch) < BATCH_MAX:
                    item = self._inbox.get(timeout=BATCH_WAIT_S)
                    if item is None:
                        self._inbox.put(None)
                        break
                    batch.append(item)
            except queue.Empty:
                pass
            self._ingest_batch(batch)

    def _ingest_batch(self, batch: list[_Inbound]) -> None:
        events: list[QueueEvent] = []
        for item in batch:
            result = self.bridge.validate(item.topic_queue, item.payload)
            if not isinstance(result, Rejected):
                events.append(result)
        # Nothing is acknowledged until the batch is stored: on a storage error (disk full, locked
        # database) keep retrying, and the broker holds everything behind it meanwhile.
        delay = 0.1
        while True:
            try:
                self.bridge.ingest(events)
                break
            except Exception:
                log.exception("could not store a batch of %d events; retrying in %.1fs", len(events), delay)
                self.bridge.counters["store_errors"] += 1
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        for item in batch:  # rejected messages are acknowledged too: redelivery would not fix them
            if item.qos > 0:
                self.client.ack(item.mid, item.qos)

    def _run_robots(self) -> None:
        while True:
            item = self._robot_inbox.get()
            if item is None:
                return
            try:
                self.bridge.ingest_robot(item.kind, item.robot, item.payload, item.retained)
            except Exception:  # e.g. the staff database is locked: log it, never stop the worker
                log.exception("could not handle a robot message on %s/%s", item.robot, item.kind)
                self.bridge.counters["robot_errors"] += 1
            if item.qos > 0:
                self.client.ack(item.mid, item.qos)

    # -- commands out -------------------------------------------------------------------------
    def publish_command(self, command: RobotCommand) -> None:
        """Hand a signed command to the broker (QoS 1); raises CommandNotSent when not connected."""
        if not self.connected.is_set():
            raise CommandNotSent("not connected to the MQTT broker")
        info = self.client.publish(
            robot_topic(self.site, command.robot, "commands"), command.model_dump_json(), qos=1
        )
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise CommandNotSent(f"MQTT publish failed: {mqtt.error_string(info.rc)}")

    # -- taught examples out ----------------------------------------------------------------
    def publish_examples(self) -> None:
        """The site's taught examples, signed, retained: every robot of the site learns them now,
        and a robot that connects later at once. Without a command secret nothing is sent, since
        robots refuse what the server has not signed."""
        if self.bridge.staff is None:
            return
        if self.settings.command_secret is None:
            log.warning("LOBBY_COMMAND_SECRET is not set: the taught examples are not sent to the robots")
            return
        secret = self.settings.command_secret.get_secret_value().encode("utf-8")
        try:
            payload = site_examples(self.bridge.site, self.bridge.staff.examples(), datetime.now(UTC))
        except ValueError as exc:  # e.g. an intent id of the site file that is no identifier
            log.error("cannot send the taught examples to the robots: %s", " ".join(str(exc).split()))
            return
        self.client.publish(
            examples_topic(self.site), sign_payload(payload, secret).model_dump_json(), qos=1, retain=True
        )

    # -- status out -------------------------------------------------------------------------
    def publish_statuses(self, statuses: list[QueueStatus]) -> None:
        for status in statuses:
            self.client.publish(
                status_topic(self.site, status.queue), status.model_dump_json(), qos=1, retain=True
            )
