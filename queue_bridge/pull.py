"""Pull adapter: poll a calling system's status snapshot over HTTP and derive canonical events.

Some calling systems (呼出しシステム) cannot publish events; they only expose what the lobby display
shows. This module turns the difference between two such snapshots into the same `QueueEvent`s an
MQTT publisher would send, so both kinds of system feed the same bridge core.

Snapshot format: `GET {pull_url}` answers 200 with a UTF-8 JSON object::

    {
      "ts": "2026-04-01T09:30:00+09:00",
      "queues": {
        "A": {"now_calling": "A012", "waiting": 5, "open_windows": 2},
        "B": {"now_calling": 7, "waiting": 0, "open_windows": 1, "last_issued": 7},
        "C": {"now_calling": null, "waiting": 3}
      }
    }

- `queues` maps the site's queue ids (as in the site YAML) to their state. Queues the site does not
  know are ignored and reported in the log; queues left out keep their last known state.
- `now_calling`: the ticket most recently called in that queue: a string such as `"A012"` (letters,
  digits and `-`, ending in digits, at most 16 characters), a non-negative integer, or `null` when
  nothing has been called yet in the current numbering. Integers become the queue id followed by
  the number padded to 3 digits (`7` in queue B is `"B007"`); other numbers of the queue are written
  like the latest ticket string seen (same prefix, same zero padding).
- `waiting`: tickets issued and not yet called (integer).
- `open_windows` (optional): how many windows are open for the queue. The site's windows serving
  the queue are taken as open in config order (2 means the first two). Left out: window state is
  not touched.
- `last_issued` (optional, string or integer): the latest ticket issued. Without it, it is taken to
  be `now_calling + waiting`; send it when numbering does not start at 1 or tickets are cancelled.
- `ts` (optional): when the snapshot was taken, ISO 8601; without an offset it is read in the
  site's time zone. Without `ts`, the time of the poll is used.
- Other fields are ignored, so a system may add names, colours and the like.

Derivation, queue by queue (all events of one poll carry that poll's time):

- The first snapshot of a day only states the present: it opens the first `open_windows` windows,
  issues the `waiting` tickets after `now_calling` and calls `now_calling` at an open window. No
  earlier history is invented.
- Later snapshots: tickets above the previous last issued number are issued; every number from the
  previous `now_calling` up to the new one is called (one that never showed on the display was still
  called), each at the window that has been serving longest (idle windows first), and the ticket
  that window was serving counts as served. A window that closes has served its ticket.
- Counter reset: when the numbers go down on the same service day (the system was reset, or it
  wrapped around), the old numbering ends: its waiting tickets become `no_show`, the tickets at the
  windows are served, and the snapshot starts a new *round*, read like a first snapshot. A new
  service day needs nothing of the sort: the board starts afresh on the first event of a new day.

Event ids are `{source}-{yyyymmdd}-r{round}-{hash}`, the hash taken over the queue, the ticket (or
window), the event type and, for window events, the snapshot time. The same ticket event therefore
always gets the same id, and the store drops it when it is derived again: after a restart the
adapter starts from the bridge's recovered board and the rounds found in today's log, and derives
only what changed while it was down.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from lobby.schema import EventType, QueueEvent, QueueStatus
from queue_bridge.bridge import Bridge
from queue_bridge.site import SiteConfig

log = logging.getLogger("lobby.pull")

DEFAULT_SOURCE = "pull"
#: Far above any real snapshot; a bigger answer is a misconfigured URL, not a queue.
MAX_SNAPSHOT_BYTES = 1_000_000
#: Tickets a queue may move in one poll; more means bad data, not a busy lobby.
MAX_TICKETS_PER_POLL = 1000
DEFAULT_DIGITS = 3

_TICKET = re.compile(r"^[A-Za-z0-9\-]{1,16}$")
_SOURCE = re.compile(r"^[A-Za-z0-9]{1,16}$")
_PREFIX_AND_NUMBER = re.compile(r"^(.*?)(\d+)$")

Count = Annotated[int, Field(strict=True, ge=0, le=99_999)]
TicketString = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-]{0,15}[0-9]$")]
TicketValue = TicketString | Count


# -- the snapshot format ----------------------------------------------------------------------
class QueueSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    now_calling: TicketValue | None = None
    waiting: Count
    open_windows: Count | None = None
    last_issued: TicketValue | None = None


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    queues: dict[str, QueueSnapshot]
    ts: datetime | None = None


class SnapshotError(ValueError):
    """A snapshot that cannot be used: the message says why, in one line."""


def parse_snapshot(raw: bytes | str) -> Snapshot:
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise SnapshotError(f"snapshot too large: {len(raw)} bytes")
    try:
        return Snapshot.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "snapshot"
        raise SnapshotError(f"{where}: {first['msg']}") from None


def snapshot_time(snapshot: Snapshot, site: SiteConfig, polled_at: datetime) -> datetime:
    """When the snapshot was taken: its own `ts` (local time if naive), else the poll time."""
    if snapshot.ts is None:
        return polled_at
    if snapshot.ts.tzinfo is None:
        return snapshot.ts.replace(tzinfo=site.tz)
    return snapshot.ts


def service_day(site: SiteConfig, ts: datetime) -> date:
    return ts.astimezone(site.tz).date()


# -- ticket numbers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TicketFormat:
    """How a queue writes its numbers: `A` + 3 digits gives A012."""

    prefix: str
    digits: int

    def render(self, number: int) -> str:
        return f"{self.prefix}{number:0{self.digits}d}"


def default_format(queue: str) -> TicketFormat:
    # Queue ids may contain "_", ticket numbers may not.
    return TicketFormat(queue.replace("_", "-"), DEFAULT_DIGITS)


def parse_ticket(ticket: str, known: TicketFormat) -> tuple[TicketFormat, int] | None:
    """Split "A012" into its format and number; None if it does not end in digits."""
    match = _PREFIX_AND_NUMBER.match(ticket)
    if match is None:
        return None
    prefix, digits = match.groups()
    width = len(digits)
    # Unpadded digits may just have outgrown the padding (A1000 after A999): keep the known width.
    if not digits.startswith("0") and prefix == known.prefix:
        width = min(width, known.digits)
    return TicketFormat(prefix, width), int(digits)


# -- state kept between polls -----------------------------------------------------------------
@dataclass(frozen=True)
class QueueState:
    """What the adapter has told the bridge about one queue."""

    fmt: TicketFormat
    #: Numbers up to `done` are called (or predate what we know); numbers above it are waiting.
    done: int
    #: The highest number issued.
    issued: int
    #: Open windows, in config order.
    open: tuple[str, ...] = ()
    #: (window, ticket) of calls not yet finished, the oldest call first.
    serving: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PullState:
    day: date
    queues: Mapping[str, QueueState] = field(default_factory=dict)
    #: Numbering rounds started today per queue (0 until a counter reset).
    rounds: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Derivation:
    events: list[QueueEvent]
    state: PullState
    #: Parts of the snapshot that were ignored, one line each, for the log.
    problems: list[str]


@dataclass(frozen=True)
class _Reading:
    """One queue of a snapshot, in numbers."""

    fmt: TicketFormat
    calling: int | None
    done: int
    issued: int
    open: tuple[str, ...] | None


# -- event ids --------------------------------------------------------------------------------
def event_id(source_id: str, day: date, round_: int, key: Sequence[str]) -> str:
    digest = hashlib.sha256("\x1f".join((source_id, day.isoformat(), str(round_), *key)).encode())
    return f"{source_id}-{day:%Y%m%d}-r{round_}-{digest.hexdigest()[:24]}"


def rounds_in_log(events: Iterable[QueueEvent], source_id: str, day: date) -> dict[str, int]:
    """The latest numbering round of each queue among this source's events of `day`."""
    prefix = f"{source_id}-{day:%Y%m%d}-r"
    rounds: dict[str, int] = {}
    for e in events:
        if not e.event_id.startswith(prefix):
            continue
        round_text = e.event_id[len(prefix) :].split("-", 1)[0]
        if round_text.isdigit():
            rounds[e.queue] = max(rounds.get(e.queue, 0), int(round_text))
    return rounds


