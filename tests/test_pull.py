"""The pull adapter: snapshot differences become canonical events; a real HTTP server is polled."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lobby.schema import EventType, QueueEvent, QueueStatus
from queue_bridge.board import Board, check_against_site
from queue_bridge.bridge import Bridge
from queue_bridge.pull import (
    Derivation,
    PullState,
    Snapshot,
    SnapshotError,
    derive_events,
    parse_snapshot,
    poll_forever,
    resume_state,
    rounds_in_log,
    service_day,
    snapshot_time,
)
from queue_bridge.site import load_site
from queue_bridge.store import EventStore

SITE = load_site()
JST = ZoneInfo("Asia/Tokyo")
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=JST)


def snap(queues: dict[str, dict[str, Any]], ts: datetime | None = None) -> Snapshot:
    body: dict[str, Any] = {"queues": queues}
    if ts is not None:
        body["ts"] = ts.isoformat()
    return parse_snapshot(json.dumps(body))


def of_type(events: list[QueueEvent], type_: EventType) -> list[tuple[str | None, str | None]]:
    return [(e.ticket, e.window) for e in events if e.type is type_]


class Lobby:
    """A real bridge and event log, fed snapshot by snapshot through `derive_events`."""

    def __init__(self, db: Path, state: PullState | None = None) -> None:
        self.bridge = Bridge(SITE, EventStore(db))
        self.bridge.recover()
        self.state = state
        self.clock = T0
        self.accepted: list[QueueEvent] = []

    def feed(self, queues: dict[str, dict[str, Any]], minutes: float = 1) -> Derivation:
        self.clock += timedelta(minutes=minutes)
        derivation = derive_events(SITE, self.state, snap(queues), self.clock)
        assert all(check_against_site(e, SITE) is None for e in derivation.events)
        self.accepted = self.bridge.ingest(derivation.events)
        self.state = derivation.state
        return derivation

    def status(self, queue: str = "A") -> QueueStatus:
        status = self.bridge.status(queue)
        assert status is not None
        return status

    def calling(self, queue: str = "A") -> dict[str, str]:
        return {c.window: c.ticket for c in self.status(queue).now_calling}

    def close(self) -> None:
        self.bridge.store.close()


@pytest.fixture
def lobby(tmp_path: Path) -> Iterator[Lobby]:
    lobby = Lobby(tmp_path / "events.sqlite3")
    yield lobby
    lobby.close()


# -- the snapshot format ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"queues": []}',
        b'{"queues": {"A": {}}}',
        b'{"queues": {"A": {"waiting": "5"}}}',
        b'{"queues": {"A": {"waiting": true}}}',
        b'{"queues": {"A": {"waiting": 2.5}}}',
        b'{"queues": {"A": {"waiting": -1}}}',
        b'{"queues": {"A": {"waiting": 1, "now_calling": "ABC"}}}',
        b'{"queues": {"A": {"waiting": 1, "now_calling": "A 12"}}}',
        b'{"queues": {"A": {"waiting": 1, "open_windows": "2"}}}',
        b'{"queues": {"A": {"waiting": 1}}, "ts": "yesterday"}',
    ],
)
def test_malformed_snapshots_are_rejected_with_one_line(raw: bytes) -> None:
    with pytest.raises(SnapshotError) as info:
        parse_snapshot(raw)
    assert "\n" not in str(info.value)


def test_snapshot_time_reads_naive_time_in_site_zone_and_falls_back_to_poll_time() -> None:
    naive = parse_snapshot(b'{"queues": {}, "ts": "2026-04-01T09:30:00"}')
    assert snapshot_time(naive, SITE, T0) == datetime(2026, 4, 1, 9, 30, tzinfo=JST)
    aware = parse_snapshot(b'{"queues": {}, "ts": "2026-04-01T00:30:00Z"}')
    assert snapshot_time(aware, SITE, T0) == datetime(2026, 4, 1, 9, 30, tzinfo=JST)
    assert snapshot_time(parse_snapshot(b'{"queues": {}}'), SITE, T0) == T0


def test_extra_fields_from_the_calling_system_are_ignored() -> None:
    s = parse_snapshot(b'{"queues": {"A": {"waiting": 1, "name": "x"}}, "vendor": {"v": 2}}')
    assert s.queues["A"].waiting == 1


# -- derive_events ------------------------------------------------------------------------------
def test_first_snapshot_states_the_present_without_inventing_history(lobby: Lobby) -> None:
    d = lobby.feed({"A": {"now_calling": "A012", "waiting": 5, "open_windows": 2}})
    assert of_type(d.events, EventType.WINDOW_OPEN) == [(None, "W1"), (None, "W2")]
    assert of_type(d.events, EventType.ISSUED) == [(f"A0{n}", None) for n in range(13, 18)]
    assert of_type(d.events, EventType.CALLED) == [("A012", "W1")]
    assert len(d.events) == 8  # nothing about A001-A011, nothing served
    status = lobby.status()
    assert (status.waiting, status.open_windows, lobby.calling()) == (5, ["W1", "W2"], {"W1": "A012"})


def test_integer_numbers_get_the_queue_prefix_and_three_digits(lobby: Lobby) -> None:
    d = lobby.feed({"B": {"now_calling": 7, "waiting": 2, "open_windows": 1}})
    assert of_type(d.events, EventType.CALLED) == [("B007", "W3")]
    assert of_type(d.events, EventType.ISSUED) == [("B008", None), ("B009", None)]


def test_ticket_strings_set_prefix_and_padding(lobby: Lobby) -> None:
    d = lobby.feed({"C": {"now_calling": "2-0098", "waiting": 2, "open_windows": 1}})
    assert of_type(d.events, EventType.ISSUED) == [("2-0099", None), ("2-0100", None)]
    lobby.feed({"A": {"now_calling": "A999", "waiting": 2, "open_windows": 1}})
    assert lobby.bridge.ticket("A1001") is not None  # outgrew the padding, kept the prefix


def test_calls_advance_through_skipped_numbers_and_serve_what_the_window_had(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A012", "waiting": 5, "open_windows": 2}})
    d = lobby.feed({"A": {"now_calling": "A015", "waiting": 2, "open_windows": 2}})
    # A013 goes to the idle W2; then the window with the oldest call takes the next one.
    assert of_type(d.events, EventType.CALLED) == [("A013", "W2"), ("A014", "W1"), ("A015", "W2")]
    assert of_type(d.events, EventType.SERVED) == [("A012", "W1"), ("A013", "W2")]
    assert of_type(d.events, EventType.ISSUED) == []
    assert lobby.calling() == {"W1": "A014", "W2": "A015"}
    assert (lobby.status().waiting, lobby.status().served_today) == (2, 2)


def test_tickets_issued_meanwhile_are_issued_including_ones_already_called(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A012", "waiting": 5, "open_windows": 2}})  # last issued A017
    d = lobby.feed({"A": {"now_calling": "A019", "waiting": 3, "open_windows": 2}})  # last issued A022
    assert of_type(d.events, EventType.ISSUED) == [(f"A0{n}", None) for n in range(18, 23)]
    assert [t for t, _ in of_type(d.events, EventType.CALLED)] == [f"A0{n}" for n in range(13, 20)]
    assert lobby.status().waiting == 3
    info = lobby.bridge.ticket("A018")
    assert info is not None and info.state == "called"


def test_last_issued_places_the_waiting_tickets_when_nothing_is_called_yet(lobby: Lobby) -> None:
    d = lobby.feed({"A": {"now_calling": None, "waiting": 3, "last_issued": "A103", "open_windows": 1}})
    assert of_type(d.events, EventType.ISSUED) == [("A101", None), ("A102", None), ("A103", None)]
    assert of_type(d.events, EventType.CALLED) == []
    d = lobby.feed({"A": {"now_calling": "A101", "waiting": 2, "last_issued": "A103", "open_windows": 1}})
    assert of_type(d.events, EventType.CALLED) == [("A101", "W1")]


def test_windows_open_and_close_in_config_order(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A010", "waiting": 6, "open_windows": 1}})
    d = lobby.feed({"A": {"now_calling": "A012", "waiting": 4, "open_windows": 3}})
    assert of_type(d.events, EventType.WINDOW_OPEN) == [(None, "W2"), (None, "W3")]
    assert lobby.calling() == {"W1": "A010", "W2": "A011", "W3": "A012"}
    d = lobby.feed({"A": {"now_calling": "A012", "waiting": 4, "open_windows": 1}})
    assert of_type(d.events, EventType.WINDOW_CLOSE) == [(None, "W2"), (None, "W3")]
    # A closing window has finished with its ticket; calls now go to W1, the one left open.
    assert of_type(d.events, EventType.SERVED) == [("A011", "W2"), ("A012", "W3")]
    assert lobby.status().open_windows == ["W1"]
    d = lobby.feed({"A": {"now_calling": "A013", "waiting": 3, "open_windows": 1}})
    assert of_type(d.events, EventType.CALLED) == [("A013", "W1")]
    assert of_type(d.events, EventType.SERVED) == [("A010", "W1")]
    # After lunch W2 opens again: a new event, not a duplicate of the morning's.
    d = lobby.feed({"A": {"now_calling": "A013", "waiting": 3, "open_windows": 2}}, minutes=60)
    assert of_type(lobby.accepted, EventType.WINDOW_OPEN) == [(None, "W2")]
    assert lobby.status().open_windows == ["W1", "W2"]


def test_open_windows_left_out_keeps_window_state(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A001", "waiting": 1, "open_windows": 2}})
    d = lobby.feed({"A": {"now_calling": "A002", "waiting": 0}})
    assert of_type(d.events, EventType.WINDOW_CLOSE) == []
    assert lobby.status().open_windows == ["W1", "W2"]


def test_same_snapshot_again_derives_nothing(lobby: Lobby) -> None:
    queues = {"A": {"now_calling": "A012", "waiting": 5, "open_windows": 2}}
    lobby.feed(queues)
    before = lobby.status()
    for _ in range(3):
        assert lobby.feed(queues).events == []
    assert lobby.status() == before


def test_first_snapshot_derived_twice_gives_the_same_ids_and_the_store_drops_them(lobby: Lobby) -> None:
    s = snap({"A": {"now_calling": "A012", "waiting": 5, "open_windows": 2}}, T0)
    first = derive_events(SITE, None, s, T0)
    again = derive_events(SITE, None, s, T0)
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]
    assert len(lobby.bridge.ingest(first.events)) == 8
    assert lobby.bridge.ingest(again.events) == []
    assert lobby.bridge.store.count() == 8


def test_restart_resumes_from_the_board_so_calls_made_while_down_are_not_lost(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    before = Lobby(db)
    before.feed({"A": {"now_calling": "A010", "waiting": 5, "open_windows": 2}})  # A011-A015 wait
    before.close()
    # While the adapter is down A011-A013 are called and A016, A017 issued.
    after = Lobby(db)
    after.clock = before.clock
    after.state = resume_state(after.bridge, "pull", service_day(SITE, after.clock + timedelta(minutes=5)))
    d = after.feed({"A": {"now_calling": "A013", "waiting": 4, "open_windows": 2}}, minutes=5)
    assert [t for t, _ in of_type(d.events, EventType.CALLED)] == ["A011", "A012", "A013"]
    assert of_type(d.events, EventType.ISSUED) == [("A016", None), ("A017", None)]
    assert of_type(d.events, EventType.WINDOW_OPEN) == []
    assert after.status().waiting == 4  # no ghost "waiting" A011, A012
    after.close()


def test_restart_without_a_baseline_only_repeats_known_ids(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"
    before = Lobby(db)
    queues = {"A": {"now_calling": "A010", "waiting": 5, "open_windows": 2}}
    before.feed(queues)
    before.close()
    after = Lobby(db)
    d = after.feed(queues, minutes=2)
    tickets = [e for e in d.events if e.ticket is not None]
    assert len(tickets) == 6 and not [e for e in after.accepted if e.ticket is not None]
    assert after.status().waiting == 5
    after.close()


def test_counter_reset_on_the_same_day_ends_the_old_numbering(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A003", "waiting": 2, "open_windows": 1}})  # staff testing
    d = lobby.feed({"A": {"now_calling": None, "waiting": 2, "open_windows": 1}})  # reset, 2 issued
    assert of_type(d.events, EventType.NO_SHOW) == [("A004", None), ("A005", None)]
    assert of_type(d.events, EventType.SERVED) == [("A003", "W1")]
    assert of_type(d.events, EventType.ISSUED) == [("A001", None), ("A002", None)]
    assert all("-r1-" in e.event_id for e in d.events if e.type is EventType.ISSUED)
    assert d.state.rounds == {"A": 1}
    assert lobby.status().waiting == 2  # the reissued A001 and A002, nothing of the old round
    d = lobby.feed({"A": {"now_calling": "A001", "waiting": 1, "open_windows": 1}})
    assert of_type(d.events, EventType.CALLED) == [("A001", "W1")]
    assert lobby.calling() == {"W1": "A001"}
    # A restart later today finds the round in the log, so new ids do not collide with round 0's.
    assert rounds_in_log(lobby.bridge.store.replay(), "pull", T0.date()) == {"A": 1}


def test_a_new_day_starts_afresh(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A120", "waiting": 9, "open_windows": 3}})
    d = lobby.feed({"A": {"now_calling": "A002", "waiting": 1, "open_windows": 1}}, minutes=24 * 60)
    assert of_type(d.events, EventType.NO_SHOW) == []  # yesterday's board is simply not today's
    assert of_type(d.events, EventType.WINDOW_OPEN) == [(None, "W1")]
    assert d.state.rounds == {} and d.state.day == (T0 + timedelta(days=1)).date()
    status = lobby.status()
    assert (status.waiting, status.open_windows, lobby.calling()) == (1, ["W1"], {"W1": "A002"})


def test_unknown_queues_and_impossible_window_counts_are_reported(lobby: Lobby) -> None:
    d = lobby.feed({"Z": {"waiting": 3}, "C": {"now_calling": 1, "waiting": 0, "open_windows": 4}})
    assert d.problems == [
        "queue 'Z' is not in the site config: ignored",
        "queue 'C': 4 open windows but only 1 configured",
    ]
    assert all(e.queue == "C" for e in d.events)
    assert lobby.status("C").open_windows == ["W5"]


def test_an_absurd_jump_is_ignored_not_turned_into_thousands_of_events(lobby: Lobby) -> None:
    lobby.feed({"A": {"now_calling": "A001", "waiting": 0, "open_windows": 1}})
    d = lobby.feed({"A": {"now_calling": 90000, "waiting": 0, "open_windows": 1}})
    assert d.events == [] and "more than" in d.problems[0]
    assert lobby.calling() == {"W1": "A001"}


@dataclass
class _Truth:
    called: int = 0
    issued: int = 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 8), st.integers(0, 3)), min_size=1, max_size=25))
def test_the_board_follows_any_consistent_sequence_of_snapshots(steps: list[tuple[int, int, int]]) -> None:
    board, state, truth = Board(SITE), None, _Truth()
    called_at: dict[str, str] = {}  # ticket -> window of its latest call
    for i, (new, calls, open_) in enumerate(steps):
        truth.issued += new
        truth.called = min(truth.issued, truth.called + calls)
        now_calling = truth.called or None
        entry = {"now_calling": now_calling, "waiting": truth.issued - truth.called, "open_windows": open_}
        derivation = derive_events(SITE, state, snap({"A": entry}), T0 + timedelta(minutes=i))
        assert all(check_against_site(e, SITE) is None for e in derivation.events)
        board.apply_all(derivation.events)
        state = derivation.state
        view = board.view("A")
        assert len(view.waiting) == truth.issued - truth.called
        assert len(view.open_windows) == open_
        for e in derivation.events:
            if e.type in (EventType.CALLED, EventType.RECALLED) and e.window:
                called_at[e.ticket or ""] = e.window
        if truth.called:
            ticket = f"A{truth.called:03d}"
            # A call at a window that has closed since is not shown (the display is dark);
            # at an open window the latest call is the snapshot's now_calling.
            if called_at[ticket] in view.open_windows:
                assert max(view.now_calling, key=lambda c: c.called_at).ticket == ticket
        ids = [e.event_id for e in derivation.events]
        assert len(ids) == len(set(ids))


# -- poll_forever against a real HTTP server --------------------------------------------------------
class SnapshotServer:
    """A calling system's status endpoint on 127.0.0.1: answers whatever `reply` says."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b'{"queues": {}}'
        self.hits = 0
        self.hold = threading.Event()  # set: requests wait for `release` (a hung calling system)
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                if owner.hold.is_set():
                    owner.release.wait(10)
                status, body = owner.status, owner.body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/status.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def reply(self, body: bytes | dict[str, Any], status: int = 200) -> None:
        self.body = json.dumps(body).encode() if isinstance(body, dict) else body
        self.status = status

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def calling_system() -> Iterator[SnapshotServer]:
    server = SnapshotServer()
    server.thread.start()
    yield server
    server.close()


