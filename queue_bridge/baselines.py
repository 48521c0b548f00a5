"""The classic delay predictors (Ibrahim & Whitt), as WaitEstimators, for comparison only.

They give a point estimate; their "range" is that point, so their interval coverage is not
meaningful and is reported as such. Each uses only what the board holds at `now`.
"""

from __future__ import annotations

import statistics
from datetime import datetime

from lobby.schema import WaitEstimate
from queue_bridge.board import Board, QueueView


def _point(seconds: float, method: str) -> WaitEstimate:
    s = max(0.0, round(seconds))
    return WaitEstimate(point_s=s, lower_s=s, upper_s=s, method=method)


class LastToEnterService:
    """LES: the realized wait of the last ticket of this queue to be called."""

    method = "les"

    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        past = [w for called, w in view.waits if called <= now]
        return _point(past[-1] if past else 0.0, self.method)


class HeadOfLine:
    """HOL: how long the ticket at the head of the line has waited so far.

    For a ticket with `ahead` people before it, the head's elapsed wait is scaled by the ratio of
    positions (`(ahead + 1) / queue length`), so the newest ticket gets the plain HOL delay.
    """

    method = "hol"

    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        if not view.waiting:
            return _point(0.0, self.method)
        elapsed = (now - view.waiting[0][0]).total_seconds()
        return _point(elapsed * (ahead + 1) / len(view.waiting), self.method)


class QueueLengthOverRate:
    """QL: (position + 1) × mean service time today ÷ open windows (5 min before any service)."""

    method = "ql"

    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        done = [s.seconds for s in view.services if s.finished_at <= now]
        mean = statistics.fmean(done) if done else 300.0
        windows = max(1, len(view.open_windows))
        return _point((ahead + 1) * mean / windows, self.method)