@dataclass
class _Emitter:
    """Collects the events of one poll."""

    source_id: str
    day: date
    ts: datetime
    events: list[QueueEvent] = field(default_factory=list)

    def ticket(self, type_: EventType, queue: str, round_: int, ticket: str, window: str | None) -> None:
        self._add(type_, queue, (queue, ticket, type_.value), round_, ticket=ticket, window=window)

    def window(self, type_: EventType, queue: str, round_: int, window: str) -> None:
        # A window opens and closes many times a day, so its events are keyed by time as well;
        # deriving one again later only re-states the same open/closed state.
        key = (queue, window, type_.value, self.ts.isoformat())
        self._add(type_, queue, key, round_, ticket=None, window=window)

    def _add(
        self,
        type_: EventType,
        queue: str,
        key: Sequence[str],
        round_: int,
        ticket: str | None,
        window: str | None,
    ) -> None:
        # One microsecond apart: the board orders by time, and a window's second call in a poll
        # must come after its first.
        ts = self.ts + timedelta(microseconds=len(self.events))
        self.events.append(
            QueueEvent(
                event_id=event_id(self.source_id, self.day, round_, key),
                type=type_,
                ticket=ticket,
                queue=queue,
                window=window,
                ts=ts,
            )
        )


# -- the functional core ----------------------------------------------------------------------
def derive_events(
    site: SiteConfig,
    previous: PullState | None,
    snapshot: Snapshot,
    ts: datetime,
    source_id: str = DEFAULT_SOURCE,
) -> Derivation:
    """The events that lead from `previous` to `snapshot`, and the state after them."""
    if not _SOURCE.match(source_id):
        raise ValueError(f"source id must be 1-16 letters or digits, not {source_id!r}")
    day = service_day(site, ts)
    if previous is None or previous.day != day:
        previous = PullState(day)  # a new day: yesterday's numbers mean nothing to today's board
    emit = _Emitter(source_id, day, ts)
    queues, rounds = dict(previous.queues), dict(previous.rounds)
    known = {q.id for q in site.queues}
    problems = [
        f"queue {q!r} is not in the site config: ignored" for q in sorted(set(snapshot.queues) - known)
    ]
    for queue in site.queues:
        entry = snapshot.queues.get(queue.id)
        if entry is None:
            continue  # left out of this snapshot: keep what we know
        before = queues.get(queue.id)
        reading = _read(site, queue.id, entry, before, problems)
        if reading is None:
            continue
        open_before = before.open if before else ()
        if before is not None and reading.done < before.done:
            _end_round(emit, queue.id, rounds.get(queue.id, 0), before)
            rounds[queue.id] = rounds.get(queue.id, 0) + 1
            before = None
        round_ = rounds.get(queue.id, 0)
        queues[queue.id] = _advance(emit, site, queue.id, round_, before, open_before, reading)
    return Derivation(emit.events, PullState(day, queues, rounds), problems)


