"""Waiting-time estimation behind one interface, so a better estimator can replace the first one.

`WaitEstimator.for_position(board, view, ahead, now)` answers "how long until the ticket with
`ahead` people ahead of it in `view.queue` is called?" as a range. `view` is that queue's picture;
`board` is the whole site's day, for estimators that look across queues (shared windows) or at the
day's arrivals. The queue's own estimate is the one for a
ticket issued now (everyone waiting is ahead of it).
"""

from __future__ import annotations

import bisect
import math
import statistics
from datetime import datetime, timedelta
from typing import Protocol

from lobby.schema import WaitEstimate
from queue_bridge.board import Board, QueueView


class WaitEstimator(Protocol):
    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        """Estimate for a ticket with `ahead` tickets before it; None when no estimate is honest."""
        ...


def queue_estimate(
    estimator: WaitEstimator, board: Board, view: QueueView, now: datetime
) -> WaitEstimate | None:
    return estimator.for_position(board, view, len(view.waiting), now)


class QueueLengthEstimator:
    """The first estimator: queue length × recent service time ÷ open windows.

    The service time is the median of the queue's services that finished in the last `window`
    (falling back to `default_service_s` until there are `min_samples`). The 80% range comes from
    the spread of those services: the wait is a sum of `ahead` service times shared by the open
    windows, so its standard deviation grows with the square root of the queue, not linearly;
    on top come the unknown remaining time of the services in progress and the uncertainty of the
    median itself.
    """

    method = "queue_length_v1"
    Z80 = 1.2816  # two-sided 80% interval of a normal distribution

    def __init__(
        self,
        window: timedelta = timedelta(minutes=60),
        default_service_s: float = 300.0,
        default_cv: float = 0.6,
        min_samples: int = 3,
    ) -> None:
        self.window = window
        self.default_service_s = default_service_s
        self.default_cv = default_cv
        self.min_samples = min_samples

    def service_time(self, view: QueueView, now: datetime) -> tuple[float, float, int]:
        """(typical seconds per ticket at one window, coefficient of variation, samples)."""
        # view.services is sorted by finish time: slice the recent ones instead of scanning the day.
        lo = bisect.bisect_left(view.services, now - self.window, key=lambda s: s.finished_at)
        hi = bisect.bisect_right(view.services, now, key=lambda s: s.finished_at)
        recent = [s.seconds for s in view.services[lo:hi] if s.seconds > 0]
        if len(recent) < self.min_samples:
            return self.default_service_s, self.default_cv, len(recent)
        median = statistics.median(recent)
        cv = statistics.pstdev(recent) / median if median > 0 else self.default_cv
        return median, min(max(cv, 0.2), 1.5), len(recent)

    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        windows = len(view.open_windows)
        if windows == 0:
            return None
        per_ticket, cv, samples = self.service_time(view, now)
        point = ahead * per_ticket / windows
        spread = self.Z80 * math.sqrt(max(ahead, 1)) * cv * per_ticket / windows
        in_progress = per_ticket / (2 * windows)  # the next window frees up anywhere in [0, s/c]
        # Few samples: the median itself is uncertain (relative standard error ~ cv / sqrt(n)).
        rate_error = self.Z80 * point * cv / math.sqrt(max(samples, 1))
        lower = max(0.0, point - spread - in_progress)
        upper = point + spread + in_progress + rate_error
        return WaitEstimate(
            point_s=round(point), lower_s=round(lower), upper_s=round(upper), method=self.method
        )
