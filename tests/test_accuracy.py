"""Published accuracy: the estimate each ticket was shown at issue, against the wait it really had."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from lobby.schema import EventType, WaitEstimate
from queue_bridge.accuracy import Prediction, accuracy_by_queue
from queue_bridge.board import Board
from queue_bridge.bridge import Bridge
from queue_bridge.sim import simulate_day
from queue_bridge.site import load_site
from queue_bridge.store import EventStore
from tests.test_board import T0, ev

SITE = load_site()


def test_accuracy_counts_only_called_tickets_of_today() -> None:
    board = Board(SITE)
    board.apply_all(
        [
            ev(1, "issued", "A001", 0),
            ev(2, "issued", "A002", 1),
            ev(3, "called", "A001", 10, window="W1"),  # waited 600 s
            ev(4, "issued", "B001", 1, queue="B"),
            ev(5, "called", "B001", 3, queue="B", window="W4"),  # waited 120 s
        ]
    )
    assert board.day is not None
    day = board.day
    preds = [
        Prediction.of(day, "A001", "A", T0, WaitEstimate(point_s=500, lower_s=300, upper_s=900, method="t")),
        Prediction.of(
            day,
            "A002",
            "A",
            T0 + timedelta(minutes=1),
            WaitEstimate(point_s=50, lower_s=0, upper_s=99, method="t"),
        ),
        Prediction.of(
            day,
            "B001",
            "B",
            T0 + timedelta(minutes=1),
            WaitEstimate(point_s=300, lower_s=200, upper_s=400, method="t"),
        ),
        Prediction.of(
            day - timedelta(days=1),
            "A001",
            "A",
            T0,
            WaitEstimate(point_s=0, lower_s=0, upper_s=0, method="t"),
        ),
    ]
    acc = accuracy_by_queue(preds, board)
    assert acc["A"].samples == 1 and acc["A"].mae_s == 100 and acc["A"].within_range == 1.0
    assert acc["B"].samples == 1 and acc["B"].mae_s == 180 and acc["B"].within_range == 0.0


def test_the_bridge_publishes_accuracy_and_keeps_it_across_restarts(tmp_path: Path) -> None:
    events = simulate_day(SITE, date(2026, 4, 1), seed=4)
    noon = next(i for i, e in enumerate(events) if e.ts.astimezone(SITE.tz).hour >= 12)
    bridge = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))
    for i in range(0, noon, 20):
        bridge.ingest(events[i : min(i + 20, noon)])
    statuses = {s.queue: s for s in bridge.statuses()}
    acc = statuses["A"].accuracy_today
    assert acc is not None and acc.samples > 20
    called = {e.ticket for e in events[:noon] if e.type is EventType.CALLED and e.queue == "A"}
    assert acc.samples <= len(called)
    assert 0 < acc.mae_s < 3600 and 0 <= acc.within_range <= 1

    restarted = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))
    restarted.recover()
    assert {s.queue: s.accuracy_today for s in restarted.statuses()} == {
        q: s.accuracy_today for q, s in statuses.items()
    }


def test_accuracy_is_on_the_page_and_in_the_open_data(tmp_path: Path) -> None:
    from datetime import datetime

    from queue_bridge.opendata import queue_status_document
    from queue_bridge.page import render_page

    events = simulate_day(SITE, date(2026, 4, 1), seed=4)
    bridge = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))
    for i in range(0, 400, 10):
        bridge.ingest(events[i : i + 10])
    statuses = bridge.statuses()
    acc = statuses[0].accuracy_today
    assert acc is not None
    html = render_page(SITE, statuses, "ja")
    assert f"（{acc.samples}人）" in html and "今日の実績" in html
    assert "Today the estimate was off by" in render_page(SITE, statuses, "en")
    doc = queue_status_document(SITE, statuses, datetime(2026, 4, 1, 12, tzinfo=SITE.tz))
    assert doc["queues"][0]["accuracy_today"]["samples"] == acc.samples  # type: ignore[index]
    assert "accuracy_today" in doc["fields"]  # type: ignore[operator]


def test_the_running_tracker_agrees_with_a_full_recount(tmp_path: Path) -> None:
    from queue_bridge.accuracy import AccuracyTracker

    events = simulate_day(SITE, date(2026, 4, 1), seed=5)
    bridge = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))
    for i in range(0, len(events), 7):
        bridge.ingest(events[i : i + 7])
    assert bridge.board.day is not None
    predictions = bridge.store.predictions(bridge.board.day)
    recount = accuracy_by_queue(predictions, bridge.board)
    tracker = AccuracyTracker()
    tracker.start_day(bridge.board.day)
    tracker.add(predictions)
    tracker.rescore(bridge.board, bridge.board.tickets)
    live = {s.queue: s.accuracy_today for s in bridge.statuses()}
    assert recount and all(live[q] == tracker.get(q) == recount[q] for q in recount)