async def wait_for(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def a_status(bridge: Bridge) -> tuple[int, list[str], dict[str, str]]:
    status = bridge.status("A")
    assert status is not None
    return status.waiting, status.open_windows, {c.window: c.ticket for c in status.now_calling}


def errors_reach(bridge: Bridge, target: int) -> bool:
    return bridge.counters["pull_errors"] >= target


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


def test_poll_forever_follows_the_snapshots_and_survives_bad_answers(
    calling_system: SnapshotServer, tmp_path: Path
) -> None:
    bridge = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))

    async def scenario() -> None:
        calling_system.reply({"queues": {"A": {"now_calling": "A012", "waiting": 5, "open_windows": 2}}})
        task = asyncio.create_task(poll_forever(bridge, calling_system.url, 0.05))
        await wait_for(lambda: a_status(bridge) == (5, ["W1", "W2"], {"W1": "A012"}), "first snapshot")
        assert bridge.links["pull"] is True

        calling_system.reply({"queues": {"A": {"now_calling": "A014", "waiting": 4, "open_windows": 3}}})
        expected = (4, ["W1", "W2", "W3"], {"W1": "A012", "W2": "A013", "W3": "A014"})
        await wait_for(lambda: a_status(bridge) == expected, "second snapshot")

        # The same answer polled again and again adds nothing.
        stored, hits = bridge.store.count(), calling_system.hits
        await wait_for(lambda: calling_system.hits >= hits + 3, "three more polls")
        assert bridge.store.count() == stored

        bad_answers: list[tuple[bytes | dict[str, Any], int]] = [
            (b"Internal Server Error", 500),
            (b"<html>maintenance</html>", 200),
            ({"queues": {"A": {"now_calling": "A015", "waiting": "four"}}}, 200),
            ({"queues": {"A": {"now_calling": True, "waiting": 4}}}, 200),
        ]
        for body, status in bad_answers:
            target = bridge.counters["pull_errors"] + 2
            calling_system.reply(body, status)
            await wait_for(partial(errors_reach, bridge, target), f"errors for {body!r}")
            assert bridge.links["pull"] is False
            assert a_status(bridge) == expected and bridge.store.count() == stored

        # Back to good answers: the diff is taken against the last good snapshot.
        calling_system.reply({"queues": {"A": {"now_calling": "A015", "waiting": 4, "open_windows": 3}}})
        # The link is marked up after the ingest thread returns, a moment after the status changes.
        await wait_for(lambda: a_status(bridge)[2].get("W1") == "A015" and bridge.links["pull"], "recovery")
        assert a_status(bridge)[0] == 4
        await stop(task)

    asyncio.run(scenario())
    bridge.store.close()


