"""Bad input, broker restarts and a SIGKILLed bridge: counted, logged, nothing lost, nothing doubled."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lobby.schema import events_topic, status_topic
from tests.support import BridgeProcess, Mosquitto, MqttProbe, event, wait_until

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def _rejected(counters: dict[str, int]) -> int:
    return sum(v for k, v in counters.items() if k.startswith("rejected_"))


# Payloads that must all be rejected: not JSON, not objects, wrong types, unknown names, too big.
BAD_PAYLOADS: list[bytes] = [
    b"",
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"42",
    json.dumps(
        {"version": 2, "event_id": "x", "type": "issued", "ticket": "A1", "queue": "A", "ts": T0.isoformat()}
    ).encode(),
    json.dumps(
        {"version": 1, "event_id": "x", "type": "issued", "ticket": 5, "queue": "A", "ts": T0.isoformat()}
    ).encode(),
    json.dumps(
        {
            "version": 1,
            "event_id": "x",
            "type": "teleported",
            "ticket": "A1",
            "queue": "A",
            "ts": T0.isoformat(),
        }
    ).encode(),
    json.dumps(
        {
            "version": 1,
            "event_id": "x",
            "type": "issued",
            "ticket": "A1",
            "queue": "A",
            "ts": "2026-04-01T09:00:00",
        }
    ).encode(),
    json.dumps(
        {"version": 1, "event_id": "x", "type": "called", "ticket": "A1", "queue": "A", "ts": T0.isoformat()}
    ).encode(),
    json.dumps(
        {"version": 1, "event_id": "x", "type": "issued", "ticket": "A1", "queue": "ZZ", "ts": T0.isoformat()}
    ).encode(),
    json.dumps(
        {
            "version": 1,
            "event_id": "x",
            "type": "issued",
            "ticket": "A1",
            "queue": "A",
            "ts": T0.isoformat(),
            "name": "山田",
        }
    ).encode(),
    json.dumps(
        {
            "version": 1,
            "event_id": "x",
            "type": "issued",
            "ticket": "A1" * 400,
            "queue": "A",
            "ts": T0.isoformat(),
        }
    ).encode(),
    b"{" + b'"pad": "' + b"x" * 300_000 + b'"}',
]


def test_malformed_payloads_are_counted_and_change_nothing(
    bridge_process: BridgeProcess, probe: MqttProbe
) -> None:
    site = bridge_process.site_id
    probe.publish(events_topic(site, "A"), event("A", "window_open", None, T0, window="W1"))
    probe.publish(events_topic(site, "A"), event("A", "issued", "A001", T0))
    wait_until(lambda: bridge_process.counters().get("accepted") == 2, what="2 accepted")
    before = bridge_process.get("/api/v1/queues").json()

    for payload in BAD_PAYLOADS:
        probe.publish(events_topic(site, "A"), payload)
    # An event for queue B published on queue A's topic is rejected too.
    probe.publish(events_topic(site, "A"), event("B", "issued", "B001", T0))

    expected = len(BAD_PAYLOADS) + 1
    wait_until(lambda: _rejected(bridge_process.counters()) == expected, what=f"{expected} rejections")
    assert bridge_process.get("/api/v1/queues").json() == before
    assert bridge_process.counters()["accepted"] == 2
    assert bridge_process.proc is not None and bridge_process.proc.poll() is None
    assert "rejected message" in bridge_process.log_tail()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=12,
)
near_events = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from([1, 1, 1, 2, "1", None]),
        "event_id": st.text(max_size=70) | st.integers(),
        "type": st.sampled_from(["issued", "called", "served", "window_open", "bogus", 3]),
        "ticket": st.text(max_size=20) | st.integers() | st.none(),
        "queue": st.sampled_from(["A", "B", "Q", "", "A/B"]),
        "window": st.sampled_from(["W1", "W9", None, 1]),
        "ts": st.sampled_from(["2026-04-01T09:00:00+09:00", "2026-04-01T09:00:00", "yesterday", 0]),
        "extra": json_values,
    },
)


def test_fuzzed_payloads_never_crash_and_are_all_accounted(
    bridge_process: BridgeProcess, probe: MqttProbe
) -> None:
    """Hypothesis-generated payloads: each is either accepted or rejected, and the bridge lives."""
    site = bridge_process.site_id
    sent: list[bytes] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(payload=near_events | json_values)
    def publish(payload: object) -> None:
        data = json.dumps(payload).encode()
        sent.append(data)
        probe.publish(events_topic(site, "A"), data)

    publish()
    wait_until(
        lambda: (
            _rejected(c := bridge_process.counters()) + c.get("accepted", 0) + c.get("duplicates", 0)
            == len(sent)
        ),
        timeout=20,
        what="every fuzzed payload accounted for",
    )
    assert bridge_process.get("/healthz").json()["ok"] is True
    # Whatever was accepted is consistent: the API still answers with valid statuses.
    for q in bridge_process.get("/api/v1/queues").json()["queues"]:
        assert q["status"]["waiting"] >= 0


def test_broker_restart_bridge_reconnects_and_resumes(private_mosquitto: Mosquitto, tmp_path: Path) -> None:
    bridge = BridgeProcess(mqtt_port=private_mosquitto.port, workdir=tmp_path)
    bridge.start()
    try:
        probe = MqttProbe(private_mosquitto.port)
        probe.publish(events_topic(bridge.site_id, "A"), event("A", "issued", "A001", T0))
        wait_until(lambda: bridge.counters().get("accepted") == 1, what="first event")
        probe.close()

        private_mosquitto.restart()  # no persistence: the broker forgets everything
        wait_until(lambda: bridge.counters().get("mqtt_disconnects", 0) >= 1, what="disconnect noticed")
        wait_until(lambda: bridge.health().get("mqtt") is True, timeout=20, what="bridge reconnected")

        probe = MqttProbe(private_mosquitto.port)
        probe.subscribe(status_topic(bridge.site_id, "A"))
        # The bridge re-published its retained status on reconnect, so a new display sees it at once.
        assert probe.next_json(status_topic(bridge.site_id, "A"))["waiting"] == 1
        probe.publish(
            events_topic(bridge.site_id, "A"), event("A", "issued", "A002", T0 + timedelta(minutes=1))
        )
        wait_until(
            lambda: bridge.get("/api/v1/queues/A").json()["status"]["waiting"] == 2, what="resumed ingest"
        )
        probe.close()
    finally:
        bridge.stop()


def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    bridge = BridgeProcess(mqtt_port=mosquitto.port, workdir=tmp_path)
    bridge.start()
    probe = MqttProbe(mosquitto.port)
    total = 3000
    topic = events_topic(bridge.site_id, "A")
    try:
        infos = []
        for n in range(total):
            payload = event("A", "issued", f"A{n:04d}", T0 + timedelta(seconds=n), event_id=f"ev-{n}")
            infos.append(probe.client.publish(topic, json.dumps(payload), qos=1))
            if n == total // 3:
                # Kill while the stream is flowing: some events are stored, some in flight, some not sent.
                wait_until(lambda: bridge.counters().get("accepted", 0) > 0, what="ingest started")
                bridge.kill()
        for info in infos:
            info.wait_for_publish(30)
        stored_at_kill = sqlite3.connect(bridge.db).execute("SELECT COUNT(*) FROM events").fetchone()[0]
        assert 0 < stored_at_kill < total

        bridge.start()  # same client id: the broker redelivers what was never acknowledged
        wait_until(
            lambda: bridge.get("/api/v1/queues/A").json()["status"]["waiting"] == total,
            timeout=60,
            what="all events",
        )
        db = sqlite3.connect(bridge.db)
        count, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT event_id) FROM events").fetchone()
        assert count == distinct == total
    finally:
        probe.close()
        bridge.stop()
