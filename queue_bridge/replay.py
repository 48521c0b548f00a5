"""Offline evaluation: replay an events CSV causally through the board and any estimator.

Input CSV (header `ts,event,queue,ticket,window`, rows in time order) → one prediction per
`issued` row, made from the rows up to and including it. The estimator sees a board that holds
only those rows, so a prediction can never use the future.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from lobby.schema import EventType, QueueEvent, WaitEstimate
from queue_bridge.baselines import HeadOfLine, LastToEnterService, QueueLengthOverRate
from queue_bridge.board import Board, check_against_site
from queue_bridge.estimate import QueueLengthEstimator, WaitEstimator
from queue_bridge.forecast import SimulationEstimator
from queue_bridge.site import SiteConfig

INPUT_HEADER = ["ts", "event", "queue", "ticket", "window"]
OUTPUT_HEADER = ["ticket", "queue", "issued_ts", "predicted_wait_s", "lower_s", "upper_s"]
REPLAY_EVENTS = {t.value for t in EventType} - {EventType.TRANSFERRED.value}
#: When an estimator has no answer (no window open), the row still gets an honest, very wide range.
FALLBACK = WaitEstimate(point_s=1800, lower_s=0, upper_s=4 * 3600, method="fallback_no_open_window")


#: Estimators the replay can run, by name (the bridge's own first, then the classic baselines).
ESTIMATORS: dict[str, Callable[[], WaitEstimator]] = {
    "simulation": SimulationEstimator,
    "queue_length": QueueLengthEstimator,
    "les": LastToEnterService,
    "hol": HeadOfLine,
    "ql": QueueLengthOverRate,
}


class ReplayError(ValueError):
    """Bad input, with the line it is on: printed as one line by the CLI."""


@dataclass(frozen=True)
class PredictionRow:
    ticket: str
    queue: str
    issued_ts: datetime
    estimate: WaitEstimate


def parse_events(text: str, site: SiteConfig) -> list[QueueEvent]:
    """Parse and check the whole CSV before anything is replayed or written."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != INPUT_HEADER:
        raise ReplayError(f"line 1: header must be {','.join(INPUT_HEADER)}, got {','.join(header or [])!r}")
    events: list[QueueEvent] = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        event = _parse_row(line, row, site)
        if events and event.ts < events[-1].ts:
            raise ReplayError(
                f"line {line}: rows must be in time order ({event.ts} is before the previous row)"
            )
        events.append(event)
    return events


def _parse_row(line: int, row: list[str], site: SiteConfig) -> QueueEvent:
    if len(row) != len(INPUT_HEADER):
        raise ReplayError(f"line {line}: expected {len(INPUT_HEADER)} fields, got {len(row)}")
    ts, kind, queue, ticket, window = (cell.strip() for cell in row)
    if kind not in REPLAY_EVENTS:
        raise ReplayError(
            f"line {line}: unknown event {kind!r}; expected one of {', '.join(sorted(REPLAY_EVENTS))}"
        )
    try:
        stamp = datetime.fromisoformat(ts)
    except ValueError:
        raise ReplayError(f"line {line}: ts {ts!r} is not an ISO 8601 time") from None
    if stamp.utcoffset() is None:
        raise ReplayError(f"line {line}: ts {ts!r} has no UTC offset (e.g. +09:00)")
    if kind == EventType.ISSUED and window:
        raise ReplayError(f"line {line}: an issued row has no window")
    try:
        event = QueueEvent(
            event_id=f"line-{line}",
            type=EventType(kind),
            ticket=ticket or None,
            queue=queue,
            window=window or None,
            ts=stamp,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "row"
        raise ReplayError(f"line {line}: {where}: {first['msg']}") from None
    reason = check_against_site(event, site)
    if reason is not None:
        raise ReplayError(f"line {line}: {reason.value} ({queue}/{window or '-'}) for site {site.site!r}")
    return event


def replay(events: Iterable[QueueEvent], site: SiteConfig, estimator: WaitEstimator) -> list[PredictionRow]:
    """For every issued event, the estimate made right after applying it: causal by construction."""
    board = Board(site)
    rows: list[PredictionRow] = []
    for event in events:
        board.apply(event)
        if event.type is not EventType.ISSUED or event.ticket is None:
            continue
        view = board.view(event.queue)
        ahead = next((i for i, (_, t) in enumerate(view.waiting) if t == event.ticket), len(view.waiting))
        estimate = estimator.for_position(board, view, ahead, event.ts) or FALLBACK
        rows.append(PredictionRow(event.ticket, event.queue, event.ts, estimate))
    return rows


def realized_waits(events: Iterable[QueueEvent], site: SiteConfig) -> dict[tuple[str, str], float]:
    """(issue time ISO, ticket) → seconds from issue to first call, for tickets that were called."""
    issued: dict[tuple[str, str], datetime] = {}
    waits: dict[tuple[str, str], float] = {}
    board = Board(site)
    for e in events:
        if e.ticket is None:
            continue
        day = board.service_day(e.ts).isoformat()
        if e.type is EventType.ISSUED:
            issued[(day, e.ticket)] = e.ts
        elif e.type is EventType.CALLED and (day, e.ticket) in issued and (day, e.ticket) not in waits:
            waits[(day, e.ticket)] = (e.ts - issued[(day, e.ticket)]).total_seconds()
    return {(issued[k].isoformat(), k[1]): w for k, w in waits.items()}


def events_csv(events: Iterable[QueueEvent]) -> str:
    """Events in the replay's input format (the inverse of `parse_events`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INPUT_HEADER)
    for e in events:
        if e.type is EventType.TRANSFERRED:
            continue  # not part of the replay format
        writer.writerow([e.ts.isoformat(), e.type.value, e.queue, e.ticket or "", e.window or ""])
    return out.getvalue()


def predictions_csv(rows: Iterable[PredictionRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    for r in rows:
        e = r.estimate
        writer.writerow(
            [r.ticket, r.queue, r.issued_ts.isoformat(), round(e.point_s), round(e.lower_s), round(e.upper_s)]
        )
    return out.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file in the same directory, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