def test_a_hung_calling_system_times_out_and_is_counted(
    calling_system: SnapshotServer, tmp_path: Path
) -> None:
    bridge = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))
    calling_system.hold.set()

    async def scenario() -> None:
        task = asyncio.create_task(poll_forever(bridge, calling_system.url, 0.05, timeout_s=0.2))
        await wait_for(lambda: bridge.counters["pull_errors"] >= 1, "a timeout")
        assert bridge.links["pull"] is False and bridge.store.count() == 0
        await stop(task)

    asyncio.run(scenario())
    bridge.store.close()


def test_an_unreachable_calling_system_is_counted(tmp_path: Path) -> None:
    from tests.support import free_port

    bridge = Bridge(SITE, EventStore(tmp_path / "events.sqlite3"))

    async def scenario() -> None:
        url = f"http://127.0.0.1:{free_port()}/status.json"
        task = asyncio.create_task(poll_forever(bridge, url, 0.05))
        await wait_for(lambda: bridge.counters["pull_errors"] >= 2, "connection errors")
        assert bridge.links["pull"] is False
        await stop(task)

    asyncio.run(scenario())
    bridge.store.close()


def _event_counts(store: EventStore) -> Counter[tuple[str | None, str]]:
    return Counter((e.ticket, e.type.value) for e in store.replay() if e.ticket is not None)


