"""Staff storage in SQLite (WAL): accounts, sessions, the audit log (logins, commands), robot events
and the examples staff taught the robot from its unanswered questions.

Only digests of session tokens are stored; passwords only as scrypt hashes (`auth`). Every method is
one short transaction under one lock, so HTTP handlers and the MQTT worker can share the store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lobby.schema import RobotCommand, RobotEvent
from queue_bridge.auth import LoginRecord, Role, Session, token_digest
from queue_bridge.store import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_digest TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    username   TEXT,
    action     TEXT NOT NULL,
    robot      TEXT,
    command_id TEXT UNIQUE,
    status     TEXT,
    detail     TEXT NOT NULL DEFAULT '',
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS robot_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    robot       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          TEXT NOT NULL,
    received_at TEXT NOT NULL,
    text        TEXT NOT NULL,
    lang        TEXT,
    procedure   TEXT,
    poi         TEXT,
    UNIQUE (robot, kind, at, text)
);
CREATE INDEX IF NOT EXISTS robot_events_kind ON robot_events(kind, seq);
CREATE TABLE IF NOT EXISTS taught_examples (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    text      TEXT NOT NULL,
    lang      TEXT,
    target    TEXT NOT NULL,
    taught_by TEXT NOT NULL,
    taught_at TEXT NOT NULL,
    UNIQUE (text, target)
);
"""

#: Robot event kinds kept for the dashboard (acknowledgements go to the audit log instead).
STORED_EVENT_KINDS = ("handoff", "unanswered", "fault", "alert", "escort", "conversation")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str
    login: LoginRecord


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    username: str | None
    action: str
    robot: str | None
    command_id: str | None
    status: str | None
    detail: str


@dataclass(frozen=True)
class StoredEvent:
    robot: str
    kind: str
    at: datetime
    text: str
    lang: str | None
    procedure: str | None
    poi: str | None
    seq: int = 0  # the store's number for it (stable: names the row's form controls)


