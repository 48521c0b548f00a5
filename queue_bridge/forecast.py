"""Waiting-time forecast by Monte-Carlo simulation of the whole site from its current state.

The rest of the day is played forward `runs` times from what the board says now: which windows
are open for which queues, the service in progress at each window (and how long it has run),
the tickets waiting in every queue, the site's scheduled breaks. Windows that serve several
queues call the oldest waiting ticket among them, as the real calling system does, so the
queues are simulated together. Service times are drawn from log-normal distributions learned
from today's services of each queue (shrunk towards a prior while there are few); a called
ticket does not answer with the observed no-show rate and then holds the window for the recall.

Because calls go oldest-first, tickets issued after `now` never overtake a waiting ticket, so
future arrivals do not need to be simulated. A ticket's estimate is the median of its simulated
call times (the point that minimises absolute error) and its range the 10th–90th percentiles,
widened by a calibration measured on the scenario days (`bench/wait_accuracy.py`).

One simulation serves every queue and position for a given board state: it is memoised, so
recomputing every queue's estimate after each event costs one simulation per event.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from dataclasses import dataclass
from datetime import date, datetime

from lobby.schema import WaitEstimate
from queue_bridge.board import Board, QueueView, TicketState
from queue_bridge.site import SiteConfig

PRIOR_SERVICE_S = 360.0
PRIOR_SIGMA = 0.6
PRIOR_WEIGHT = 4  # services' worth of trust in the prior
TURNAROUND_S = 25.0  # between a service ending and the next call at the same window
RECALL_HOLD_S = 120.0  # a call nobody answers holds the window for the recall and the no-show
PRIOR_NO_SHOW = 0.04


@dataclass(frozen=True)
class ServiceModel:
    mu: float  # log-normal parameters of one service, seconds
    sigma: float

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(self.mu, self.sigma)


def learn_service(samples: list[float], history: list[float] | None = None) -> ServiceModel:
    """Log-normal fit of today's service times, shrunk towards a prior while samples are few.

    The prior is the queue's services on earlier days when there are enough (the event log's
    history), otherwise a generic 6 minutes.
    """
    prior = _fit([math.log(s) for s in history or [] if s > 5])
    prior_mu, prior_sigma = prior or (math.log(PRIOR_SERVICE_S) - PRIOR_SIGMA**2 / 2, PRIOR_SIGMA)
    logs = [math.log(s) for s in samples if s > 5]
    n = len(logs)
    mean = (sum(logs) + PRIOR_WEIGHT * prior_mu) / (n + PRIOR_WEIGHT)
    var = statistics.pvariance(logs) if n >= 2 else prior_sigma**2
    sigma = math.sqrt((n * var + PRIOR_WEIGHT * prior_sigma**2) / (n + PRIOR_WEIGHT))
    return ServiceModel(mean, max(0.15, sigma))


def _fit(logs: list[float]) -> tuple[float, float] | None:
    if len(logs) < 10:
        return None
    return statistics.fmean(logs), statistics.pstdev(logs)


@dataclass
class _Window:
    id: str
    queues: set[str]  # open for these now
    free_at: float  # seconds from now


class SimulationEstimator:
    """A `WaitEstimator`: quantiles of the simulated call time of the ticket at a position."""

    method = "simulation_v1"

    def __init__(self, runs: int = 60, seed: int = 7, widen: float = 1.05, pad_s: float = 30.0) -> None:
        self.runs = runs
        self.seed = seed
        self.widen = widen  # calibration: model error on top of the simulated spread
        self.pad_s = pad_s
        self._memo_key: tuple[int, date | None, int, datetime] | None = None
        self._memo: dict[str, list[list[float]]] = {}
        # Service times seen on each day, per queue: earlier days are the prior for today.
        self._days: dict[date, dict[str, list[float]]] = {}

    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        samples = self._samples(board, now).get(view.queue)
        if not samples:
            return None
        position = min(ahead, len(samples) - 1)  # the last slot is a ticket issued now
        times = sorted(samples[position])
        if math.isinf(times[len(times) // 2]):
            return None  # most runs: not called before closing
        finite = [t for t in times if not math.isinf(t)] or [0.0]
        q = statistics.quantiles(finite, n=10, method="inclusive") if len(finite) > 1 else [finite[0]] * 9
        point = statistics.median(finite)
        lower = max(0.0, point - (point - q[0]) * self.widen - self.pad_s)
        upper = point + (q[8] - point) * self.widen + self.pad_s
        return WaitEstimate(
            point_s=round(point), lower_s=round(lower), upper_s=round(upper), method=self.method
        )

    # -- the simulation -------------------------------------------------------------------------
    def _samples(self, board: Board, now: datetime) -> dict[str, list[list[float]]]:
        key = (id(board), board.day, board.version, now)
        if key != self._memo_key:
            self._memo_key, self._memo = key, self._simulate(board, now)
        return self._memo

    def _simulate(self, board: Board, now: datetime) -> dict[str, list[list[float]]]:
        site = board.site
        views = {q.id: board.view(q.id) for q in site.queues}
        today = {q: [s.seconds for s in v.services if s.finished_at <= now] for q, v in views.items()}
        if board.day is not None:
            self._days[board.day] = today
        earlier = [d for d in sorted(self._days) if board.day is None or d < board.day][-5:]
        models = {
            q: learn_service(samples, [x for d in earlier for x in self._days[d].get(q, [])])
            for q, samples in today.items()
        }
        no_show = _no_show_rate(views)
        horizon = (
            datetime.combine(now.astimezone(site.tz).date(), site.closes, tzinfo=site.tz) - now
        ).total_seconds()
        breaks = _break_changes(site, now)
        rng = random.Random(f"{self.seed}-{now.isoformat()}")
        waiting = {q: [since for since, _ in v.waiting] for q, v in views.items()}
        out: dict[str, list[list[float]]] = {q: [[] for _ in range(len(w) + 1)] for q, w in waiting.items()}
        for _ in range(self.runs):
            calls = _one_run(board, views, waiting, models, no_show, breaks, horizon, now, rng)
            for q, times in calls.items():
                for i, t in enumerate(times):
                    out[q][i].append(t)
        return out


def _no_show_rate(views: dict[str, QueueView]) -> float:
    called = sum(v.served_today + v.no_show_today for v in views.values())
    no_shows = sum(v.no_show_today for v in views.values())
    return (no_shows + PRIOR_NO_SHOW * 20) / (called + 20)


def _break_changes(site: SiteConfig, now: datetime) -> list[tuple[float, str, bool]]:
    """(seconds from now, window, opens?) for the scheduled breaks still to come today."""
    day = now.astimezone(site.tz).date()
    changes: list[tuple[float, str, bool]] = []
    for b in site.breaks:
        for t, opens in ((b.start, False), (b.end, True)):
            at = (datetime.combine(day, t, tzinfo=site.tz) - now).total_seconds()
            if at > 0:
                changes.extend((at, w, opens) for w in b.windows)
    return sorted(changes)


def _initial_windows(
    board: Board,
    views: dict[str, QueueView],
    models: dict[str, ServiceModel],
    now: datetime,
    rng: random.Random,
) -> list[_Window]:
    """Each window's open queues now, and when its service in progress will end."""
    windows = []
    for w in board.site.windows:
        open_for = {q for q in w.queues if w.id in views[q].open_windows}
        free_at = 0.0
        call = board._last_call.get(w.id)
        if call is not None and call.ticket is not None:
            record = board.tickets.get(call.ticket)
            if record is not None and record.state is TicketState.CALLED:
                elapsed = (now - call.ts).total_seconds()
                model = models.get(call.queue) or learn_service([])
                free_at = _residual(model, elapsed, rng) + TURNAROUND_S
        windows.append(_Window(w.id, open_for, free_at))
    return windows