def _read(
    site: SiteConfig, queue: str, entry: QueueSnapshot, before: QueueState | None, problems: list[str]
) -> _Reading | None:
    """Numbers of one queue's entry; None (with a problem noted) if it cannot be used."""
    fmt = before.fmt if before else default_format(queue)
    fmt, calling = _number(entry.now_calling, fmt)
    fmt, last = _number(entry.last_issued, fmt)
    issued = last if last is not None else (calling or 0) + entry.waiting
    done = calling if calling is not None else max(0, issued - entry.waiting)
    issued = max(issued, done)
    if not _TICKET.match(fmt.render(issued)):
        problems.append(f"queue {queue!r}: cannot write ticket numbers as {fmt.render(issued)!r}: ignored")
        return None
    if not site.windows_of(queue):
        problems.append(f"queue {queue!r}: no window serves it in the site config: ignored")
        return None
    continues = before is not None and done >= before.done
    new_tickets = issued - before.issued if before is not None and continues else issued - done
    new_calls = done - before.done if before is not None and continues else 1
    if max(new_tickets, new_calls) > MAX_TICKETS_PER_POLL:
        problems.append(f"queue {queue!r}: more than {MAX_TICKETS_PER_POLL} tickets in one poll: ignored")
        return None
    open_ = None if entry.open_windows is None else _open_windows(site, queue, entry.open_windows, problems)
    return _Reading(fmt, calling, done, issued, open_)


