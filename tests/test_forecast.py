"""The simulation estimator: shared windows, breaks, services in progress, no history, closing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from lobby.schema import EventType, QueueEvent, WaitEstimate
from queue_bridge.board import Board
from queue_bridge.forecast import SimulationEstimator, queue_groups
from queue_bridge.site import load_site

SITE = load_site()


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 4, 1, hh, mm, tzinfo=SITE.tz)


class Day:
    def __init__(self) -> None:
        self.board = Board(SITE)
        self.n = 0

    def add(
        self, type_: str, ts: datetime, queue: str, ticket: str | None = None, window: str | None = None
    ) -> None:
        self.n += 1
        self.board.apply(
            QueueEvent(
                event_id=f"e{self.n}", type=EventType(type_), ticket=ticket, queue=queue, window=window, ts=ts
            )
        )

    def open(self, ts: datetime, *pairs: tuple[str, str]) -> None:
        for queue, window in pairs:
            self.add("window_open", ts, queue, window=window)

    def history(self, queue: str, window: str, start: datetime, minutes: float, n: int = 6) -> None:
        """n past services of `minutes` each at `window`."""
        for i in range(n):
            t = start + timedelta(minutes=i * (minutes + 1))
            ticket = f"{queue}9{i:02d}"
            self.add("issued", t - timedelta(minutes=1), queue, ticket)
            self.add("called", t, queue, ticket, window)
            self.add("served", t + timedelta(minutes=minutes), queue, ticket, window)

    def estimate(self, queue: str, now: datetime, ahead: int | None = None) -> WaitEstimate | None:
        view = self.board.view(queue)
        return SimulationEstimator().for_position(
            self.board, view, len(view.waiting) if ahead is None else ahead, now
        )


def test_older_tickets_of_another_queue_at_a_shared_window_delay_this_one() -> None:
    def a_wait(with_b: bool) -> float:
        d = Day()
        d.open(at(8, 30), ("A", "W3"), ("B", "W3"))
        d.history("A", "W3", at(8, 35), 5)
        if with_b:
            for i in range(4):
                d.add("issued", at(9, 40) + timedelta(seconds=i), "B", f"B{i:03d}")
        d.add("issued", at(9, 45), "A", "A001")
        est = d.estimate("A", at(9, 45), ahead=0)
        assert est is not None
        return est.point_s

    assert a_wait(with_b=True) > a_wait(with_b=False) + 4 * 4 * 60


def test_a_window_closing_for_lunch_lengthens_the_wait() -> None:
    def b_wait(now: datetime) -> float:
        d = Day()
        d.open(at(8, 30), ("B", "W4"))
        d.history("B", "W4", at(8, 35), 8)
        for i in range(4):
            d.add("issued", now - timedelta(minutes=1, seconds=-i), "B", f"B{i:03d}")
        est = d.estimate("B", now)
        assert est is not None
        return est.point_s

    # W4 is the only window for B here and closes 12:00–13:00 (site breaks): the lunch hour adds on.
    assert b_wait(at(11, 50)) > b_wait(at(10, 0)) + 45 * 60


def test_a_service_in_progress_is_counted_by_its_remaining_time() -> None:
    def wait(called_minutes_ago: int) -> float:
        d = Day()
        d.open(at(8, 30), ("C", "W5"))
        d.history("C", "W5", at(8, 35), 10)
        now = at(10, 30)
        d.add("issued", now - timedelta(minutes=30), "C", "C100")
        d.add("called", now - timedelta(minutes=called_minutes_ago), "C", "C100", "W5")
        d.add("issued", now, "C", "C101")
        est = d.estimate("C", now, ahead=0)
        assert est is not None
        return est.point_s

    assert wait(called_minutes_ago=9) < wait(called_minutes_ago=1)


def test_no_history_gives_a_wide_but_sane_range_and_results_are_deterministic() -> None:
    d = Day()
    d.open(at(8, 30), ("C", "W5"))
    for i in range(5):
        d.add("issued", at(8, 40) + timedelta(minutes=i), "C", f"C{i:03d}")
    first, again = d.estimate("C", at(8, 45)), d.estimate("C", at(8, 45))
    assert first is not None and first == again
    assert first.lower_s < first.point_s < first.upper_s < 6 * 3600
    assert first.upper_s - first.lower_s > 0.5 * first.point_s


def test_tickets_still_waiting_at_closing_time_are_called_after_it() -> None:
    d = Day()
    d.open(at(8, 30), ("C", "W5"))
    d.history("C", "W5", at(8, 35), 10)
    for i in range(12):  # two hours of work for one window, issued just before the machine stops
        d.add("issued", at(16, 55) + timedelta(seconds=i), "C", f"C1{i:02d}")
    estimate = d.estimate("C", at(17, 0))
    assert estimate is not None
    assert 100 * 60 < estimate.point_s < 140 * 60  # past 17:15: the window goes on serving


def test_when_every_window_of_a_queue_has_closed_there_is_no_estimate() -> None:
    d = Day()
    d.open(at(8, 30), ("C", "W5"))
    d.add("issued", at(17, 0), "C", "C001")
    d.add("window_close", at(17, 1), "C", window="W5")
    assert d.estimate("C", at(17, 1)) is None


def test_an_event_at_the_same_time_as_the_last_one_refreshes_the_estimate() -> None:
    d = Day()
    d.open(at(8, 30), ("C", "W5"))
    d.history("C", "W5", at(8, 35), 10)
    now = at(10, 30)
    for i in range(3):
        d.add("issued", now - timedelta(minutes=3 - i), "C", f"C1{i:02d}")
    d.add("window_open", now, "C", window="W5")  # same time as what follows: no new ticket, no new time
    estimator = SimulationEstimator()
    before = estimator.for_position(d.board, d.board.view("C"), 2, now)
    d.add("called", now, "C", "C100", "W5")  # same ticket count, same last event time
    after = estimator.for_position(d.board, d.board.view("C"), 1, now)
    fresh = SimulationEstimator().for_position(d.board, d.board.view("C"), 1, now)
    assert before is not None and after == fresh  # not the memo of the board before the call


def test_queues_linked_by_shared_windows_are_simulated_together() -> None:
    groups = queue_groups(SITE)  # W3 serves A and B; C has W5 alone
    assert groups["A"] == groups["B"] == frozenset({"A", "B"})
    assert groups["C"] == frozenset({"C"})


def test_an_event_of_another_group_only_moves_the_estimate_on_by_the_time_elapsed() -> None:
    d = Day()
    d.open(at(8, 30), ("A", "W1"), ("C", "W5"))
    d.history("A", "W1", at(8, 35), 5)
    for i in range(6):
        d.add("issued", at(10, 0) + timedelta(seconds=i), "A", f"A1{i:02d}")
    estimator = SimulationEstimator()
    before = estimator.for_position(d.board, d.board.view("A"), 5, at(10, 1))
    d.add("issued", at(10, 1) + timedelta(seconds=30), "C", "C100")  # nothing to do with A
    after = estimator.for_position(d.board, d.board.view("A"), 5, at(10, 1) + timedelta(seconds=30))
    assert before is not None and after is not None
    assert after.point_s == pytest.approx(before.point_s - 30, abs=1)
    d.add("called", at(10, 2), "A", "A100", "W1")  # A's own event: a new simulation
    fresh = SimulationEstimator().for_position(d.board, d.board.view("A"), 4, at(10, 2))
    assert estimator.for_position(d.board, d.board.view("A"), 4, at(10, 2)) == fresh
