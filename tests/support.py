"""Test helpers: real processes (mosquitto, the bridge) and an MQTT probe, all waited on by condition."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


class Mosquitto:
    """A real mosquitto on a free loopback port. `restart()` keeps the port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"max_inflight_messages 1000\nmax_queued_messages 100000\nset_tcp_nodelay true\n"
            "log_dest stderr\nlog_type error\n"
        )

    def start(self) -> None:
        log = (self.workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def site_yaml(workdir: Path, site_id: str) -> Path:
    """The demo site under another id, so tests on a shared broker never see each other's topics."""
    data = yaml.safe_load(resources.files("queue_bridge").joinpath("sites/demo.yaml").read_text("utf-8"))
    data["site"] = site_id
    path = workdir / f"site-{site_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class BridgeProcess:
    """`lobby server` as a child process; `kill()` is SIGKILL, `start()` again resumes on the same log."""

    def __init__(
        self,
        mqtt_port: int,
        workdir: Path,
        site_id: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.site_id = site_id or f"t{uuid.uuid4().hex[:8]}"
        self.site_file = site_yaml(workdir, self.site_id)
        self.port = free_port()
        self.db = workdir / "events.sqlite3"
        self.env = {
            **os.environ,
            "LOBBY_SITE_FILE": str(self.site_file),
            "LOBBY_DB_PATH": str(self.db),
            "LOBBY_WEB_PORT": str(self.port),
            "LOBBY_MQTT_PORT": str(mqtt_port),
            "LOBBY_MQTT_CLIENT_ID": f"bridge-{self.site_id}",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        log = (self.workdir / "bridge.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lobby.cli", "server", "-v"], env=self.env, stdout=log, stderr=log
        )
        try:
            wait_until(self._ready, timeout, "bridge /healthz and MQTT connection")
        except BaseException:
            self.stop()  # never leave a half-started bridge behind
            raise

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"bridge exited with {self.proc.returncode}: {self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200 and self.health()["mqtt"]
        except httpx.HTTPError:
            return False

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/healthz", timeout=5).json())

    def counters(self) -> dict[str, int]:
        return dict(self.health()["counters"])

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10)

    def log_tail(self) -> str:
        path = self.workdir / "bridge.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class MqttProbe:
    """A plain paho client for tests: publish events, collect messages on subscribed topics."""

    def __init__(
        self, port: int, username: str | None = None, password: str | None = None, ca: Path | None = None
    ) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_message = lambda _c, _u, m: self.messages.put(m)
        if username:
            self.client.username_pw_set(username, password)
        if ca:
            self.client.tls_set(ca_certs=str(ca))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        result, _mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: bytes | str | dict[str, Any], qos: int = 1) -> None:
        data = json.dumps(payload) if isinstance(payload, dict) else payload
        self.client.publish(topic, data, qos=qos).wait_for_publish(10)

    def next_json(
        self, topic: str, timeout: float = 10.0, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg.topic == topic:
                data = json.loads(msg.payload)
                if where is None or where(data):
                    return dict(data)
        raise TimeoutError(f"no matching message on {topic} within {timeout}s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def event(
    site_queue: str,
    type_: str,
    ticket: str | None,
    ts: datetime | None = None,
    window: str | None = None,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A canonical event payload as a ticket system would publish it."""
    payload: dict[str, Any] = {
        "version": 1,
        "event_id": event_id or uuid.uuid4().hex,
        "type": type_,
        "queue": site_queue,
        "ts": (ts or datetime.now(UTC)).isoformat(),
        **extra,
    }
    if ticket is not None:
        payload["ticket"] = ticket
    if window is not None:
        payload["window"] = window
    return payload
