"""Sustained ingest rate with durable logging: MQTT (QoS 1) -> bridge -> SQLite (WAL, synchronous=FULL).

Workload: one simulated city-hall day scaled to about `--ingest-events` events (realistic mix of
issued / called / served / recalled / no-show / window events; the board grows to ~N/1.8 tickets).
A publisher in this process publishes all of them as fast as paho allows to a real mosquitto; the
real bridge server process ingests them. The rate is measured from the bridge's own `accepted`
counter (polled on /healthz): overall (first publish -> last accepted) and steady (10% -> 90%).
Afterwards the log is checked to hold every event.

Reference in the same run: raw SQLite inserts of the same rows, same pragmas and schema, in
batches of the bridge's BATCH_MAX, on the same disk (before and after; mean). Diagnostic: the
bridge core in-process (`Bridge.ingest`, same batches, no MQTT, no web server).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from bench.common import (
    Publisher,
    bench_site,
    machine_note,
    payload,
    proc_cpu_s,
    scaled_day,
    show,
    stack,
    standalone_main,
    workdir,
)
from lobby.schema import QueueEvent
from queue_bridge.bridge import Bridge
from queue_bridge.mqtt_io import BATCH_MAX
from queue_bridge.store import EventStore

TARGET_EVENTS_PER_S = 2000.0

_SCHEMA = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, ts TEXT NOT NULL,
    queue TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE INDEX events_ts ON events(ts);
"""


def raw_sqlite_rate(events: Sequence[QueueEvent], path: Path, batch: int) -> float:
    """Events/s for plain INSERTs of the same rows, one transaction per batch, durable like the store."""
    rows = [(e.event_id, e.ts.astimezone(UTC).isoformat(), e.queue, e.model_dump_json()) for e in events]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT OR IGNORE INTO events(event_id, ts, queue, payload) VALUES (?, ?, ?, ?)",
            rows[i : i + batch],
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return len(rows) / elapsed


def core_rate(raw: Sequence[bytes], path: Path, batch: int) -> float:
    """Events/s of the bridge core in-process: validate + durable append + board + statuses."""
    bridge = Bridge(bench_site(), EventStore(path))
    t0 = time.perf_counter()
    for i in range(0, len(raw), batch):
        events = [
            e for e in (bridge.validate(None, r) for r in raw[i : i + batch]) if isinstance(e, QueueEvent)
        ]
        bridge.ingest(events)
    elapsed = time.perf_counter() - t0
    bridge.store.close()
    return len(raw) / elapsed


def _rate_between(samples: list[tuple[float, int]], lo: int, hi: int) -> float:
    """Events/s between the first samples at or above `lo` and `hi` accepted events."""
    a = next((s for s in samples if s[1] >= lo), None)
    b = next((s for s in samples if s[1] >= hi), None)
    if a is None or b is None or b[0] <= a[0]:
        return float("nan")
    return (b[1] - a[1]) / (b[0] - a[0])


def run(n_events: int = 20000, keep: bool = False) -> dict[str, Any]:
    site = bench_site()
    events = scaled_day(site, n_events)
    n = len(events)
    tickets = len({e.ticket for e in events if e.ticket})
    raw = [payload(e) for e in events]
    with workdir(keep) as work:
        ref_before = raw_sqlite_rate(events, work / "ref-before.sqlite3", BATCH_MAX)
        core = core_rate(raw, work / "core.sqlite3", BATCH_MAX)
        with stack(work) as s:
            pub = Publisher(s.broker.port)
            try:
                cpu0 = proc_cpu_s(s.bridge.pid)
                topic_site = s.bridge.site_id
                t0 = time.monotonic()
                infos = [pub.publish(topic_site, e) for e in events]
                samples: list[tuple[float, int]] = [(t0, 0)]
                deadline = t0 + max(60.0, n / 200)
                published_at: float | None = None
                while samples[-1][1] < n and time.monotonic() < deadline:
                    time.sleep(0.05)
                    samples.append((time.monotonic(), s.bridge.accepted()))
                    if published_at is None and all(i.is_published() for i in infos):
                        published_at = time.monotonic()
                t_done = samples[-1][0]
                accepted = samples[-1][1]
                cpu = proc_cpu_s(s.bridge.pid) - cpu0
                if published_at is None and all(i.is_published() for i in infos):
                    published_at = time.monotonic()
            finally:
                pub.close()
            health = s.bridge.health()
        with sqlite3.connect(s.bridge.db) as db:
            (logged,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
        ref_after = raw_sqlite_rate(events, work / "ref-after.sqlite3", BATCH_MAX)
    elapsed = t_done - t0
    overall = accepted / elapsed
    steady = _rate_between(samples, n // 10, n * 9 // 10)
    ref = (ref_before + ref_after) / 2
    result: dict[str, Any] = {
        "machine": machine_note(),
        "events": n,
        "tickets": tickets,
        "accepted": accepted,
        "logged_in_sqlite": int(logged),
        "rejected": sum(v for k, v in health["counters"].items() if k.startswith("rejected")),
        "secs": elapsed,
        "events_per_s": overall,
        "steady_events_per_s_10_90": steady,
        "publisher_acked_per_s": n / (published_at - t0) if published_at else float("nan"),
        "bridge_cpu_s": cpu,
        "bridge_cpu_per_event_us": cpu / max(1, accepted) * 1e6,
        "ref_raw_sqlite_events_per_s": ref,
        "ratio_vs_raw_sqlite": overall / ref,
        "diag_core_in_process_events_per_s": core,
        "ratio_vs_core_in_process": overall / core,
        "target_events_per_s": TARGET_EVENTS_PER_S,
        "target_met": overall >= TARGET_EVENTS_PER_S and accepted == n and logged == n,
    }
    show(f"ingest: MQTT -> durable log -> board, {n} events", result)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ingest-events", type=int, default=20000, help="events in the workload (default 20000)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main(__doc__, add_arguments, lambda a: run(a.ingest_events, a.keep), argv)


if __name__ == "__main__":
    sys.exit(main())
