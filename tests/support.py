"""Test helpers: real processes (mosquitto, the bridge) and an MQTT probe, all waited on by condition."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
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
            "LOBBY_STAFF_DB_PATH": str(workdir / "staff.sqlite3"),
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


# -- fleet (issue 7): staff accounts, a staff HTTP session, a robot on MQTT ----------------------------


def add_staff_user(env: dict[str, str], name: str, role: str, password: str) -> None:
    """`lobby users add NAME --role ROLE --password-stdin`, as an operator would run it."""
    result = subprocess.run(
        [sys.executable, "-m", "lobby.cli", "users", "add", name, "--role", role, "--password-stdin"],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def add_staff_user_fast(db: Path, name: str, role: str, password: str) -> None:
    """The same account straight into the staff database, hashed at a low scrypt cost (the cost is
    stored with each hash) so that test logins are quick; `add_staff_user` is the real command."""
    from queue_bridge.auth import Role, hash_password
    from queue_bridge.staff_store import StaffStore

    store = StaffStore(db)
    try:
        assert store.add_user(name, Role.parse(role), hash_password(password, n=2**12), datetime.now(UTC))
    finally:
        store.close()


class StaffClient:
    """An HTTP client that signs in through the real login form, like a browser."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10, follow_redirects=False)
        self.csrf: str | None = None

    def login(self, name: str, password: str) -> httpx.Response:
        form = self.http.get("/staff/login")
        token = _hidden(form.text, "csrf")
        resp = self.http.post("/staff/login", data={"username": name, "password": password, "csrf": token})
        if resp.status_code == 303:
            self.csrf = _hidden(self.http.get("/staff").text, "csrf")
        return resp

    def command(self, robot: str, body: dict[str, Any], csrf: str | None = "session") -> httpx.Response:
        token = self.csrf if csrf == "session" else csrf
        headers = {"X-CSRF-Token": token} if token else {}
        return self.http.post(f"/api/v1/robots/{robot}/commands", json=body, headers=headers)

    def robots(self) -> dict[str, dict[str, Any]]:
        resp = self.http.get("/api/v1/robots")
        assert resp.status_code == 200, resp.text
        return {r["robot"]: r for r in resp.json()["robots"]}

    def close(self) -> None:
        self.http.close()


def _hidden(html: str, name: str) -> str:
    import re

    m = re.search(rf"name='{name}' value='([^']*)'", html)
    assert m, f"no hidden {name} field in the page"
    return m.group(1)


class FakeRobot:
    """A robot on MQTT as the contract says: retained state with an offline last will, telemetry,
    events; it records the commands it receives and can acknowledge them."""

    def __init__(self, port: int, site: str, robot: str = "robot1") -> None:
        from lobby.schema import robot_topic

        self.site, self.robot = site, robot
        self.topic = {k: robot_topic(site, robot, k) for k in ("state", "telemetry", "events", "commands")}
        self.commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._last: tuple[float, float, float] | None = None
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"{robot}-{site}"
        )
        self.client.will_set(
            self.topic["state"], json.dumps(self.state_payload("offline")), qos=1, retain=True
        )
        self.client.on_message = lambda _c, _u, m: self.commands.put(json.loads(m.payload))
        self.client.connect("127.0.0.1", port, keepalive=5)
        self.client.loop_start()
        self.client.subscribe(self.topic["commands"], qos=1)

    def state_payload(self, mode: str, x: float = 26.0, y: float = 10.0, **extra: Any) -> dict[str, Any]:
        return {
            "version": 1,
            "robot": self.robot,
            "mode": mode,
            "floor": 1,
            "pose": {"x": x, "y": y, "yaw": 0.0},
            "battery": 0.8,
            "faults": [],
            "updated_at": datetime.now(UTC).isoformat(),
            **extra,
        }

    def state(self, mode: str, x: float = 26.0, y: float = 10.0, **extra: Any) -> None:
        payload = json.dumps(self.state_payload(mode, x, y, **extra))
        self.client.publish(self.topic["state"], payload, qos=1, retain=True).wait_for_publish(10)

    def keep_alive(self, period_s: float = 0.3) -> None:
        """Repeat the latest telemetry every `period_s` until `close()`, like a robot's ~1 Hz stream."""

        def run() -> None:
            while not self._stop.wait(period_s):
                if self._last is not None:
                    self.telemetry(*self._last)

        threading.Thread(target=run, daemon=True).start()

    def telemetry(self, x: float, y: float, battery: float = 0.8) -> None:
        self._last = (x, y, battery)
        payload = {
            "version": 1,
            "robot": self.robot,
            "floor": 1,
            "pose": {"x": x, "y": y, "yaw": 0.0},
            "battery": battery,
            "at": datetime.now(UTC).isoformat(),
        }
        self.client.publish(self.topic["telemetry"], json.dumps(payload), qos=0).wait_for_publish(10)

    def event(self, kind: str, **fields: Any) -> None:
        payload = {
            "version": 1,
            "robot": self.robot,
            "kind": kind,
            "at": datetime.now(UTC).isoformat(),
            **fields,
        }
        self.client.publish(self.topic["events"], json.dumps(payload), qos=1).wait_for_publish(10)

    def next_command(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.commands.get(timeout=timeout)

    def close(self) -> None:
        """A clean goodbye: clear the retained state, then disconnect (no last will)."""
        self._stop.set()
        self.client.publish(self.topic["state"], b"", qos=1, retain=True).wait_for_publish(10)
        self.client.disconnect()
        self.client.loop_stop()


#: A robot process that publishes retained state and 5 Hz telemetry until it is killed; its last
#: will (retained state "offline") is what the broker publishes when it dies.
ROBOT_PROCESS = """
import json, sys, time
from datetime import UTC, datetime
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, site, robot = int(sys.argv[1]), sys.argv[2], sys.argv[3]
root = f"lobby/v1/{site}/robots/{robot}/"
def state(mode):
    return json.dumps({"version": 1, "robot": robot, "mode": mode, "floor": 1, "pose": {"x": 20.0, "y": 5.0},
                       "battery": 0.5, "updated_at": datetime.now(UTC).isoformat()})
c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"proc-{robot}-{site}")
c.will_set(root + "state", state("offline"), qos=1, retain=True)
c.connect("127.0.0.1", port, keepalive=5)
c.loop_start()
c.publish(root + "state", state("idle"), qos=1, retain=True).wait_for_publish(10)
print("up", flush=True)
while True:
    tel = {"version": 1, "robot": robot, "floor": 1, "pose": {"x": 20.0, "y": 5.0}, "battery": 0.5,
           "at": datetime.now(UTC).isoformat()}
    c.publish(root + "telemetry", json.dumps(tel), qos=0)
    time.sleep(0.2)
"""


def start_robot_process(port: int, site: str, robot: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", ROBOT_PROCESS, str(port), site, robot], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "up"
    return proc


#: This city calls its long-term care counter ひだまり窓口: nothing the robot ships with knows it.
#: What staff teach it in the tests of the site's own examples, and a question none of them is.
HIDAMARI = [
    "ひだまり窓口はどこですか",
    "ひだまり窓口に行きたいです",
    "ひだまり窓口で相談したい",
    "ひだまりの窓口を探しています",
    "ひだまり窓口ってどこにありますか",
]
HIDAMARI_QUESTION = "ひだまり窓口へはどう行けばいいですか"
