"""The bridge: one place where validated events become durable, then live state, then outputs.

Adapters (MQTT, HTTP pull, tests) call `ingest_raw` / `ingest`; outputs (MQTT status, SSE, API)
register as listeners or read through `status` / `ticket`. The bridge owns the only lock on the
board, so every reader sees a consistent picture.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lobby.schema import (
    EventType,
    PayloadError,
    QueueEvent,
    QueueStatus,
    RobotEvent,
    RobotState,
    RobotTelemetry,
    parse_event,
    parse_payload,
)
from queue_bridge import fleet
from queue_bridge.accuracy import AccuracyTracker, Prediction
from queue_bridge.board import Board, QueueView, check_against_site
from queue_bridge.estimate import WaitEstimator
from queue_bridge.forecast import SimulationEstimator
from queue_bridge.site import SiteConfig
from queue_bridge.staff_store import StaffStore
from queue_bridge.status import TicketInfo, queue_status, ticket_info
from queue_bridge.store import EventStore

log = logging.getLogger("lobby.bridge")

StatusListener = Callable[[list[QueueStatus]], None]


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str


class Bridge:
    def __init__(
        self,
        site: SiteConfig,
        store: EventStore,
        estimator: WaitEstimator | None = None,
        staff: StaffStore | None = None,
    ) -> None:
        self.site = site
        self.store = store
        #: Staff accounts, audit log and robot events; None when the fleet dashboard is not served.
        self.staff = staff
        #: Every robot heard from: state, telemetry and events applied (`fleet`).
        self.fleet = fleet.Fleet()
        self.estimator: WaitEstimator = estimator or SimulationEstimator()
        self.board = Board(site)
        self.counters: Counter[str] = Counter()
        #: Health of each input/output link, set by the shells (e.g. {"mqtt": True}).
        self.links: dict[str, bool] = {}
        self._lock = threading.RLock()
        self._listeners: list[StatusListener] = []
        # Statuses depend only on the board (and its clock, the latest event), so they are computed
        # once per change and shared by every reader: API requests, new SSE clients, MQTT.
        self._version = 0
        self._memo: tuple[int, list[QueueStatus]] | None = None
        # Estimates shown at issue time today, and the accuracy they turned out to have.
        self._accuracy = AccuracyTracker()

    # -- start-up -------------------------------------------------------------------------
    def recover(self) -> int:
        """Rebuild the board from the log's latest service day. Returns events replayed."""
        latest = self.store.latest_ts()
        since = None
        if latest is not None:
            local = latest.astimezone(self.site.tz)
            since = local.replace(hour=0, minute=0, second=0, microsecond=0)
        n = 0
        with self._lock:
            for event in self.store.replay(since):
                self.board.apply(event)
                n += 1
            if self.board.day is not None:
                self._accuracy.start_day(self.board.day)
                self._accuracy.add(self.store.predictions(self.board.day))
                self._accuracy.rescore(self.board, self.board.tickets)
            self._version += 1
        log.info("recovered %d events from %s", n, self.store.path)
        return n

    def add_listener(self, listener: StatusListener) -> None:
        self._listeners.append(listener)

    # -- ingestion ------------------------------------------------------------------------
    def validate(self, topic_queue: str | None, raw: bytes | str) -> QueueEvent | Rejected:
        """Parse one raw payload and check it against the site; count and log what is rejected."""
        try:
            event = parse_event(raw)
        except PayloadError as exc:
            return self._reject("invalid_payload", str(exc))
        reason = check_against_site(event, self.site, topic_queue)
        if reason is not None:
            return self._reject(reason.value, f"event {event.event_id}: {reason.value}")
        return event

    def _reject(self, reason: str, detail: str) -> Rejected:
        self.counters[f"rejected_{reason}"] += 1
        log.warning("rejected message: %s", detail)
        return Rejected(reason, detail)

    def ingest(self, events: Sequence[QueueEvent]) -> list[QueueEvent]:
        """Make a batch durable, then apply it; returns the newly accepted events.

        The store commits before the board changes, so anything visible has been logged.
        """
        accepted = self.store.append(events)
        self.counters["accepted"] += len(accepted)
        self.counters["duplicates"] += len(events) - len(accepted)
        if not accepted:
            return accepted
        with self._lock:
            changed = self.board.apply_all(accepted)
            self._accuracy.start_day(self.board.day)
            # One view per changed queue and batch: a view walks the queue's whole day.
            views = {q: self.board.view(q) for q in sorted(changed) if self.site.queue(q)}
            self._record_predictions(accepted, views)
            self._version += 1
            statuses = [self._status(q, view) for q, view in views.items()]
        for listener in self._listeners:
            try:
                listener(statuses)
            except Exception:  # an output failing must not stop ingestion
                log.exception("status listener failed")
        return accepted

    def _record_predictions(self, accepted: Sequence[QueueEvent], views: dict[str, QueueView]) -> None:
        """Keep the estimate each newly issued ticket was shown, to measure it once it is called."""
        issued: dict[str, list[QueueEvent]] = {}
        for e in accepted:
            if e.type is EventType.ISSUED and self.board.day == self.board.service_day(e.ts):
                issued.setdefault(e.queue, []).append(e)
        made: list[Prediction] = []
        for queue, events in issued.items():
            view = views[queue]
            ahead = {ticket: i for i, (_, ticket) in enumerate(view.waiting)}
            for e in events:
                if e.ticket not in ahead or self.board.day is None:
                    continue  # already called within the same batch
                estimate = self.estimator.for_position(self.board, view, ahead[e.ticket], self.now())
                if estimate is not None:
                    made.append(Prediction.of(self.board.day, e.ticket, queue, e.ts, estimate))
        self.store.save_predictions(made)
        self._accuracy.add(made)
        self._accuracy.rescore(self.board, {e.ticket for e in accepted if e.ticket})

    # -- robots ---------------------------------------------------------------------------
    def ingest_robot(
        self, kind: str, topic_robot: str, raw: bytes, retained: bool = False, now: datetime | None = None
    ) -> bool:
        """One robot message (`state`, `telemetry` or `events`). A payload that fails validation or
        names another robot than its topic is counted and logged, and changes nothing."""
        now = now or datetime.now(UTC)
        try:
            if kind == "state":
                state = parse_payload(RobotState, raw)
                self._check_robot(state.robot, topic_robot)
                self.fleet.update(state.robot, lambda v: fleet.apply_state(v, state, now, retained))
            elif kind == "telemetry":
                tel = parse_payload(RobotTelemetry, raw)
                self._check_robot(tel.robot, topic_robot)
                self.fleet.update(tel.robot, lambda v: fleet.apply_telemetry(v, tel, now))
            elif kind == "events":
                ev = parse_payload(RobotEvent, raw)
                self._check_robot(ev.robot, topic_robot)
                self._robot_event(ev, now)
            else:
                raise PayloadError(f"unknown robot topic kind {kind!r}")
        except PayloadError as exc:
            self.counters["rejected_robot_payload"] += 1
            log.warning("rejected robot message on %s/%s: %s", topic_robot, kind, exc)
            return False
        self.counters["robot_messages"] += 1
        return True

    @staticmethod
    def _check_robot(payload_robot: str, topic_robot: str) -> None:
        if payload_robot != topic_robot:
            raise PayloadError(f"robot {payload_robot!r} in the payload but {topic_robot!r} in the topic")

    def _robot_event(self, ev: RobotEvent, now: datetime) -> None:
        if ev.kind == "command_ack" and (ev.command_id is None or ev.accepted is None):
            raise PayloadError("command_ack needs command_id and accepted")
        self.fleet.update(ev.robot, lambda v: fleet.apply_event(v, ev, now))
        if self.staff is None:
            return
        if ev.kind == "command_ack":
            assert ev.command_id is not None
            status = "acknowledged" if ev.accepted else "refused"
            if not self.staff.set_command_status(ev.command_id, ev.robot, status, now):
                log.warning(
                    "acknowledgement of unknown or answered command %s from %s", ev.command_id, ev.robot
                )
            else:
                log.info("command %s %s by %s", ev.command_id, status, ev.robot)
        else:
            self.staff.add_event(ev, now)

    # -- reading --------------------------------------------------------------------------
    def now(self) -> datetime:
        """The bridge's clock: the latest event time, so a simulated day at any speed reads right."""
        return self.board.last_event_at or datetime.now(UTC)

    def _status(self, queue: str, view: QueueView | None = None) -> QueueStatus:
        return queue_status(self.board, self.estimator, queue, self.now(), self._accuracy.get(queue), view)

    def status(self, queue: str) -> QueueStatus | None:
        if self.site.queue(queue) is None:
            return None
        with self._lock:
            return self._status(queue)

    def statuses(self) -> list[QueueStatus]:
        with self._lock:
            memo = self._memo
            # An empty board's clock is the wall clock, so its statuses are not cached.
            if memo is None or memo[0] != self._version or self.board.last_event_at is None:
                memo = self._memo = (self._version, [self._status(q.id) for q in self.site.queues])
            return list(memo[1])

    def ticket(self, number: str) -> TicketInfo | None:
        with self._lock:
            return ticket_info(self.board, self.estimator, number, self.now())
