"""The robot's MQTT link on a real mosquitto: the taught examples it keeps across a restart."""

from __future__ import annotations

import queue
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lobby.schema import SiteExamples, examples_topic, sign_payload
from lobby.settings import load_settings
from robot.telemetry import RobotLink
from tests.support import Mosquitto, MqttProbe, wait_until

SECRET = "link-secret"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _signed(at: datetime, site: str, **examples: list[str]) -> str:
    taught = SiteExamples(site=site, updated_at=at, examples=examples)
    return sign_payload(taught, SECRET.encode()).model_dump_json()


def test_a_restarted_robot_knows_its_taught_examples_and_refuses_older_ones_replayed(
    mosquitto: Mosquitto, probe: MqttProbe, tmp_path: Path
) -> None:
    site, kept = f"t{uuid.uuid4().hex[:8]}", tmp_path / "var" / "taught.json"
    settings = load_settings(None, mqtt_port=mosquitto.port, command_secret=SECRET)
    learnt: queue.Queue[SiteExamples] = queue.Queue()

    def link() -> RobotLink:
        return RobotLink(
            settings, site, "r1", on_command=lambda _c: None, on_examples=learnt.put,
            examples_cache=kept, clock=lambda: datetime.now(UTC),
        )  # fmt: skip

    def retain(payload: str) -> None:
        probe.client.publish(examples_topic(site), payload, qos=1, retain=True).wait_for_publish(10)

    older = _signed(T0, site, pension=["年金の相談"])
    newer = _signed(T0 + timedelta(hours=1), site, nursing_care=["ひだまり窓口"])
    retain(newer)
    first = link()
    first.start()
    try:
        assert learnt.get(timeout=15).examples == {"nursing_care": ["ひだまり窓口"]}
        wait_until(kept.exists, 10, "the examples kept")
    finally:
        first.stop()

    # Someone who may publish on the broker puts back what staff had taught before.
    retain(older)
    second = link()
    second.start()  # what it kept is learnt at once, before the broker is even reached
    try:
        assert learnt.get_nowait().updated_at == T0 + timedelta(hours=1)
        wait_until(lambda: second.rejected == 1, 15, "the older examples refused")
        assert learnt.empty() and "ひだまり窓口" in kept.read_text("utf-8")
        retain(newer)  # the server puts its own back: already learnt, so not learnt twice
        retain(_signed(T0 + timedelta(hours=2), site, nursing_care=["ひだまり", "すみれ窓口"]))
        assert learnt.get(timeout=15).examples == {"nursing_care": ["ひだまり", "すみれ窓口"]}
        assert learnt.empty() and second.rejected == 1
    finally:
        second.stop()
        retain("")  # an empty retained message deletes it
