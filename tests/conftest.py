"""Shared fixtures: real mosquitto, embedded amqtt, the bridge server as a real process, Chromium.

Later issues reuse these. Everything binds to 127.0.0.1 on free ports and is stopped by PID.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from queue_bridge.broker import EmbeddedBroker
from queue_bridge.site import SiteConfig, load_site
from tests.support import BridgeProcess, Mosquitto, MqttProbe, free_port, wait_for_port

ARTIFACTS = Path(os.environ.get("LOBBY_TEST_ARTIFACTS", "test-artifacts"))


@pytest.fixture(scope="session")
def site() -> SiteConfig:
    return load_site()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One real mosquitto per test session, on a free loopback port."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A mosquitto of this test's own, for tests that stop or restart the broker."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def embedded_broker() -> Iterator[int]:
    """The demo's in-process amqtt broker, run on a loop in a thread; yields its port."""
    port = free_port()
    loop = asyncio.new_event_loop()
    broker = EmbeddedBroker("127.0.0.1", port)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(broker.start(), loop).result(10)
    wait_for_port(port)
    yield port
    asyncio.run_coroutine_threadsafe(broker.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def bridge_process(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[BridgeProcess]:
    """`lobby server` as a real process against the session mosquitto, with its own event log."""
    proc = BridgeProcess(mqtt_port=mosquitto.port, workdir=tmp_path)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def probe(mosquitto: Mosquitto) -> Iterator[MqttProbe]:
    p = MqttProbe(mosquitto.port)
    yield p
    p.close()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Debian chromium is not installed: run scripts/bootstrap.sh dev")
    return path


@pytest.fixture(scope="module")
def ros_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A ROS domain of the test module's own, discovery on loopback only, logs in a temporary directory."""
    rclpy = pytest.importorskip("rclpy")  # installed by requirements.txt; skipped only where ROS is absent
    from domain_coordinator import domain_id

    with domain_id() as domain:
        env = {
            **os.environ,
            "ROS_DOMAIN_ID": str(domain),
            "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
            "ROS_LOG_DIR": str(tmp_path_factory.mktemp("roslog")),
        }
        saved = {
            k: os.environ.get(k) for k in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOG_DIR")
        }
        os.environ.update({k: env[k] for k in saved})
        rclpy.init()
        yield env
        rclpy.try_shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
