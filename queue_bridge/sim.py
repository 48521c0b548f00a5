"""A ticket-system simulator: one realistic city-hall day as a list of events.

Pure function of (site, day, seed, profile): arrivals follow a time-of-day curve (morning peak,
lunch dip, smaller afternoon peak), windows open at opening time and close for the site's breaks,
the ticket machine stops 15 minutes before closing and the windows go on until every visitor who
holds a ticket has been called, as city halls do (受付終了後も発券済みの方は対応),
each queue has its own service-time distribution (log-normal), windows serving several queues
call the oldest waiting ticket among them, some visitors do not answer (recall, then no-show).
The shell in `sim_publish.py` plays these events over MQTT at a chosen speed.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from lobby.schema import EventType, QueueEvent
from queue_bridge.site import Break, SiteConfig

# Arrivals per hour at the peak, by default per queue (overridable per profile).
DEFAULT_PEAK_PER_HOUR = 14.0
# Mean service minutes per queue; unknown queues use the default.
DEFAULT_SERVICE_MIN = 6.0


@dataclass(frozen=True)
class Surge:
    """Arrivals multiplied by `factor` between two times of day (for `queues`, or all if empty)."""

    start: time
    end: time
    factor: float
    queues: tuple[str, ...] = ()

    def applies(self, queue: str, local: time) -> bool:
        return self.start <= local < self.end and (not self.queues or queue in self.queues)


@dataclass(frozen=True)
class Profile:
    peak_per_hour: dict[str, float] = field(default_factory=lambda: {"A": 45.0, "B": 16.0, "C": 9.0})
    service_min: dict[str, float] = field(default_factory=lambda: {"A": 4.0, "B": 12.0, "C": 10.0})
    service_sigma: float = 0.45  # log-normal shape: most services near the mean, a long tail
    no_answer_p: float = 0.04  # called, does not come: recalled once, then no-show
    recall_gap_s: float = 60.0
    surges: tuple[Surge, ...] = ()
    #: Unplanned closures (a window failure): like breaks, but not in the site config.
    outages: tuple[Break, ...] = ()

    def arrival_factor(self, queue: str, local: time) -> float:
        factor = 1.0
        for s in self.surges:
            if s.applies(queue, local):
                factor *= s.factor
        return factor

    def max_factor(self, queue: str) -> float:
        return max([1.0, *(s.factor for s in self.surges if not s.queues or queue in s.queues)])


def arrival_shape(minute_of_day: float) -> float:
    """Relative arrival intensity (0..1) over the day: peaks at 9:30 and 14:00, dip at lunch."""
    hour = minute_of_day / 60
    morning = math.exp(-(((hour - 9.6) / 1.0) ** 2))
    afternoon = 0.7 * math.exp(-(((hour - 14.0) / 1.2) ** 2))
    return max(0.08, morning + afternoon) if 8.5 <= hour < 17.0 else 0.0


def _at(day: date, t: time, site: SiteConfig) -> datetime:
    return datetime.combine(day, t, tzinfo=site.tz)


@dataclass
class _Ticket:
    number: str
    queue: str
    issued: datetime


class _EventLog:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.events: list[QueueEvent] = []

    def add(
        self, type_: EventType, ts: datetime, queue: str, ticket: str | None = None, window: str | None = None
    ) -> None:
        self.events.append(
            QueueEvent(
                event_id=f"{self.run_id}-{len(self.events):06d}",
                type=type_,
                ticket=ticket,
                queue=queue,
                window=window,
                ts=ts,
            )
        )


def simulate_day(
    site: SiteConfig, day: date, seed: int = 1, profile: Profile | None = None, run_id: str = "sim"
) -> list[QueueEvent]:
    """All events of one simulated day, sorted by time."""
    profile = profile or Profile()
    rng = random.Random(seed)
    log = _EventLog(run_id)
    opens, closes = _at(day, site.opens, site), _at(day, site.closes, site)

    arrivals = _arrivals(site, day, rng, profile, opens, closes)
    for t in arrivals:
        log.add(EventType.ISSUED, t.issued, t.queue, ticket=t.number)

    # Discrete-event simulation of the windows.
    waiting: dict[str, list[_Ticket]] = {q.id: [] for q in site.queues}
    pending = list(arrivals)  # sorted by issue time
    windows = {w.id: w for w in site.windows}
    free_at: list[tuple[datetime, str]] = [(opens, w) for w in windows]
    heapq.heapify(free_at)
    for w in site.windows:
        for q in w.queues:
            log.add(EventType.WINDOW_OPEN, opens, q, window=w.id)
    on_break = _break_schedule(site, day, log, [*site.breaks, *profile.outages])

    last_free = {w: closes for w in windows}
    while free_at:
        now, wid = heapq.heappop(free_at)
        resume = on_break(wid, now)
        if resume is not None:
            if resume < closes:
                heapq.heappush(free_at, (resume, wid))
            continue  # a closure that lasts until closing time ends the window's day
        while pending and pending[0].issued <= now:
            t = pending.pop(0)
            waiting[t.queue].append(t)
        candidates = [waiting[q][0] for q in windows[wid].queues if waiting[q]]
        if not candidates:
            if now < closes:
                nxt = pending[0].issued if pending else closes
                heapq.heappush(free_at, (max(nxt, now + timedelta(seconds=20)), wid))
            else:  # closed, and nobody holding a ticket for this window is left
                last_free[wid] = max(closes, now)
            continue
        ticket = min(candidates, key=lambda t: t.issued)
        waiting[ticket.queue].remove(ticket)
        log.add(EventType.CALLED, now, ticket.queue, ticket=ticket.number, window=wid)
        if rng.random() < profile.no_answer_p:
            gap = timedelta(seconds=profile.recall_gap_s)
            log.add(EventType.RECALLED, now + gap, ticket.queue, ticket=ticket.number, window=wid)
            log.add(EventType.NO_SHOW, now + 2 * gap, ticket.queue, ticket=ticket.number, window=wid)
            heapq.heappush(free_at, (now + 2 * gap, wid))
            continue
        mean = profile.service_min.get(ticket.queue, DEFAULT_SERVICE_MIN) * 60
        mu = math.log(mean) - profile.service_sigma**2 / 2
        done = now + timedelta(seconds=max(30.0, rng.lognormvariate(mu, profile.service_sigma)))
        log.add(EventType.SERVED, done, ticket.queue, ticket=ticket.number, window=wid)
        heapq.heappush(free_at, (done + timedelta(seconds=rng.uniform(10, 40)), wid))

    for w in site.windows:
        for q in w.queues:
            log.add(EventType.WINDOW_CLOSE, last_free[w.id], q, window=w.id)
    log.events.sort(key=lambda e: e.ts)
    return log.events


def _arrivals(
    site: SiteConfig, day: date, rng: random.Random, profile: Profile, opens: datetime, closes: datetime
) -> list[_Ticket]:
    """Non-homogeneous Poisson arrivals by thinning, numbered per queue (A001, A002, ...)."""
    tickets: list[_Ticket] = []
    for q in site.queues:
        top = profile.max_factor(q.id)
        peak = profile.peak_per_hour.get(q.id, DEFAULT_PEAK_PER_HOUR) * top
        t, n = opens, 0
        while True:
            t += timedelta(hours=rng.expovariate(peak))
            if t >= closes - timedelta(minutes=15):  # the ticket machine stops before closing
                break
            local = t.astimezone(site.tz)
            factor = profile.arrival_factor(q.id, local.time()) / top
            if rng.random() < arrival_shape(local.hour * 60 + local.minute) * factor:
                n += 1
                tickets.append(_Ticket(f"{q.id}{n:03d}", q.id, t))
    tickets.sort(key=lambda t: t.issued)
    return tickets


def _break_schedule(
    site: SiteConfig, day: date, log: _EventLog, breaks: Sequence[Break]
) -> Callable[[str, datetime], datetime | None]:
    """Log window_close/open for the breaks; return a function: when does this window resume?"""
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    windows = {w.id: w for w in site.windows}
    for b in breaks:
        start, end = _at(day, b.start, site), _at(day, b.end, site)
        for wid in b.windows:
            spans.setdefault(wid, []).append((start, end))
            for q in windows[wid].queues:
                log.add(EventType.WINDOW_CLOSE, start, q, window=wid)
                if end < _at(day, site.closes, site):
                    log.add(EventType.WINDOW_OPEN, end, q, window=wid)

    def resume_time(wid: str, now: datetime) -> datetime | None:
        for start, end in spans.get(wid, []):
            if start <= now < end:
                return end
        return None

    return resume_time
