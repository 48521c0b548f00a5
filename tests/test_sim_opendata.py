"""The simulator produces a plausible day; open data aggregates it without personal data."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from lobby.schema import EventType, QueueEvent
from queue_bridge.board import Board
from queue_bridge.opendata import CSV_FIELDS, queue_status_document, waiting_time_rows, waiting_times_csv
from queue_bridge.sim import simulate_day
from queue_bridge.site import load_site

SITE = load_site()
DAY = date(2026, 4, 1)


def test_a_simulated_day_is_realistic() -> None:
    events = simulate_day(SITE, DAY, seed=3)
    assert events == sorted(events, key=lambda e: e.ts)
    issued = [e for e in events if e.type is EventType.ISSUED]
    assert 200 < len(issued) < 600
    hours = [e.ts.astimezone(SITE.tz).hour for e in issued]
    assert hours.count(9) + hours.count(10) > hours.count(12) * 2  # morning peak, lunch dip
    # Lunch: W2 closes at 12:00 and reopens at 13:00.
    w2 = [
        (e.type, e.ts.astimezone(SITE.tz).strftime("%H:%M"))
        for e in events
        if e.window == "W2" and e.ticket is None
    ]
    assert (EventType.WINDOW_CLOSE, "12:00") in w2 and (EventType.WINDOW_OPEN, "13:00") in w2
    assert any(e.type is EventType.NO_SHOW for e in events)
    assert any(e.type is EventType.RECALLED for e in events)
    # Service times differ by queue: moving-in (B) takes longer than certificates (A).
    board = Board(SITE)
    board.apply_all(events)
    mean = {
        q: sum(s.seconds for s in board.view(q).services) / len(board.view(q).services) for q in ("A", "B")
    }
    assert mean["B"] > 2 * mean["A"]
    assert simulate_day(SITE, DAY, seed=3) == events  # deterministic per seed


def test_waiting_times_csv_aggregates_per_15_minutes() -> None:
    events = simulate_day(SITE, DAY, seed=3)
    rows = waiting_time_rows(reversed(events), SITE)  # order of the log does not matter
    text = waiting_times_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(CSV_FIELDS)
    assert sum(int(r["issued"]) for r in parsed) == sum(e.type is EventType.ISSUED for e in events)
    assert {r["slot_start"][-2:] for r in parsed} <= {"00", "15", "30", "45"}
    nine = next(r for r in parsed if r["queue"] == "A" and r["slot_start"] == "09:30")
    assert int(nine["open_windows"]) == 3 and float(nine["max_wait_min"]) >= float(nine["mean_wait_min"])
    assert "A0" not in text  # ticket numbers never appear in open data


def test_queue_status_document_has_licence_and_definitions() -> None:
    board = Board(SITE)
    board.apply(
        QueueEvent(
            event_id="1",
            type=EventType.ISSUED,
            ticket="A001",
            queue="A",
            ts=datetime(2026, 4, 1, 9, tzinfo=SITE.tz),
        )
    )
    from queue_bridge.estimate import QueueLengthEstimator
    from queue_bridge.status import queue_status

    statuses = [
        queue_status(board, QueueLengthEstimator(), q.id, datetime(2026, 4, 1, 9, tzinfo=SITE.tz))
        for q in SITE.queues
    ]
    doc = queue_status_document(SITE, statuses, datetime(2026, 4, 1, 9, tzinfo=SITE.tz))
    assert "CC BY 4.0" in str(doc["license"])
    assert {"waiting", "estimate"} <= set(doc["fields"])  # type: ignore[arg-type]
    assert doc["queues"][0]["waiting"] == 1  # type: ignore[index]