@dataclass(frozen=True)
class TaughtExample:
    """What a visitor said and the intent staff say it meant (a procedure or facility id of the
    site, `handoff` or `clarify`), for the robot's examples classifier."""

    id: int
    text: str
    lang: str | None
    target: str
    taught_by: str
    taught_at: datetime


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class StaffStore:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db = open_sqlite(self.path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- users ----------------------------------------------------------------------------------
    def add_user(self, name: str, role: Role, password_hash: str, now: datetime) -> bool:
        """False if the name is taken."""
        try:
            self._exec(
                "INSERT INTO users(name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role.label, password_hash, _ts(now)),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def user(self, name: str) -> User | None:
        rows = self._all(
            "SELECT name, role, password_hash, failures, locked_until FROM users WHERE name = ?", (name,)
        )
        if not rows:
            return None
        n, role, pw, failures, locked = rows[0]
        return User(n, Role.parse(role), pw, LoginRecord(int(failures), _dt(locked)))

    def users(self) -> list[User]:
        names = [r[0] for r in self._all("SELECT name FROM users ORDER BY name")]
        return [u for u in (self.user(n) for n in names) if u is not None]

    def set_login_record(self, name: str, record: LoginRecord) -> None:
        locked = _ts(record.locked_until) if record.locked_until else None
        self._exec(
            "UPDATE users SET failures = ?, locked_until = ? WHERE name = ?", (record.failures, locked, name)
        )

    def set_password(self, name: str, password_hash: str) -> bool:
        """Also ends the user's sessions and any lock."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE users SET password_hash = ?, failures = 0, locked_until = NULL WHERE name = ?",
                (password_hash, name),
            )
            self._db.execute("DELETE FROM sessions WHERE username = ?", (name,))
            return cur.rowcount == 1

    def set_role(self, name: str, role: Role) -> bool:
        return self._exec("UPDATE users SET role = ? WHERE name = ?", (role.label, name)).rowcount == 1

    def delete_user(self, name: str) -> bool:
        return self._exec("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1

    # -- sessions -------------------------------------------------------------------------------
    def create_session(
        self, token: str, username: str, csrf: str, now: datetime, expires_at: datetime
    ) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (_ts(now),))
            self._db.execute(
                "INSERT INTO sessions(token_digest, username, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
                (token_digest(token), username, csrf, _ts(now), _ts(expires_at)),
            )

    def session(self, token: str) -> Session | None:
        """The session of a cookie's token with the user's current role (expiry is checked by the caller)."""
        rows = self._all(
            "SELECT s.username, u.role, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.name = s.username "
            "WHERE s.token_digest = ?",
            (token_digest(token),),
        )
        if not rows:
            return None
        name, role, csrf, expires = rows[0]
        return Session(name, Role.parse(role), csrf, datetime.fromisoformat(expires))

    def delete_session(self, token: str) -> None:
        self._exec("DELETE FROM sessions WHERE token_digest = ?", (token_digest(token),))

    # -- audit log --------------------------------------------------------------------------------
    def audit(
        self, now: datetime, username: str | None, action: str, detail: str = "", robot: str | None = None
    ) -> None:
        self._exec(
            "INSERT INTO audit(at, username, action, robot, detail) VALUES (?, ?, ?, ?, ?)",
            (_ts(now), username, action, robot, detail),
        )

    def command_recorded(self, command: RobotCommand, status: str, now: datetime, detail: str = "") -> None:
        """A command in the audit log (the whole command, signature excluded, as detail)."""
        body = command.model_dump(mode="json", exclude={"signature"})
        text = json.dumps(body, ensure_ascii=False, sort_keys=True) + (f" {detail}" if detail else "")
        self._exec(
            "INSERT INTO audit(at, username, action, robot, command_id, status, detail, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _ts(now),
                command.issued_by,
                f"command {command.command}",
                command.robot,
                command.id,
                status,
                text,
                _ts(now),
            ),
        )

    def set_command_status(self, command_id: str, robot: str, status: str, now: datetime) -> bool:
        """Mark a sent command acknowledged/refused. Only the robot it was sent to can answer it, and only once."""
        cur = self._exec(
            "UPDATE audit SET status = ?, updated_at = ? WHERE command_id = ? AND robot = ? AND status = 'sent'",
            (status, _ts(now), command_id, robot),
        )
        return cur.rowcount == 1

    def command_status(self, command_id: str) -> str | None:
        rows = self._all("SELECT status FROM audit WHERE command_id = ?", (command_id,))
        return str(rows[0][0]) if rows else None

    def pending_commands(self) -> dict[str, list[dict[str, str]]]:
        """Commands sent and not yet answered, by robot."""
        out: dict[str, list[dict[str, str]]] = {}
        for robot, cid, action, at in self._all(
            "SELECT robot, command_id, action, at FROM audit WHERE status = 'sent' ORDER BY seq"
        ):
            out.setdefault(robot, []).append(
                {"id": cid, "command": action.removeprefix("command "), "sent_at": at}
            )
        return out

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        rows = self._all(
            "SELECT seq, at, username, action, robot, command_id, status, detail FROM audit ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [
            AuditEntry(s, datetime.fromisoformat(at), u, a, r, c, st, d) for s, at, u, a, r, c, st, d in rows
        ]

    # -- robot events -----------------------------------------------------------------------------
    def add_event(self, event: RobotEvent, received_at: datetime) -> bool:
        """Store a hand-off, unanswered question, fault…; a redelivered duplicate is ignored."""
        if event.kind not in STORED_EVENT_KINDS:
            return False
        cur = self._exec(
            "INSERT OR IGNORE INTO robot_events(robot, kind, at, received_at, text, lang, procedure, poi) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.robot,
                event.kind,
                _ts(event.at),
                _ts(received_at),
                event.text,
                event.lang,
                event.procedure,
                event.poi,
            ),
        )
        return cur.rowcount == 1

    def events(self, kinds: tuple[str, ...], limit: int = 50) -> list[StoredEvent]:
        """Newest first (by the robot's time)."""
        marks = ",".join("?" for _ in kinds)
        rows = self._all(
            f"SELECT robot, kind, at, text, lang, procedure, poi, seq FROM robot_events WHERE kind IN ({marks}) "
            "ORDER BY at DESC, seq DESC LIMIT ?",
            (*kinds, limit),
        )
        return [
            StoredEvent(r, k, datetime.fromisoformat(at), t, la, pr, po, sq)
            for r, k, at, t, la, pr, po, sq in rows
        ]

    # -- examples taught by staff -----------------------------------------------------------------
    def add_example(self, text: str, lang: str | None, target: str, taught_by: str, now: datetime) -> bool:
        """False if the same text was taught for the same intent already (nothing is added)."""
        cur = self._exec(
            "INSERT OR IGNORE INTO taught_examples(text, lang, target, taught_by, taught_at) VALUES (?,?,?,?,?)",
            (text, lang, target, taught_by, _ts(now)),
        )
        return cur.rowcount == 1

    def examples(self) -> list[TaughtExample]:
        """Every taught example, newest first."""
        rows = self._all(
            "SELECT id, text, lang, target, taught_by, taught_at FROM taught_examples ORDER BY id DESC"
        )
        return [TaughtExample(i, t, la, tg, by, datetime.fromisoformat(at)) for i, t, la, tg, by, at in rows]

    def remove_example(self, example_id: int) -> TaughtExample | None:
        """The example removed, or None if there is none with this id."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, text, lang, target, taught_by, taught_at FROM taught_examples WHERE id = ?",
                (example_id,),
            ).fetchone()
            if row is None:
                return None
            self._db.execute("DELETE FROM taught_examples WHERE id = ?", (example_id,))
        i, t, la, tg, by, at = row
        return TaughtExample(i, t, la, tg, by, datetime.fromisoformat(at))
