"""The live queue board: today's tickets and windows, folded from ticket-system events.

Functional core, no I/O. The board is built so that the *order* in which events arrive does not
matter: each ticket keeps all its events sorted by timestamp and its state is derived from the
latest one, and each window keeps its latest open/close. Replaying the same set of events in any
order, with any duplicates, gives the same board (a property test checks this).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from lobby.schema import EventType, NowCalling, QueueEvent
from queue_bridge.site import SiteConfig

# Tie-break for events with the same timestamp: the natural life-cycle order.
_RANK = {
    EventType.ISSUED: 0,
    EventType.TRANSFERRED: 1,
    EventType.CALLED: 2,
    EventType.RECALLED: 3,
    EventType.SERVED: 4,
    EventType.NO_SHOW: 4,
}


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"


_STATE_AFTER = {
    EventType.ISSUED: TicketState.WAITING,
    EventType.TRANSFERRED: TicketState.WAITING,
    EventType.CALLED: TicketState.CALLED,
    EventType.RECALLED: TicketState.CALLED,
    EventType.SERVED: TicketState.SERVED,
    EventType.NO_SHOW: TicketState.NO_SHOW,
}


class RejectReason(StrEnum):
    UNKNOWN_QUEUE = "unknown_queue"
    UNKNOWN_WINDOW = "unknown_window"
    WINDOW_NOT_SERVING_QUEUE = "window_not_serving_queue"
    TOPIC_MISMATCH = "topic_mismatch"


def check_against_site(
    event: QueueEvent, site: SiteConfig, topic_queue: str | None = None
) -> RejectReason | None:
    """Why this (schema-valid) event cannot belong to this site, or None if it can."""
    if topic_queue is not None and topic_queue != event.queue:
        return RejectReason.TOPIC_MISMATCH
    if site.queue(event.queue) is None:
        return RejectReason.UNKNOWN_QUEUE
    if event.to_queue is not None and site.queue(event.to_queue) is None:
        return RejectReason.UNKNOWN_QUEUE
    if event.window is not None:
        window = next((w for w in site.windows if w.id == event.window), None)
        if window is None:
            return RejectReason.UNKNOWN_WINDOW
        if event.type in (EventType.WINDOW_OPEN, EventType.WINDOW_CLOSE) and event.queue not in window.queues:
            return RejectReason.WINDOW_NOT_SERVING_QUEUE
    return None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _order_key(e: QueueEvent) -> tuple[datetime, int, str]:
    return (e.ts, _RANK.get(e.type, 0), e.event_id)


@dataclass
class TicketRecord:
    """Everything known about one ticket today, events sorted by time.

    What the board reads of a ticket (its queue, state, services, wait) is derived once per added
    event, not on every read: views are taken after every batch and walk every ticket of the day.
    """

    number: str
    events: list[QueueEvent] = field(default_factory=list)
    queue: str = ""
    state: TicketState = TicketState.WAITING
    #: When the ticket joined its current queue (issue or last transfer).
    waiting_since: datetime = _EPOCH
    first_called_at: datetime | None = None
    services: tuple[Service, ...] = ()
    #: (first called at, seconds waited since issue), when both are known.
    wait: tuple[datetime, float] | None = None

    def add(self, event: QueueEvent) -> None:
        bisect.insort(self.events, event, key=_order_key)
        self._derive()

    def _derive(self) -> None:
        queue, since, known_start = self.events[0].queue, self.events[0].ts, False
        first_called: datetime | None = None
        last_call: QueueEvent | None = None
        calls_served: list[tuple[QueueEvent, datetime]] = []
        for e in self.events:
            if e.type is EventType.ISSUED:
                queue, since, known_start = e.queue, e.ts, True
            elif e.type is EventType.TRANSFERRED and e.to_queue is not None:
                queue, since, known_start = e.to_queue, e.ts, True
            elif e.type is EventType.CALLED:
                first_called = first_called or e.ts
                last_call = e
            elif e.type is EventType.SERVED and last_call is not None and last_call.window is not None:
                calls_served.append((last_call, e.ts))
        self.queue, self.waiting_since, self.first_called_at = queue, since, first_called
        self.state = _STATE_AFTER[self.events[-1].type]
        self.services = tuple(Service(queue, c.window or "", c.ts, done) for c, done in calls_served)
        # A ticket first seen being called (no issue event) has no known wait.
        ok = first_called is not None and known_start and first_called >= since
        self.wait = (first_called, (first_called - since).total_seconds()) if ok and first_called else None

    @property
    def issued_at(self) -> datetime | None:
        return next((e.ts for e in self.events if e.type is EventType.ISSUED), None)


@dataclass(frozen=True)
class Service:
    """One completed call-to-finish at a window: the raw material of service-time estimates."""

    queue: str
    window: str
    called_at: datetime
    finished_at: datetime

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.called_at).total_seconds()


@dataclass
class QueueView:
    """A read-only picture of one queue, as the estimator and the outputs need it."""

    queue: str
    waiting: list[tuple[datetime, str]]  # (waiting since, ticket), oldest first
    now_calling: list[NowCalling]
    open_windows: list[str]
    served_today: int
    no_show_today: int
    services: list[Service]
    waits: list[tuple[datetime, float]]  # (first called at, realized wait in s)


class Board:
    """Today's state of every queue at one site."""

    def __init__(self, site: SiteConfig) -> None:
        self.site = site
        self.day: date | None = None
        self._reset()

    def _reset(self) -> None:
        self._seen: set[str] = set()
        self.tickets: dict[str, TicketRecord] = {}
        self._by_queue: dict[str, dict[str, TicketRecord]] = {}
        self._window_events: dict[tuple[str, str], QueueEvent] = {}
        #: The latest call at each window, whatever queue it was for: what its display shows.
        self._last_call: dict[str, QueueEvent] = {}
        self.last_event_at: datetime | None = None
        #: Per queue, bumped by every event that concerned it: a cheap key for caches of anything
        #: derived from a queue's state (an event at the same timestamp as the last one still counts).
        self.versions: dict[str, int] = {}
        #: Per queue, the time of the latest event that concerned it.
        self.updated_at: dict[str, datetime] = {}

    def service_day(self, ts: datetime) -> date:
        return ts.astimezone(self.site.tz).date()

    def apply(self, event: QueueEvent) -> set[str]:
        """Fold one event in; return the ids of the queues whose status may have changed.

        Events of an earlier day than the board's are ignored (they belong to the log and the
        open data, not to the live board); the first event of a later day starts a new board.
        """
        day = self.service_day(event.ts)
        if self.day is None or day > self.day:
            self.day = day
            self._reset()
        elif day < self.day:
            return set()
        if event.event_id in self._seen:
            return set()
        self._seen.add(event.event_id)
        if self.last_event_at is None or event.ts > self.last_event_at:
            self.last_event_at = event.ts

        if event.type in (EventType.WINDOW_OPEN, EventType.WINDOW_CLOSE):
            assert event.window is not None  # guaranteed by the schema
            key = (event.queue, event.window)
            current = self._window_events.get(key)
            if current is None or _order_key(event) > _order_key(current):
                self._window_events[key] = event
            return self._touch({event.queue}, event.ts)

        assert event.ticket is not None  # guaranteed by the schema
        changed: set[str] = set()
        if event.type in (EventType.CALLED, EventType.RECALLED) and event.window is not None:
            shown = self._last_call.get(event.window)
            if shown is None or _order_key(event) > _order_key(shown):
                if shown is not None:
                    changed.add(shown.queue)
                self._last_call[event.window] = event
        record = self.tickets.get(event.ticket)
        before = record.queue if record else None
        if record is None:
            record = self.tickets[event.ticket] = TicketRecord(event.ticket)
        record.add(event)
        if before != record.queue:
            if before is not None:
                del self._by_queue[before][record.number]
            self._by_queue.setdefault(record.queue, {})[record.number] = record
        changed |= {record.queue, event.queue}
        if before is not None:
            changed.add(before)
        if event.to_queue is not None:
            changed.add(event.to_queue)
        return self._touch(changed, event.ts)

    def _touch(self, queues: set[str], ts: datetime) -> set[str]:
        for q in queues:
            self.versions[q] = self.versions.get(q, 0) + 1
            if q not in self.updated_at or ts > self.updated_at[q]:
                self.updated_at[q] = ts
        return queues

    def apply_all(self, events: Iterable[QueueEvent]) -> set[str]:
        changed: set[str] = set()
        for e in events:
            changed |= self.apply(e)
        return changed

    def open_windows(self, queue: str) -> list[str]:
        return sorted(
            w for (q, w), e in self._window_events.items() if q == queue and e.type is EventType.WINDOW_OPEN
        )

    def _closed_since(self, queue: str, window: str, call: QueueEvent) -> bool:
        """Has the window closed for this queue after the call? Then its display is dark."""
        latest = self._window_events.get((queue, window))
        return (
            latest is not None
            and latest.type is EventType.WINDOW_CLOSE
            and _order_key(latest) > _order_key(call)
        )

    def view(self, queue: str) -> QueueView:
        """Derive the picture of one queue from the tickets' own histories."""
        waiting: list[tuple[datetime, str]] = []
        services: list[Service] = []
        waits: list[tuple[datetime, float]] = []
        served = no_show = 0
        for record in self._by_queue.get(queue, {}).values():
            state = record.state
            if state is TicketState.WAITING:
                waiting.append((record.waiting_since, record.number))
            elif state is TicketState.SERVED:
                served += 1
            elif state is TicketState.NO_SHOW:
                no_show += 1
            services.extend(record.services)
            if record.wait is not None:
                waits.append(record.wait)
        waiting.sort()
        calling = [
            NowCalling(window=w, ticket=e.ticket or "", called_at=e.ts)
            for w, e in sorted(self._last_call.items())
            if e.queue == queue and not self._closed_since(queue, w, e)
        ]
        return QueueView(
            queue=queue,
            waiting=waiting,
            now_calling=calling,
            open_windows=self.open_windows(queue),
            served_today=served,
            no_show_today=no_show,
            services=sorted(services, key=lambda s: s.finished_at),
            waits=sorted(waits),
        )