def test_a_restarted_adapter_counts_nothing_twice(calling_system: SnapshotServer, tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite3"

    async def run_until(bridge: Bridge, expected: tuple[int, list[str], dict[str, str]]) -> None:
        task = asyncio.create_task(poll_forever(bridge, calling_system.url, 0.05))
        await wait_for(lambda: a_status(bridge) == expected, f"status {expected}")
        await stop(task)

    first = Bridge(SITE, EventStore(db))
    calling_system.reply({"queues": {"A": {"now_calling": "A010", "waiting": 5, "open_windows": 2}}})
    asyncio.run(run_until(first, (5, ["W1", "W2"], {"W1": "A010"})))
    first.store.close()

    # Down for a while: A011-A013 called, A016-A017 issued. Then the bridge process restarts.
    calling_system.reply({"queues": {"A": {"now_calling": "A013", "waiting": 4, "open_windows": 2}}})
    second = Bridge(SITE, EventStore(db))
    second.recover()
    asyncio.run(run_until(second, (4, ["W1", "W2"], {"W1": "A012", "W2": "A013"})))
    counts = _event_counts(second.store)
    assert max(counts.values()) == 1, counts
    assert {t for t, kind in counts if kind == "called"} == {"A010", "A011", "A012", "A013"}
    assert {t for t, kind in counts if kind == "issued"} == {f"A0{n}" for n in range(11, 18)}
    second.store.close()
