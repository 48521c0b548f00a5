"""`lobby queue replay`: causal, deterministic, and strict about its input."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from lobby.cli import build_parser
from queue_bridge.replay import ESTIMATORS, events_csv, parse_events, predictions_csv, replay
from queue_bridge.sim import simulate_day
from queue_bridge.site import load_site

SITE = load_site()
DAY_CSV = events_csv(simulate_day(SITE, date(2026, 4, 1), seed=7))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lobby.cli", "queue", "replay", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_predictions_never_depend_on_later_rows(name: str) -> None:
    lines = DAY_CSV.splitlines(keepends=True)
    full = replay(parse_events(DAY_CSV, SITE), SITE, ESTIMATORS[name]())
    for k in (40, 200, 500):
        head = replay(parse_events("".join(lines[:k]), SITE), SITE, ESTIMATORS[name]())
        assert head and head == full[: len(head)]


def test_the_cli_is_deterministic_and_writes_one_row_per_issued_ticket(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_text(DAY_CSV, encoding="utf-8")
    outs = []
    for i in range(2):
        out = tmp_path / f"p{i}.csv"
        result = run(str(events), "--out", str(out))
        assert result.returncode == 0, result.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    rows = outs[0].decode().splitlines()
    assert rows[0] == "ticket,queue,issued_ts,predicted_wait_s,lower_s,upper_s"
    assert len(rows) - 1 == DAY_CSV.count(",issued,")
    for row in rows[1:]:
        _, _, _, point, lower, upper = row.split(",")
        assert 0 <= int(lower) <= int(point) <= int(upper)


def test_a_queue_with_no_history_gets_a_wide_but_sane_range() -> None:
    rows = [
        r for r in replay(parse_events(DAY_CSV, SITE), SITE, ESTIMATORS["queue_length"]()) if r.queue == "C"
    ]
    first = rows[0].estimate  # nobody ahead, no history: could be called at once, or after a service
    assert first.lower_s == first.point_s == 0 < first.upper_s <= 3600
    queued = next(r.estimate for r in rows if r.estimate.point_s > 0)  # first one with people ahead
    assert queued.lower_s < queued.point_s < queued.upper_s <= 4 * 3600
    assert queued.upper_s - queued.lower_s >= 0.5 * queued.point_s


GOOD_ROW = "2026-04-01T09:00:00+09:00,issued,A,A001,"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("when,event,queue,ticket,window\n" + GOOD_ROW, "line 1: header"),
        ("ts,event,queue,ticket,window\n2026-04-01T09:00:00,issued,A,A001,\n", "line 2: ts"),
        (
            "ts,event,queue,ticket,window\n" + GOOD_ROW + "\n2026-04-01T09:01:00+09:00,teleported,A,A001,\n",
            "line 3: unknown event",
        ),
        ("ts,event,queue,ticket,window\n2026-04-01T09:00:00+09:00,window_open,A,A001,W1\n", "line 2:"),
        ("ts,event,queue,ticket,window\n2026-04-01T09:00:00+09:00,issued,Z,Z001,\n", "line 2: unknown_queue"),
        (
            "ts,event,queue,ticket,window\n2026-04-01T09:00:00+09:00,issued,A,A001,W1\n",
            "line 2: an issued row has no window",
        ),
        (
            "ts,event,queue,ticket,window\n" + GOOD_ROW + "\n2026-04-01T08:00:00+09:00,issued,A,A002,\n",
            "line 3: rows must be in time order",
        ),
        ("ts,event,queue,ticket,window\n" + GOOD_ROW + ",extra\n", "line 2: expected 5 fields"),
    ],
)
def test_malformed_input_is_one_line_naming_the_line_and_writes_nothing(
    tmp_path: Path, text: str, fragment: str
) -> None:
    events = tmp_path / "events.csv"
    events.write_text(text, encoding="utf-8")
    out = tmp_path / "predictions.csv"
    result = run(str(events), "--out", str(out))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [events]


def test_cli_choices_match_the_estimators() -> None:
    parser = build_parser()
    args = parser.parse_args(["queue", "replay", "x.csv", "--out", "y.csv"])
    assert args.estimator == "simulation"  # the bridge's own
    for name in ESTIMATORS:
        assert (
            parser.parse_args(["queue", "replay", "x.csv", "--out", "y.csv", "--estimator", name]).estimator
            == name
        )


def test_predictions_csv_round_trips_the_header() -> None:
    assert predictions_csv([]).strip() == "ticket,queue,issued_ts,predicted_wait_s,lower_s,upper_s"
