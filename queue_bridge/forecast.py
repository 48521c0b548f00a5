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
call times (the point that minimises absolute error) and its range the 10th–90th percentiles.
Each run draws its own typical service time per queue from what the data allow, so the range
also says how sure we are of the service rate; a small margin measured on the scenario days
(`bench/wait_accuracy.py`) covers what the model leaves out.

One simulation serves every position of every queue in a group of queues linked by shared
windows, and is memoised until an event concerns the group: recomputing all 50 queues' estimates
after an event costs one small simulation (`bench/forecast_cost.py`, docs/benchmarks.md).
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
from queue_bridge.site import SiteConfig, WindowConfig

PRIOR_SERVICE_S = 360.0
PRIOR_SIGMA = 0.6
PRIOR_WEIGHT = 4  # services' worth of trust in the prior's spread of service times
GENERIC_PRIOR_SD = 0.6  # how far (in log) a queue's typical service may be from the generic 6 minutes
HISTORY_DRIFT = 0.12  # how far (in log) today's typical service may be from earlier days'
TURNAROUND_S = 25.0  # between a service ending and the next call at the same window
RECALL_HOLD_S = 120.0  # a call nobody answers holds the window for the recall and the no-show
PRIOR_NO_SHOW = 0.04


@dataclass(frozen=True)
class ServiceModel:
    mu: float  # log-normal parameters of one service, seconds
    sigma: float
    mu_se: float = 0.0  # standard error of mu: how sure we are of the typical service time

    def draw(self, rng: random.Random) -> float:
        return rng.lognormvariate(self.mu, self.sigma)

    def plausible(self, rng: random.Random) -> ServiceModel:
        """One service-time model drawn from what the data allow: a run of the simulation uses one,
        so the range reflects that a long queue's wait is a sum of services whose typical length
        is itself uncertain (an error that grows with the queue, not with its square root)."""
        return ServiceModel(rng.gauss(self.mu, self.mu_se), self.sigma)


def learn_service(samples: list[float], history: list[float] | None = None) -> ServiceModel:
    """Log-normal fit of today's service times, combined with a prior in proportion to how much
    each is worth (a normal-normal update of the log-mean).

    The prior is the queue's services on earlier days when there are enough (the event log's
    history): services change little from day to day, so it stays worth a few services. Without
    history it is a generic 6 minutes that could easily be half or double that, so a handful of
    today's services outweigh it, and until they exist the range is wide.
    """
    prior = _fit([math.log(s) for s in history or [] if s > 5])
    if prior is not None:
        prior_mu, prior_sigma, prior_sd = *prior, HISTORY_DRIFT
    else:
        prior_mu = math.log(PRIOR_SERVICE_S) - PRIOR_SIGMA**2 / 2
        prior_sigma, prior_sd = PRIOR_SIGMA, GENERIC_PRIOR_SD
    logs = [math.log(s) for s in samples if s > 5]
    n = len(logs)
    var = statistics.pvariance(logs) if n >= 2 else prior_sigma**2
    sigma = max(0.15, math.sqrt((n * var + PRIOR_WEIGHT * prior_sigma**2) / (n + PRIOR_WEIGHT)))
    precision = n / sigma**2 + 1 / prior_sd**2
    mean = (sum(logs) / sigma**2 + prior_mu / prior_sd**2) / precision
    return ServiceModel(mean, sigma, 1 / math.sqrt(precision))


def _fit(logs: list[float]) -> tuple[float, float] | None:
    if len(logs) < 10:
        return None
    return statistics.fmean(logs), statistics.pstdev(logs)


@dataclass
class _Window:
    id: str
    queues: set[str]  # open for these now
    free_at: float  # seconds from now


@dataclass(frozen=True)
class _Forecast:
    key: tuple[int, date | None, tuple[int, ...]]
    made_at: datetime
    #: Per queue, per position (the last: a ticket issued at `made_at`), the simulated call times
    #: in seconds from `made_at`, one per run.
    calls: dict[str, list[list[float]]]


