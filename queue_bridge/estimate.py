"""Waiting-time estimation behind one interface, so a better estimator can replace the first one.

`WaitEstimator.for_position(view, position, now)` answers "how long until the ticket with
`position` people ahead of it is called?" as a range. The queue's own estimate is the one for a
ticket issued now (everyone waiting is ahead of it).
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Protocol

from lobby.schema import WaitEstimate
from queue_bridge.board import QueueView


class WaitEstimator(Protocol):
    def for_position(self, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        """Estimate for a ticket with `ahead` tickets before it; None when no estimate is honest."""
        ...


def queue_estimate(estimator: WaitEstimator, view: QueueView, now: datetime) -> WaitEstimate | None:
    return estimator.for_position(view, len(view.waiting), now)


class QueueLengthEstimator:
    """The first estimator: queue length × recent service time ÷ open windows.

    The service time is the median of the queue's services that finished in the last `window`
    (falling back to `default_service_s` until there are `min_samples`). The range widens with the
    spread of those services and never collapses to a single number.
    """

    method = "queue_length_v1"

    def __init__(
        self,
        window: timedelta = timedelta(minutes=60),
        default_service_s: float = 300.0,
        min_samples: int = 3,
    ) -> None:
        self.window = window
        self.default_service_s = default_service_s
        self.min_samples = min_samples

    def service_time(self, view: QueueView, now: datetime) -> tuple[float, float]:
        """(typical seconds per ticket at one window, relative spread) from recent services."""
        since = now - self.window
        recent = [s.seconds for s in view.services if since <= s.finished_at <= now and s.seconds > 0]
        if len(recent) < self.min_samples:
            return self.default_service_s, 0.5
        median = statistics.median(recent)
        q1, _, q3 = statistics.quantiles(recent, n=4) if len(recent) >= 4 else (min(recent), 0, max(recent))
        spread = max(0.2, (q3 - q1) / median) if median > 0 else 0.5
        return median, min(spread, 1.0)

    def for_position(self, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        windows = len(view.open_windows)
        if windows == 0:
            return None
        per_ticket, spread = self.service_time(view, now)
        point = ahead * per_ticket / windows
        # The next call can come at any moment a window frees up, so the lower end reaches 0
        # for short queues; the upper end allows for the spread of service times and one more service.
        lower = max(0.0, point * (1 - spread / 2) - per_ticket / (2 * windows))
        upper = point * (1 + spread) + per_ticket / windows
        return WaitEstimate(
            point_s=round(point), lower_s=round(lower), upper_s=round(upper), method=self.method
        )