def _number(value: str | int | None, fmt: TicketFormat) -> tuple[TicketFormat, int | None]:
    if value is None:
        return fmt, None
    if isinstance(value, int):
        return fmt, value
    parsed = parse_ticket(value, fmt)
    assert parsed is not None  # the snapshot model only admits strings that end in digits
    return parsed


def _open_windows(site: SiteConfig, queue: str, count: int, problems: list[str]) -> tuple[str, ...]:
    windows = [w.id for w in site.windows_of(queue)]
    if count > len(windows):
        problems.append(f"queue {queue!r}: {count} open windows but only {len(windows)} configured")
    return tuple(windows[:count])


def _end_round(emit: _Emitter, queue: str, round_: int, before: QueueState) -> None:
    """Close the old numbering: tickets at windows are served, waiting ones did not show."""
    for window, ticket in before.serving:
        emit.ticket(EventType.SERVED, queue, round_, ticket, window)
    for number in range(before.done + 1, before.issued + 1):
        emit.ticket(EventType.NO_SHOW, queue, round_, before.fmt.render(number), None)


def _advance(
    emit: _Emitter,
    site: SiteConfig,
    queue: str,
    round_: int,
    before: QueueState | None,
    open_before: tuple[str, ...],
    reading: _Reading,
) -> QueueState:
    serving = list(before.serving) if before else []
    open_now = reading.open if reading.open is not None else open_before
    _switch_windows(emit, queue, round_, open_before, open_now, serving)
    candidates = list(open_now) or [w.id for w in site.windows_of(queue)]
    fmt = reading.fmt
    if before is None:  # first sight of this numbering: state the present only
        issued_from, done = reading.done, reading.done
        calls = [reading.calling] if reading.calling is not None else []
    else:
        issued_from, done = before.issued, max(before.done, reading.done)
        calls = list(range(before.done + 1, reading.done + 1))
    issued = max(issued_from, reading.issued)
    for number in range(issued_from + 1, issued + 1):
        emit.ticket(EventType.ISSUED, queue, round_, fmt.render(number), None)
    for number in calls:
        _call(emit, queue, round_, fmt.render(number), serving, candidates)
    return QueueState(fmt, done, issued, open_now, tuple(serving))


def _switch_windows(
    emit: _Emitter,
    queue: str,
    round_: int,
    before: tuple[str, ...],
    after: tuple[str, ...],
    serving: list[tuple[str, str]],
) -> None:
    for window in after:
        if window not in before:
            emit.window(EventType.WINDOW_OPEN, queue, round_, window)
    for window in before:
        if window not in after:
            _finish(emit, queue, round_, window, serving)
            emit.window(EventType.WINDOW_CLOSE, queue, round_, window)


def _call(
    emit: _Emitter,
    queue: str,
    round_: int,
    ticket: str,
    serving: list[tuple[str, str]],
    candidates: list[str],
) -> None:
    busy = [w for w, _ in serving]
    idle = [w for w in candidates if w not in busy]
    # Idle windows first; otherwise the window whose call is oldest is the likeliest to be free.
    window = idle[0] if idle else next(w for w in busy if w in candidates)
    _finish(emit, queue, round_, window, serving)
    emit.ticket(EventType.CALLED, queue, round_, ticket, window)
    serving.append((window, ticket))


def _finish(emit: _Emitter, queue: str, round_: int, window: str, serving: list[tuple[str, str]]) -> None:
    for entry in [s for s in serving if s[0] == window]:
        emit.ticket(EventType.SERVED, queue, round_, entry[1], window)
        serving.remove(entry)


