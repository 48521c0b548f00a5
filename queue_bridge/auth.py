"""Staff authentication rules as plain functions: password hashing, lockout, sessions, roles, CSRF.

No storage and no HTTP here (those are `staff_store` and `staff_web`), so every rule is testable with
data alone. Passwords are hashed with scrypt (stdlib) and a random salt per password; session and CSRF
tokens are random and only their SHA-256 is stored, so a copy of the database opens no session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

# scrypt cost: N=2**15, r=8, p=1 uses 32 MiB and ~60-100 ms here; stored with each hash, so it can grow.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,31}$")


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}; use viewer, operator or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


def allows(role: Role, needed: Role) -> bool:
    return role >= needed


# -- passwords ----------------------------------------------------------------------------------


def password_problem(username: str, password: str) -> str | None:
    """Why a new password is not acceptable (one line), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password or not password.strip():
        return "the password must not start or end with spaces"
    if username and username.lower() in password.lower():
        return "the password must not contain the user name"
    return None


def username_problem(username: str) -> str | None:
    if not USERNAME.match(username):
        return "a user name is 2-32 characters: lower-case letters, digits, '_', '.', '-'"
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """`scrypt$N$r$p$salt$hash` (base64), with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=_SCRYPT_MAXMEM, dklen=32
    )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True only if `password` hashes to `stored`; a malformed stored hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


#: Verified against when the user does not exist, so that an unknown name takes as long as a known one.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


# -- lockout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginRecord:
    """An account's failed-login state."""

    failures: int = 0
    locked_until: datetime | None = None


def is_locked(record: LoginRecord, now: datetime) -> bool:
    return record.locked_until is not None and now < record.locked_until


def after_failure(record: LoginRecord, now: datetime, policy: LockoutPolicy) -> LoginRecord:
    """One more wrong password. The N-th in a row locks the account; a lock that has run out starts
    the count again."""
    failures = record.failures
    if record.locked_until is not None and now >= record.locked_until:
        failures = 0
    failures += 1
    if failures >= policy.max_failures:
        return LoginRecord(failures, now + policy.lock_for)
    return LoginRecord(failures, record.locked_until if is_locked(record, now) else None)


def after_success() -> LoginRecord:
    return LoginRecord()


# -- sessions and CSRF ----------------------------------------------------------------------------


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored for a session token: its SHA-256 (the token itself is only in the cookie)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    username: str
    role: Role
    csrf: str
    expires_at: datetime


def session_valid(session: Session | None, now: datetime) -> bool:
    return session is not None and now < session.expires_at


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; missing or empty tokens never match."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def same_origin(origin: str | None, host: str | None, scheme: str) -> bool:
    """A browser's `Origin` header, when present, must be this server (a missing one is allowed: CSRF
    tokens still apply)."""
    if origin is None:
        return True
    return host is not None and origin in (f"{scheme}://{host}", f"https://{host}")
