"""MQTT publish -> SSE client receive latency, with many SSE clients connected.

Real mosquitto, the real bridge server process, and the SSE clients in a separate process. The
publisher calls ticket L0000, L0001, ... at window W1 of queue A, one event every `--interval`
seconds, stamping `time.monotonic()` just before each publish; every client stamps the first status
frame that names the ticket. Latency = arrival - publish, over every (client, event) pair.

Reference in the same run: the same events with a single SSE client connected (the pipeline without
the fan-out), and the retained MQTT status the bridge publishes for the same events (publisher
subscribed). Ratio: p99 with N clients / p99 with one client.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.common import (
    Fleet,
    Publisher,
    bench_site,
    machine_note,
    marker_event,
    median,
    percentile,
    show,
    stack,
    standalone_main,
    wait_until,
    window_open_event,
    workdir,
)

TARGET_P99_MS = 250.0


def _phase(
    fleet: Fleet, pub: Publisher, site: str, first: int, events: int, interval: float
) -> tuple[list[float], list[float], int]:
    """Publish `events` markers; return (SSE latencies ms, MQTT status latencies ms, missing deliveries)."""
    published: dict[int, float] = {}
    next_at = time.monotonic()
    for n in range(first, first + events):
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        e = marker_event(n)
        published[n] = time.monotonic()
        pub.publish(site, e)
        next_at += interval
    sse: list[float] = []
    missing = 0
    for n, t_pub in published.items():
        answer = fleet.wait(n, timeout=5.0)
        times: list[float] = answer["times"]
        sse.extend((t - t_pub) * 1000 for t in times)
        missing += max(0, int(answer["live"]) - len(times))
    deadline = time.monotonic() + 5.0
    while not all(n in pub.status_seen for n in published) and time.monotonic() < deadline:
        time.sleep(0.02)
    mqtt_ms = [(pub.status_seen[n] - t) * 1000 for n, t in published.items() if n in pub.status_seen]
    return sse, mqtt_ms, missing


def run(clients: int = 1000, events: int = 100, interval: float = 0.1, keep: bool = False) -> dict[str, Any]:
    site = bench_site()
    with workdir(keep) as work, stack(work) as s:
        pub = Publisher(s.broker.port)
        fleet = Fleet(s.bridge.port, len(site.queues), work)
        try:
            pub.watch_status(s.bridge.site_id)
            pub.publish(s.bridge.site_id, window_open_event()).wait_for_publish(10)
            wait_until(lambda: s.bridge.accepted() >= 1, 10, "window_open accepted")

            one = fleet.open(1)
            assert one["failed"] == 0, one
            base_sse, base_mqtt, base_missing = _phase(fleet, pub, s.bridge.site_id, 0, events, interval)

            opened = fleet.open(clients - 1)
            health = s.bridge.health()
            sse, mqtt_ms, missing = _phase(fleet, pub, s.bridge.site_id, events, events, interval)
        finally:
            fleet.close()
            pub.close()
    p99 = percentile(sse, 99)
    result: dict[str, Any] = {
        "machine": machine_note(),
        "clients": clients,
        "clients_connected": int(health["sse_clients"]),
        "connect_failures": int(opened["failed"]),
        "connect_secs": float(opened["secs"]),
        "events": events,
        "interval_s": interval,
        "p50_ms": percentile(sse, 50),
        "p90_ms": percentile(sse, 90),
        "p99_ms": p99,
        "max_ms": max(sse, default=float("nan")),
        "deliveries": len(sse),
        "missing_deliveries": missing,
        "mqtt_status_p50_ms": median(mqtt_ms),
        "mqtt_status_p99_ms": percentile(mqtt_ms, 99),
        "one_client_p50_ms": percentile(base_sse, 50),
        "one_client_p99_ms": percentile(base_sse, 99),
        "one_client_missing": base_missing,
        "one_client_mqtt_p99_ms": percentile(base_mqtt, 99),
        "ratio_p99_vs_one_client": p99 / percentile(base_sse, 99),
        "target_p99_ms": TARGET_P99_MS,
        "target_met": p99 <= TARGET_P99_MS and missing == 0,
    }
    show(f"latency: MQTT publish -> SSE receive, {clients} clients", result)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-clients", type=int, default=1000, help="SSE clients connected (default 1000)"
    )
    parser.add_argument("--latency-events", type=int, default=100, help="events per phase (default 100)")
    parser.add_argument(
        "--latency-interval", type=float, default=0.1, help="seconds between events (default 0.1)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main(
        __doc__,
        add_arguments,
        lambda a: run(a.latency_clients, a.latency_events, a.latency_interval, a.keep),
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
