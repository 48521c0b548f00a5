"""The board's core promise: the same events in any order, with any duplicates, give the same board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lobby.schema import EventType, QueueEvent
from queue_bridge.board import Board, RejectReason, TicketState, check_against_site
from queue_bridge.bridge import Bridge
from queue_bridge.estimate import QueueLengthEstimator
from queue_bridge.site import SiteConfig, load_site
from queue_bridge.status import queue_status, ticket_info
from queue_bridge.store import EventStore

SITE = load_site()
T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo


def ev(
    n: int,
    type_: str,
    ticket: str | None,
    minute: float,
    queue: str = "A",
    window: str | None = None,
    **kw: str,
) -> QueueEvent:
    return QueueEvent(
        event_id=f"e{n}",
        type=EventType(type_),
        ticket=ticket,
        queue=queue,
        window=window,
        ts=T0 + timedelta(minutes=minute),
        **kw,
    )


def a_morning() -> list[QueueEvent]:
    return [
        ev(1, "window_open", None, 0, window="W1"),
        ev(2, "window_open", None, 0, window="W3"),
        ev(3, "window_open", None, 0, queue="B", window="W3"),
        ev(4, "issued", "A001", 1),
        ev(5, "issued", "A002", 2),
        ev(6, "issued", "B001", 2, queue="B"),
        ev(7, "called", "A001", 3, window="W1"),
        ev(8, "issued", "A003", 4),
        ev(9, "called", "A002", 5, window="W3"),
        ev(10, "served", "A001", 9, window="W1"),
        ev(11, "recalled", "A002", 6, window="W3"),
        ev(12, "no_show", "A002", 8, window="W3"),
        ev(13, "called", "B001", 8.5, queue="B", window="W3"),
        ev(14, "transferred", "A003", 10, to_queue="B"),
        ev(15, "window_close", None, 11, window="W1"),
    ]


def snapshot(board: Board) -> dict[str, object]:
    est = QueueLengthEstimator()
    now = T0 + timedelta(minutes=12)
    return {
        q.id: queue_status(board, est, q.id, now).model_dump(exclude={"updated_at"}) for q in SITE.queues
    } | {"tickets": {t: r.state for t, r in board.tickets.items()}}


def test_lifecycle_of_a_morning() -> None:
    board = Board(SITE)
    board.apply_all(a_morning())
    a, b = board.view("A"), board.view("B")
    assert a.waiting == []
    assert [n for _, n in b.waiting] == ["A003"]  # transferred into B
    assert a.served_today == 1 and a.no_show_today == 1
    assert board.tickets["A002"].state is TicketState.NO_SHOW
    assert a.open_windows == ["W3"]  # W1 closed
    # W3's display shows B001 now (called after A002), so it is under B, not A.
    assert [c.ticket for c in b.now_calling] == ["B001"]
    assert a.now_calling == []  # W1 called A001, then closed: its display is dark
    assert [s.seconds for s in a.services] == [360.0]


@settings(max_examples=200, deadline=None)
@given(order=st.permutations(list(range(15))), dups=st.lists(st.integers(0, 14), max_size=10))
def test_any_order_and_duplicates_give_the_same_board(order: list[int], dups: list[int]) -> None:
    events = a_morning()
    reference = Board(SITE)
    reference.apply_all(events)
    shuffled = Board(SITE)
    shuffled.apply_all([events[i] for i in order] + [events[i] for i in dups])
    assert snapshot(shuffled) == snapshot(reference)


def test_previous_day_events_do_not_touch_today_and_a_new_day_resets() -> None:
    board = Board(SITE)
    board.apply_all(a_morning())
    assert board.apply(ev(99, "issued", "A050", -60 * 24)) == set()
    assert "A050" not in board.tickets
    board.apply(ev(100, "issued", "A001", 60 * 24))
    assert list(board.tickets) == ["A001"] and board.tickets["A001"].state is TicketState.WAITING


def test_ticket_info_counts_people_ahead() -> None:
    board = Board(SITE)
    board.apply_all(e for e in a_morning() if e.event_id in {"e1", "e4", "e5", "e8"})
    info = ticket_info(board, QueueLengthEstimator(), "A003", T0 + timedelta(minutes=5))
    assert info is not None and info.ahead == 2 and info.estimate is not None
    assert info.estimate.lower_s <= info.estimate.point_s <= info.estimate.upper_s
    assert ticket_info(board, QueueLengthEstimator(), "A999", T0) is None


def test_site_checks_reject_what_cannot_belong_here() -> None:
    site: SiteConfig = SITE
    assert check_against_site(ev(1, "issued", "Z1", 0, queue="Z"), site) is RejectReason.UNKNOWN_QUEUE
    assert check_against_site(ev(1, "called", "A1", 0, window="W9"), site) is RejectReason.UNKNOWN_WINDOW
    assert (
        check_against_site(ev(1, "window_open", None, 0, window="W5"), site)
        is RejectReason.WINDOW_NOT_SERVING_QUEUE
    )
    assert check_against_site(ev(1, "issued", "A1", 0), site, topic_queue="B") is RejectReason.TOPIC_MISMATCH
    assert check_against_site(ev(1, "issued", "A1", 0), site, topic_queue="A") is None


def test_recovery_replays_only_the_latest_service_day(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events.sqlite3")
    yesterday = [ev(1000 + i, "issued", f"A{i:03d}", -60 * 24 + i) for i in range(5)]
    store.append(yesterday + a_morning())
    bridge = Bridge(SITE, store)
    assert bridge.recover() == len(a_morning())
    reference = Board(SITE)
    reference.apply_all(a_morning())
    assert snapshot(bridge.board) == snapshot(reference)