# -- resuming after a restart -----------------------------------------------------------------
def baseline(
    site: SiteConfig, statuses: Iterable[QueueStatus], day: date, rounds: Mapping[str, int]
) -> PullState:
    """The state to diff the first snapshot against: what the bridge's board already shows today.

    Starting from the board rather than from nothing means that tickets called while the adapter
    was down are called now, instead of staying "waiting" for the rest of the day.
    """
    queues: dict[str, QueueState] = {}
    for status in statuses:
        if service_day(site, status.updated_at) != day or not status.now_calling:
            continue  # nothing called today: the first snapshot will state this queue afresh
        calls = sorted(status.now_calling, key=lambda c: c.called_at)
        parsed = parse_ticket(calls[-1].ticket, default_format(status.queue))
        if parsed is None:
            continue
        fmt, number = parsed
        open_ = tuple(w.id for w in site.windows_of(status.queue) if w.id in status.open_windows)
        serving = tuple((c.window, c.ticket) for c in calls)
        queues[status.queue] = QueueState(fmt, number, number + status.waiting, open_, serving)
    return PullState(day, queues, dict(rounds))


def resume_state(bridge: Bridge, source_id: str, day: date) -> PullState:
    """Blocking: read the bridge's board and today's log into a baseline."""
    since = datetime.combine(day, time.min, tzinfo=bridge.site.tz)
    rounds = rounds_in_log(bridge.store.replay(since), source_id, day)
    return baseline(bridge.site, bridge.statuses(), day, rounds)


# -- the shell --------------------------------------------------------------------------------
async def fetch_snapshot(client: httpx.AsyncClient, url: str) -> Snapshot:
    response = await client.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    return parse_snapshot(response.content)


class SnapshotPoller:
    """One pull source: the state between polls, and what one poll does with the bridge."""

    def __init__(self, bridge: Bridge, source_id: str = DEFAULT_SOURCE) -> None:
        self.bridge = bridge
        self.source_id = source_id
        self.state: PullState | None = None
        self._problems: list[str] = []

    async def poll_once(self, client: httpx.AsyncClient, url: str) -> bool:
        """Fetch, derive, ingest. On any failure the state stays as it was and False is returned."""
        try:
            snapshot = await fetch_snapshot(client, url)
        except (httpx.HTTPError, SnapshotError) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        site = self.bridge.site
        ts = snapshot_time(snapshot, site, datetime.now(UTC))
        try:
            previous = self.state
            if previous is None:
                previous = await asyncio.to_thread(
                    resume_state, self.bridge, self.source_id, service_day(site, ts)
                )
            derivation = derive_events(site, previous, snapshot, ts, self.source_id)
            await asyncio.to_thread(self.bridge.ingest, derivation.events)
        except sqlite3.Error as exc:
            return self._failed(f"event log: {exc}")
        except Exception:  # a bug here must not end polling for the rest of the day
            log.exception("pull: cannot derive or store events")
            return self._failed("internal error (traceback above)")
        self.state = derivation.state
        self._report(derivation.problems)
        self.bridge.links["pull"] = True
        return True

    def _failed(self, reason: str) -> bool:
        log.warning("pull failed: %s", reason)
        self.bridge.counters["pull_errors"] += 1
        self.bridge.links["pull"] = False
        return False

    def _report(self, problems: list[str]) -> None:
        # The same snapshot arrives every few seconds: log its problems when they change, not each time.
        if problems != self._problems:
            for problem in problems:
                log.warning("pull snapshot: %s", problem)
            self._problems = problems


async def poll_forever(
    bridge: Bridge,
    url: str,
    interval_s: float,
    *,
    source_id: str = DEFAULT_SOURCE,
    timeout_s: float | None = None,
) -> None:
    """Poll `url` every `interval_s` seconds until cancelled; failures are counted, never raised."""
    if not _SOURCE.match(source_id):
        raise ValueError(f"source id must be 1-16 letters or digits, not {source_id!r}")
    poller = SnapshotPoller(bridge, source_id)
    bridge.links["pull"] = False
    timeout = timeout_s if timeout_s is not None else min(max(interval_s, 1.0), 10.0)
    loop = asyncio.get_running_loop()
    log.info("pull adapter: polling every %.1f s", interval_s)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
        while True:
            started = loop.time()
            await poller.poll_once(client, url)
            await asyncio.sleep(max(0.0, interval_s - (loop.time() - started)))
