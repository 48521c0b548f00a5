"""Published accuracy: how far today's estimates were from the waits people actually had.

Each ticket's estimate is recorded once, when it is issued (the number the citizen saw). When the
ticket is first called, its realized wait is known; the queue's accuracy today is the mean absolute
error over those tickets and the share that fell inside the range shown. Pure functions over data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from lobby.schema import EstimateAccuracy, WaitEstimate
from queue_bridge.board import Board


@dataclass(frozen=True)
class Prediction:
    """The estimate shown for one ticket at the moment it was issued."""

    day: date
    ticket: str
    queue: str
    issued_at: datetime
    point_s: float
    lower_s: float
    upper_s: float

    @classmethod
    def of(
        cls, day: date, ticket: str, queue: str, issued_at: datetime, estimate: WaitEstimate
    ) -> Prediction:
        return cls(day, ticket, queue, issued_at, estimate.point_s, estimate.lower_s, estimate.upper_s)


def realized_wait(board: Board, ticket: str, issued_at: datetime) -> float | None:
    """Seconds from issue to first call, if the ticket has been called today."""
    record = board.tickets.get(ticket)
    called = record.first_called_at if record else None
    if called is None or called < issued_at:
        return None
    return (called - issued_at).total_seconds()


class AccuracyTracker:
    """Today's predictions and their running accuracy, updated per ticket rather than recounted.

    `rescore(board, tickets)` after each batch looks only at the tickets the batch touched, so the
    cost per batch does not grow with the day.
    """

    def __init__(self) -> None:
        self.day: date | None = None
        self._predictions: dict[str, Prediction] = {}
        self._scores: dict[str, tuple[str, float, bool]] = {}  # ticket -> (queue, |error|, inside)
        self._totals: dict[str, list[float]] = {}  # queue -> [sum |error|, inside, samples]

    def start_day(self, day: date | None) -> None:
        if day != self.day:
            self.day, self._predictions, self._scores, self._totals = day, {}, {}, {}

    def add(self, predictions: Iterable[Prediction]) -> None:
        for p in predictions:
            if p.day == self.day:
                self._predictions.setdefault(p.ticket, p)

    def rescore(self, board: Board, tickets: Iterable[str]) -> None:
        for ticket in tickets:
            p = self._predictions.get(ticket)
            if p is None:
                continue
            self._unscore(ticket)
            wait = realized_wait(board, ticket, p.issued_at)
            if wait is not None:
                score = (p.queue, abs(wait - p.point_s), p.lower_s <= wait <= p.upper_s)
                self._scores[ticket] = score
                totals = self._totals.setdefault(p.queue, [0.0, 0.0, 0.0])
                totals[0] += score[1]
                totals[1] += score[2]
                totals[2] += 1

    def _unscore(self, ticket: str) -> None:
        old = self._scores.pop(ticket, None)
        if old is not None:
            totals = self._totals[old[0]]
            totals[0] -= old[1]
            totals[1] -= old[2]
            totals[2] -= 1

    def get(self, queue: str) -> EstimateAccuracy | None:
        totals = self._totals.get(queue)
        if not totals or totals[2] < 1:
            return None
        n = int(totals[2])
        return EstimateAccuracy(
            mae_s=round(totals[0] / n, 1), within_range=round(totals[1] / n, 3), samples=n
        )


def accuracy_by_queue(predictions: Iterable[Prediction], board: Board) -> dict[str, EstimateAccuracy]:
    """Realized accuracy of today's estimates, per queue, over tickets already called."""
    errors: dict[str, list[float]] = {}
    inside: dict[str, int] = {}
    for p in predictions:
        if p.day != board.day:
            continue
        wait = realized_wait(board, p.ticket, p.issued_at)
        if wait is None:
            continue
        errors.setdefault(p.queue, []).append(abs(wait - p.point_s))
        inside[p.queue] = inside.get(p.queue, 0) + (p.lower_s <= wait <= p.upper_s)
    return {
        q: EstimateAccuracy(
            mae_s=round(sum(e) / len(e), 1), within_range=round(inside[q] / len(e), 3), samples=len(e)
        )
        for q, e in errors.items()
    }
