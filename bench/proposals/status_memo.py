"""Proposal: memoise `Bridge.statuses()` until the board changes.

A queue status is a function of the board and the bridge clock (`board.last_event_at`), and both
change only when events are applied. Today every `GET /api/v1/queues` and every new SSE client
recomputes the statuses of all queues, and each one walks every ticket of the day (`Board.view`).
With the memo, one computation per ingested batch serves all readers. Mirrors the bridge.py diff
in docs/benchmarks.md (there the version is bumped in `Bridge.ingest` / `Bridge.recover`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lobby.schema import QueueEvent, QueueStatus
from queue_bridge.board import Board
from queue_bridge.bridge import Bridge

_apply = Board.apply
_apply_all = Board.apply_all


def _bump(board: Board) -> None:
    board.__dict__["_bench_version"] = board.__dict__.get("_bench_version", 0) + 1


def apply(self: Board, event: QueueEvent) -> set[str]:
    _bump(self)
    return _apply(self, event)


def apply_all(self: Board, events: Iterable[QueueEvent]) -> set[str]:
    _bump(self)
    return _apply_all(self, events)


def statuses(self: Bridge) -> list[QueueStatus]:
    with self._lock:
        version = self.board.__dict__.get("_bench_version", 0)
        memo: Any = self.__dict__.get("_bench_memo")
        if memo is None or memo[0] != version or self.board.last_event_at is None:
            memo = (version, [self._status(q.id) for q in self.site.queues])
            self.__dict__["_bench_memo"] = memo
        return list(memo[1])


Board.apply = apply  # type: ignore[method-assign]
Board.apply_all = apply_all  # type: ignore[method-assign]
Bridge.statuses = statuses  # type: ignore[method-assign]
