"""The sample production mosquitto config really works: TLS, passwords and ACLs, with the bridge."""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from lobby.schema import events_topic
from tests.support import MOSQUITTO, BridgeProcess, MqttProbe, event, free_port, wait_for_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
PASSWORDS = {"lobby-bridge": "bridge-secret", "ticket-system": "ticket-secret", "display": "display-secret"}


def make_certs(d: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1."""
    d.mkdir()

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=lobby-test-ca",
    )
    ssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )


@pytest.fixture
def production_broker(tmp_path: Path) -> Iterator[tuple[int, Path, str]]:
    etc = tmp_path / "etc"
    etc.mkdir()
    make_certs(etc / "certs")
    site_id = "prodtest"
    port = free_port()
    conf = (ROOT / "config/mosquitto/lobby.conf").read_text()
    conf = conf.replace("/etc/mosquitto/lobby", str(etc)).replace(
        "listener 8883", f"listener {port} 127.0.0.1"
    )
    conf = conf.replace("/var/lib/mosquitto/", f"{tmp_path}/").replace("log_dest syslog", "log_dest stderr")
    # mosquitto started as root drops to the `mosquitto` user, which cannot read pytest's tmp dirs.
    conf += f"\nuser {getpass.getuser()}\n"
    (etc / "lobby.conf").write_text(conf)
    (etc / "acl").write_text((ROOT / "config/mosquitto/acl").read_text().replace("cityhall", site_id))
    passwd = etc / "passwd"
    for i, (user, password) in enumerate(PASSWORDS.items()):
        flags = ["-c"] if i == 0 else []
        subprocess.run(["mosquitto_passwd", *flags, "-b", str(passwd), user, password], check=True)
    passwd.chmod(0o600)
    proc = subprocess.Popen(
        [MOSQUITTO, "-c", str(etc / "lobby.conf")], stderr=(tmp_path / "mosquitto.log").open("wb")
    )
    wait_for_port(port)
    yield port, etc / "certs/ca.crt", site_id
    proc.terminate()
    proc.wait(5)


def connect_refused(port: int, ca: Path, user: str | None, password: str | None) -> bool:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    if user:
        client.username_pw_set(user, password)
    client.tls_set(ca_certs=str(ca))
    answers: list[bool] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(reason.is_failure)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        wait_until(lambda: answers, what="CONNACK")
    finally:
        client.loop_stop()
    return answers == [True]


def test_bridge_works_through_tls_passwords_and_acls(
    production_broker: tuple[int, Path, str], tmp_path: Path
) -> None:
    port, ca, site_id = production_broker
    bridge = BridgeProcess(
        mqtt_port=port,
        workdir=tmp_path,
        site_id=site_id,
        extra_env={
            "LOBBY_MQTT_USERNAME": "lobby-bridge",
            "LOBBY_MQTT_PASSWORD": PASSWORDS["lobby-bridge"],
            "LOBBY_MQTT_TLS_CA": str(ca),
        },
    )
    try:
        bridge.start()
        ticket_system = MqttProbe(port, "ticket-system", PASSWORDS["ticket-system"], ca)
        display = MqttProbe(port, "display", PASSWORDS["display"], ca)
        display.subscribe(f"lobby/v1/{site_id}/queues/A/status")
        # A display may not publish events: the broker drops it, the bridge never sees it.
        display.publish(events_topic(site_id, "A"), event("A", "issued", "A666", event_id="forged"))
        ticket_system.publish(events_topic(site_id, "A"), event("A", "issued", "A001"))
        status = display.next_json(f"lobby/v1/{site_id}/queues/A/status", where=lambda s: s["waiting"] >= 1)
        assert status["waiting"] == 1
        wait_until(lambda: bridge.counters().get("accepted") == 1, what="only the ticket system's event")
        assert bridge.get("/api/v1/tickets/A666").status_code == 404
        ticket_system.close()
        display.close()

        # Without credentials, or with a wrong password, the broker refuses the connection.
        assert connect_refused(port, ca, None, None)
        assert connect_refused(port, ca, "display", "wrong")
    finally:
        bridge.stop()
