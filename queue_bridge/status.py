"""Projections of the board into the published shapes: queue status and "my ticket"."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from lobby.schema import EstimateAccuracy, QueueStatus, WaitEstimate
from queue_bridge.board import Board, QueueView, TicketState
from queue_bridge.estimate import WaitEstimator, queue_estimate


def queue_status(
    board: Board,
    estimator: WaitEstimator,
    queue: str,
    now: datetime,
    accuracy: EstimateAccuracy | None = None,
    view: QueueView | None = None,
) -> QueueStatus:
    view = view or board.view(queue)
    return QueueStatus(
        site=board.site.site,
        queue=queue,
        waiting=len(view.waiting),
        now_calling=view.now_calling,
        open_windows=view.open_windows,
        estimate=queue_estimate(estimator, board, view, now),
        accuracy_today=accuracy,
        served_today=view.served_today,
        updated_at=board.updated_at.get(queue) or board.last_event_at or now,
    )


class TicketInfo(BaseModel):
    """What a citizen holding a ticket wants to know. Numbers only: no personal data exists."""

    ticket: str
    queue: str
    state: TicketState
    ahead: int | None
    window: str | None
    estimate: WaitEstimate | None


def ticket_info(board: Board, estimator: WaitEstimator, ticket: str, now: datetime) -> TicketInfo | None:
    record = board.tickets.get(ticket)
    if record is None:
        return None
    state = record.state
    if state is not TicketState.WAITING:
        last_window = next((e.window for e in reversed(record.events) if e.window), None)
        return TicketInfo(
            ticket=ticket, queue=record.queue, state=state, ahead=0, window=last_window, estimate=None
        )
    view = board.view(record.queue)
    ahead = next(i for i, (_, number) in enumerate(view.waiting) if number == ticket)
    return TicketInfo(
        ticket=ticket,
        queue=record.queue,
        state=state,
        ahead=ahead,
        window=None,
        estimate=estimator.for_position(board, view, ahead, now),
    )
