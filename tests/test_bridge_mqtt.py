"""The bridge end to end over a real mosquitto: events in, retained status out, API and SSE agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from lobby.schema import events_topic, status_topic
from tests.support import BridgeProcess, MqttProbe, event, wait_until

T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo: the office is open


def _publish_day_start(probe: MqttProbe, site: str) -> None:
    for window in ("W1", "W2"):
        probe.publish(events_topic(site, "A"), event("A", "window_open", None, T0, window=window))


def test_events_in_retained_status_out_and_api_agrees(
    bridge_process: BridgeProcess, probe: MqttProbe
) -> None:
    site = bridge_process.site_id
    _publish_day_start(probe, site)
    for n in range(1, 6):
        probe.publish(events_topic(site, "A"), event("A", "issued", f"A{n:03d}", T0 + timedelta(minutes=n)))
    probe.publish(
        events_topic(site, "A"), event("A", "called", "A001", T0 + timedelta(minutes=7), window="W1")
    )

    wait_until(
        lambda: bridge_process.get("/api/v1/queues/A").json()["status"]["waiting"] == 4, what="4 waiting"
    )
    api = bridge_process.get("/api/v1/queues/A").json()["status"]
    assert api["now_calling"] == [
        {"window": "W1", "ticket": "A001", "called_at": api["now_calling"][0]["called_at"]}
    ]
    assert api["open_windows"] == ["W1", "W2"]
    assert api["estimate"]["lower_s"] <= api["estimate"]["point_s"] <= api["estimate"]["upper_s"]

    # A client that connects later still gets the current status: it is retained.
    late = MqttProbe(probe.client._port)
    try:
        late.subscribe(status_topic(site, "A"))
        retained = late.next_json(status_topic(site, "A"), where=lambda s: s["waiting"] == 4)
    finally:
        late.close()
    assert retained["now_calling"][0]["ticket"] == "A001"
    assert retained["estimate"] == api["estimate"]

    # The SSE stream's first frames are the same picture.
    with httpx.stream("GET", f"{bridge_process.url}/api/v1/stream", timeout=10) as response:
        statuses = {}
        for line in response.iter_lines():
            if line.startswith("data: "):
                s = json.loads(line[6:])
                statuses[s["queue"]] = s
                if len(statuses) == 3:
                    break
    assert statuses["A"]["waiting"] == 4
    assert statuses["A"]["estimate"] == api["estimate"]

    ticket = bridge_process.get("/api/v1/tickets/A004").json()
    assert ticket["state"] == "waiting" and ticket["ahead"] == 2
    assert bridge_process.get("/api/v1/tickets/Z999").status_code == 404
    assert bridge_process.get("/api/v1/queues/NOPE").status_code == 404


def test_duplicates_and_out_of_order_do_not_change_the_result(
    bridge_process: BridgeProcess, probe: MqttProbe
) -> None:
    site = bridge_process.site_id
    _publish_day_start(probe, site)
    issued = [event("A", "issued", f"A{n:03d}", T0 + timedelta(minutes=n)) for n in range(1, 4)]
    called = event("A", "called", "A001", T0 + timedelta(minutes=5), window="W1")
    served = event("A", "served", "A001", T0 + timedelta(minutes=9), window="W1")
    # Served arrives before called, and everything arrives twice.
    for payload in [served, *issued, called, served, *issued, called]:
        probe.publish(events_topic(site, "A"), payload)
    wait_until(lambda: bridge_process.counters().get("duplicates", 0) >= 4, what="duplicates counted")
    status = bridge_process.get("/api/v1/queues/A").json()["status"]
    assert status["waiting"] == 2
    assert status["served_today"] == 1
    assert bridge_process.counters()["accepted"] == 2 + 3 + 2


def test_the_embedded_broker_carries_the_same_contract(embedded_broker: int, tmp_path: Path) -> None:
    """The demo's in-process amqtt broker: events in, retained status out, as with mosquitto."""
    bridge = BridgeProcess(mqtt_port=embedded_broker, workdir=tmp_path)
    bridge.start()
    probe = MqttProbe(embedded_broker)
    try:
        probe.publish(events_topic(bridge.site_id, "B"), event("B", "issued", "B001", T0))
        wait_until(lambda: bridge.counters().get("accepted") == 1, what="event accepted")
        probe.subscribe(status_topic(bridge.site_id, "B"))
        assert probe.next_json(status_topic(bridge.site_id, "B"))["waiting"] == 1
    finally:
        probe.close()
        bridge.stop()