class SimulationEstimator:
    """A `WaitEstimator`: quantiles of the simulated call time of the ticket at a position.

    Queues that share no window cannot delay each other, so each group of queues linked by shared
    windows is simulated on its own, and only when an event concerned it (or its last simulation
    is more than `max_age_s` old; in between, call times are moved on by the time elapsed). On a
    50-queue site an event therefore costs one small simulation, not one of the whole building.
    """

    method = "simulation_v1"

    def __init__(
        self,
        runs: int = 60,
        seed: int = 7,
        widen: float = 1.0,
        pad_s: float = 10.0,
        model_error: float = 0.015,
        max_age_s: float = 60.0,
    ) -> None:
        self.runs = runs
        self.seed = seed
        self.widen = widen  # calibration: model error on top of the simulated spread
        self.pad_s = pad_s
        self.model_error = model_error  # share of the wait added on each side for what the model misses
        self.max_age_s = max_age_s
        self._groups: dict[int, dict[str, frozenset[str]]] = {}
        self._memo: dict[frozenset[str], _Forecast] = {}
        # Service times seen on each day, per queue: earlier days are the prior for today.
        self._days: dict[date, dict[str, list[float]]] = {}

    def for_position(self, board: Board, view: QueueView, ahead: int, now: datetime) -> WaitEstimate | None:
        forecast = self._forecast(board, view.queue, now)
        samples = forecast.calls.get(view.queue)
        if not samples:
            return None
        position = min(ahead, len(samples) - 1)  # the last slot is a ticket issued now
        elapsed = max(0.0, (now - forecast.made_at).total_seconds())
        times = sorted(max(0.0, t - elapsed) for t in samples[position])
        if math.isinf(times[len(times) // 2]):
            return None  # most runs: no window opens for this queue again today
        finite = [t for t in times if not math.isinf(t)] or [0.0]
        q = statistics.quantiles(finite, n=10, method="inclusive") if len(finite) > 1 else [finite[0]] * 9
        point = statistics.median(finite)
        margin = self.pad_s + self.model_error * point
        lower = max(0.0, point - (point - q[0]) * self.widen - margin)
        upper = point + (q[8] - point) * self.widen + margin
        return WaitEstimate(
            point_s=round(point), lower_s=round(lower), upper_s=round(upper), method=self.method
        )

    # -- the simulation -------------------------------------------------------------------------
    def _forecast(self, board: Board, queue: str, now: datetime) -> _Forecast:
        group = self._group_of(board.site, queue)
        key = (id(board), board.day, tuple(board.versions.get(q, 0) for q in sorted(group)))
        memo = self._memo.get(group)
        if memo is None or memo.key != key or (now - memo.made_at).total_seconds() > self.max_age_s:
            memo = self._memo[group] = _Forecast(key, now, self._simulate(board, group, now))
        return memo

    def _group_of(self, site: SiteConfig, queue: str) -> frozenset[str]:
        if id(site) not in self._groups:
            self._groups[id(site)] = queue_groups(site)
        return self._groups[id(site)].get(queue, frozenset({queue}))

    def _simulate(self, board: Board, group: frozenset[str], now: datetime) -> dict[str, list[list[float]]]:
        views = {q: board.view(q) for q in sorted(group)}
        today = {q: [s.seconds for s in v.services if s.finished_at <= now] for q, v in views.items()}
        if board.day is not None:
            self._days.setdefault(board.day, {}).update(today)
        earlier = [d for d in sorted(self._days) if board.day is None or d < board.day][-5:]
        models = {
            q: learn_service(samples, [x for d in earlier for x in self._days[d].get(q, [])])
            for q, samples in today.items()
        }
        no_show = _no_show_rate(views)
        windows = [w for w in board.site.windows if group.issuperset(w.queues)]
        breaks = [c for c in _break_changes(board.site, now) if c[1] in {w.id for w in windows}]
        rng = random.Random(f"{self.seed}-{now.isoformat()}-{'.'.join(sorted(group))}")
        waiting = {q: [since for since, _ in v.waiting] for q, v in views.items()}
        out: dict[str, list[list[float]]] = {q: [[] for _ in range(len(w) + 1)] for q, w in waiting.items()}
        for _ in range(self.runs):
            plausible = {q: m.plausible(rng) for q, m in models.items()}
            calls = _one_run(board, windows, views, waiting, plausible, no_show, breaks, now, rng)
            for q, times in calls.items():
                for i, t in enumerate(times):
                    out[q][i].append(t)
        return out


def queue_groups(site: SiteConfig) -> dict[str, frozenset[str]]:
    """Each queue's group: the queues linked to it through windows that serve several queues."""
    group = {q.id: {q.id} for q in site.queues}
    for w in site.windows:
        merged = set().union(*(group[q] for q in w.queues))
        for q in merged:
            group[q] = merged
    return {q: frozenset(g) for q, g in group.items()}


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
    site_windows: list[WindowConfig],
    views: dict[str, QueueView],
    models: dict[str, ServiceModel],
    now: datetime,
    rng: random.Random,
) -> list[_Window]:
    """Each window's open queues now, and when its service in progress will end."""
    windows = []
    for w in site_windows:
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
    site_windows: list[WindowConfig],
    views: dict[str, QueueView],
    waiting: dict[str, list[datetime]],
    models: dict[str, ServiceModel],
    no_show: float,
    breaks: list[tuple[float, str, bool]],
    now: datetime,
    rng: random.Random,
) -> dict[str, list[float]]:
    """Call times (seconds from now) of every waiting ticket, plus one ticket issued now at the end
    of each queue. Everyone holding a ticket is called, after closing time if need be, as city halls
    do; a ticket stays at inf only if no window will open for its queue again today."""
    windows = _initial_windows(board, site_windows, views, models, now, rng)
    by_id = {w.id: w for w in windows}
    serves = {w.id: set(w.queues) for w in site_windows}
    heads = {q: 0 for q in waiting}
    calls = {q: [math.inf] * (len(w) + 1) for q, w in waiting.items()}
    pending = [(w.free_at, w.id) for w in windows]
    heapq.heapify(pending)
    changes: list[tuple[float, str, bool]] = list(breaks)
    while pending:
        t, wid = heapq.heappop(pending)
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
