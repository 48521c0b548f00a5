"""Staff authentication rules as data: hashing, lockout, sessions, roles, CSRF, password policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queue_bridge.auth import (
    LockoutPolicy,
    LoginRecord,
    Role,
    Session,
    after_failure,
    after_success,
    allows,
    csrf_ok,
    hash_password,
    is_locked,
    password_problem,
    same_origin,
    session_valid,
    token_digest,
    username_problem,
    verify_password,
)
from queue_bridge.staff_store import StaffStore

T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
FAST = 2**10  # a cheap scrypt cost for tests of the format; the default is checked once


def test_hash_verifies_only_the_right_password_and_is_salted() -> None:
    h = hash_password("correct horse battery")
    assert h.startswith("scrypt$32768$8$1$")
    assert verify_password("correct horse battery", h)
    assert not verify_password("correct horse batterY", h)
    assert hash_password("correct horse battery", n=FAST) != hash_password("correct horse battery", n=FAST)
    assert "correct" not in h


@pytest.mark.parametrize(
    "stored", ["", "plain", "md5$x$y$z$a$b", "scrypt$x$8$1$AAAA$AAAA", "scrypt$1024$8$1$!!$??"]
)
def test_malformed_stored_hashes_never_match(stored: str) -> None:
    assert not verify_password("anything at all", stored)


def test_lockout_after_n_failures_for_m_minutes_then_counting_restarts() -> None:
    policy = LockoutPolicy(max_failures=3, lock_for=timedelta(minutes=15))
    rec = LoginRecord()
    for n in range(1, 3):
        rec = after_failure(rec, T0, policy)
        assert rec.failures == n and not is_locked(rec, T0)
    rec = after_failure(rec, T0, policy)
    assert is_locked(rec, T0 + timedelta(minutes=14, seconds=59))
    assert not is_locked(rec, T0 + timedelta(minutes=15))
    # After the lock has run out, one more wrong password does not lock again at once.
    later = after_failure(rec, T0 + timedelta(minutes=16), policy)
    assert later.failures == 1 and not is_locked(later, T0 + timedelta(minutes=16))


def test_a_success_resets_the_count() -> None:
    policy = LockoutPolicy(max_failures=3)
    rec = after_failure(after_failure(LoginRecord(), T0, policy), T0, policy)
    rec = after_success()
    assert not is_locked(after_failure(after_failure(rec, T0, policy), T0, policy), T0)


def test_roles_are_ordered() -> None:
    assert allows(Role.ADMIN, Role.OPERATOR) and allows(Role.OPERATOR, Role.OPERATOR)
    assert not allows(Role.VIEWER, Role.OPERATOR) and not allows(Role.OPERATOR, Role.ADMIN)
    assert Role.parse("Operator") is Role.OPERATOR
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("root")


def test_sessions_expire() -> None:
    s = Session("ann", Role.VIEWER, "c", T0 + timedelta(hours=8))
    assert session_valid(s, T0)
    assert not session_valid(s, T0 + timedelta(hours=8))
    assert not session_valid(None, T0)


def test_csrf_and_origin_checks() -> None:
    assert csrf_ok("abc", "abc")
    assert (
        not csrf_ok("abc", "abd")
        and not csrf_ok("abc", None)
        and not csrf_ok("", "")
        and not csrf_ok(None, "x")
    )
    assert same_origin(None, "127.0.0.1:8000", "http")
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000", "http")
    assert not same_origin("http://evil.example", "127.0.0.1:8000", "http")


def test_password_and_name_rules() -> None:
    assert password_problem("ann", "short") is not None
    assert password_problem("annette", "my annette password") is not None
    assert password_problem("ann", " leading space pw") is not None
    assert password_problem("ann", "a good long passphrase") is None
    assert username_problem("ann") is None
    assert username_problem("Ann") is not None and username_problem("a") is not None
    assert username_problem("x'; drop") is not None


def test_store_keeps_only_token_digests_and_roles_follow_the_user() -> None:
    store = StaffStore(":memory:")
    assert store.add_user("ann", Role.OPERATOR, hash_password("a good long passphrase", n=FAST), T0)
    assert not store.add_user("ann", Role.VIEWER, "x", T0)
    store.create_session("tok", "ann", "csrf", T0, T0 + timedelta(hours=1))
    rows = store._all("SELECT token_digest FROM sessions")
    assert rows == [(token_digest("tok"),)]
    session = store.session("tok")
    assert session is not None and session.role is Role.OPERATOR
    store.set_role("ann", Role.VIEWER)
    session = store.session("tok")
    assert session is not None and session.role is Role.VIEWER  # a demotion takes effect at once
    store.set_password("ann", hash_password("another long passphrase", n=FAST))
    assert store.session("tok") is None  # a new password ends every session
    assert store.session("other") is None
