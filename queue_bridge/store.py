"""The durable event log: SQLite in WAL mode, one transaction per batch.

An event is *accepted* once its batch has committed; only then is it acknowledged to the broker
and applied to the board. `event_id` is the primary key, so a redelivered or duplicated event is
ignored by the database itself, even across restarts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from lobby.schema import QueueEvent
from queue_bridge.accuracy import Prediction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id  TEXT NOT NULL UNIQUE,
    ts        TEXT NOT NULL,
    queue     TEXT NOT NULL,
    payload   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS predictions (
    day       TEXT NOT NULL,
    ticket    TEXT NOT NULL,
    queue     TEXT NOT NULL,
    issued_ts TEXT NOT NULL,
    point_s   REAL NOT NULL,
    lower_s   REAL NOT NULL,
    upper_s   REAL NOT NULL,
    PRIMARY KEY (day, ticket)
);
"""


def open_sqlite(path: str, schema: str) -> sqlite3.Connection:
    """A connection shared by threads (callers lock), in autocommit mode, WAL, with `schema` applied.
    The directory is created; ":memory:" is left as it is."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed write survives power loss, not only a process kill.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    return db


class EventStore:
    """Append-only event log. Thread-safe: one connection guarded by a lock."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db = open_sqlite(self.path, _SCHEMA)
        self._lock = threading.Lock()

    def append(self, events: Sequence[QueueEvent]) -> list[QueueEvent]:
        """Store a batch atomically; return the events that were new (duplicates are dropped)."""
        if not events:
            return []
        accepted: list[QueueEvent] = []
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for e in events:
                    cur.execute(
                        "INSERT OR IGNORE INTO events(event_id, ts, queue, payload) VALUES (?, ?, ?, ?)",
                        (e.event_id, _utc_text(e.ts), e.queue, e.model_dump_json()),
                    )
                    if cur.rowcount == 1:
                        accepted.append(e)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return accepted

    def replay(self, since: datetime | None = None) -> Iterator[QueueEvent]:
        """Every stored event (optionally from `since`), in the order they were accepted."""
        with self._lock:
            if since is None:
                rows = self._db.execute("SELECT payload FROM events ORDER BY seq").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT payload FROM events WHERE ts >= ? ORDER BY seq", (_utc_text(since),)
                ).fetchall()
        for (payload,) in rows:
            yield QueueEvent.model_validate_json(payload)

    def save_predictions(self, predictions: Sequence[Prediction]) -> None:
        """Record the estimates shown at issue time; the first one recorded for a ticket stays."""
        rows = [
            (p.day.isoformat(), p.ticket, p.queue, _utc_text(p.issued_at), p.point_s, p.lower_s, p.upper_s)
            for p in predictions
        ]
        if not rows:
            return
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")  # one transaction (one fsync), not one per row
            try:
                cur.executemany("INSERT OR IGNORE INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def predictions(self, day: date) -> list[Prediction]:
        with self._lock:
            rows = self._db.execute(
                "SELECT ticket, queue, issued_ts, point_s, lower_s, upper_s FROM predictions WHERE day = ?",
                (day.isoformat(),),
            ).fetchall()
        return [Prediction(day, t, q, datetime.fromisoformat(ts), p, lo, hi) for t, q, ts, p, lo, hi in rows]

    def latest_ts(self) -> datetime | None:
        """The time of the latest stored event (by event time, not arrival)."""
        with self._lock:
            (ts,) = self._db.execute("SELECT MAX(ts) FROM events").fetchone()
        return datetime.fromisoformat(ts) if ts else None

    def count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _utc_text(ts: datetime) -> str:
    # Stored in UTC so that text order is time order.
    return ts.astimezone(UTC).isoformat()