def _residual(model: ServiceModel, elapsed: float, rng: random.Random) -> float:
    """Remaining time of a service that has already run `elapsed` seconds (rejection sampling)."""
    for _ in range(20):
        s = model.draw(rng)
        if s > elapsed:
            return s - elapsed
    return rng.expovariate(1 / 60)


def _one_run(
    board: Board,
    views: dict[str, QueueView],
    waiting: dict[str, list[datetime]],
    models: dict[str, ServiceModel],
    no_show: float,
    breaks: list[tuple[float, str, bool]],
    horizon: float,
    now: datetime,
    rng: random.Random,
) -> dict[str, list[float]]:
    """Call times (seconds from now; inf if not before closing) of every waiting ticket, plus one
    ticket issued now at the end of each queue."""
    windows = _initial_windows(board, views, models, now, rng)
    by_id = {w.id: w for w in windows}
    serves = {w.id: set(w.queues) for w in board.site.windows}
    heads = {q: 0 for q in waiting}
    calls = {q: [math.inf] * (len(w) + 1) for q, w in waiting.items()}
    pending = [(w.free_at, w.id) for w in windows]
    heapq.heapify(pending)
    changes: list[tuple[float, str, bool]] = list(breaks)
    while pending:
        t, wid = heapq.heappop(pending)
        if t > horizon:
            break
        while changes and changes[0][0] <= t:
            _, cw, opens = changes.pop(0)
            if opens:
                by_id[cw].queues = set(serves[cw])
            else:
                by_id[cw].queues = set()
        window = by_id[wid]
        if not window.queues:
            nxt = next((c[0] for c in changes if c[1] == wid and c[2]), None)
            if nxt is not None:
                heapq.heappush(pending, (nxt, wid))
            continue
        queue = _oldest(window.queues, waiting, heads)
        if queue is None:
            for q in window.queues:  # a ticket issued now would be called here
                if math.isinf(calls[q][-1]) and heads[q] >= len(waiting[q]):
                    calls[q][-1] = t
            idle = [c[0] for c in changes if c[0] > t]
            if idle:
                heapq.heappush(pending, (idle[0], wid))
            continue
        calls[queue][heads[queue]] = t
        heads[queue] += 1
        hold = RECALL_HOLD_S if rng.random() < no_show else models[queue].draw(rng)
        heapq.heappush(pending, (t + hold + TURNAROUND_S, wid))
    return calls


def _oldest(queues: set[str], waiting: dict[str, list[datetime]], heads: dict[str, int]) -> str | None:
    best: tuple[datetime, str] | None = None
    for q in sorted(queues):
        if heads[q] < len(waiting[q]):
            candidate = (waiting[q][heads[q]], q)
            if best is None or candidate < best:
                best = candidate
    return best[1] if best else None
