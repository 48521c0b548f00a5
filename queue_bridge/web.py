"""HTTP shell: public page, JSON API, SSE stream and open data. Routes only translate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel

from lobby.schema import QueueStatus
from lobby.settings import Settings
from queue_bridge.bridge import Bridge
from queue_bridge.hub import Hub
from queue_bridge.i18n import lang_or_default
from queue_bridge.opendata import (
    CSV_FIELDS,
    LICENSE,
    queue_status_document,
    waiting_time_rows,
    waiting_times_csv,
)
from queue_bridge.page import normalize_ticket, render_page
from queue_bridge.site import Names
from queue_bridge.status import TicketInfo

LIVE_JS = resources.files("queue_bridge").joinpath("static/live.js").read_bytes()


class QueueSummary(BaseModel):
    id: str
    name: Names
    floor: int
    procedures: list[str]
    status: QueueStatus


class QueuesResponse(BaseModel):
    site: str
    site_name: Names
    queues: list[QueueSummary]


class Error(BaseModel):
    detail: str


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    bridge: Bridge, extra_lifespan: Lifespan | None = None, settings: Settings | None = None
) -> FastAPI:
    """The web app over a running bridge. `extra_lifespan` starts the other shells (MQTT, sim).
    With `settings` and a bridge that has a staff store, the staff dashboard is served too."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = Hub(asyncio.get_running_loop(), snapshot=lambda: [_frame(s) for s in bridge.statuses()])
        app.state.hub = hub

        def to_sse(statuses: list[QueueStatus]) -> None:
            for status in statuses:
                hub.publish_threadsafe("status", status.model_dump_json())

        bridge.add_listener(to_sse)
        if extra_lifespan is None:
            yield
        else:
            async with extra_lifespan(app):
                yield

    app = FastAPI(
        title="Lobby Guide queue bridge",
        version="1",
        description="Live counter-queue status of a city hall. Ticket numbers only, no personal data.",
        lifespan=lifespan,
        # The interactive docs pages load scripts from a CDN; on premises only the JSON is served.
        docs_url=None,
        redoc_url=None,
    )
    site = bridge.site
    csv_cache: dict[str, object] = {}

    def summary(status: QueueStatus) -> QueueSummary:
        q = site.queue(status.queue)
        assert q is not None
        return QueueSummary(id=q.id, name=q.name, floor=q.floor, procedures=q.procedures, status=status)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page(
        lang: str | None = None,
        ticket: Annotated[str | None, Query(max_length=16)] = None,
    ) -> HTMLResponse:
        chosen = lang_or_default(lang)
        number = normalize_ticket(ticket) if ticket else None
        info = bridge.ticket(number) if number else None
        html = render_page(site, bridge.statuses(), chosen, number, info)
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    @app.get("/static/live.js", include_in_schema=False)
    def live_js() -> Response:
        return Response(LIVE_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/v1/queues", response_model=QueuesResponse)
    def queues() -> QueuesResponse:
        return QueuesResponse(
            site=site.site, site_name=site.name, queues=[summary(s) for s in bridge.statuses()]
        )

    @app.get("/api/v1/queues/{queue_id}", response_model=QueueSummary, responses={404: {"model": Error}})
    def queue(queue_id: Annotated[str, Path(max_length=32)]) -> QueueSummary:
        status = bridge.status(queue_id)
        if status is None:
            raise HTTPException(404, f"unknown queue {queue_id!r}; see /api/v1/queues for the list")
        return summary(status)

    @app.get("/api/v1/tickets/{ticket}", response_model=TicketInfo, responses={404: {"model": Error}})
    def ticket_status(ticket: Annotated[str, Path(max_length=16)]) -> TicketInfo:
        info = bridge.ticket(ticket)
        if info is None:
            raise HTTPException(404, f"ticket {ticket!r} is not known today; check the number on your ticket")
        return info

    @app.get(
        "/api/v1/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "status events"}},
    )
    async def stream(request: Request) -> StreamingResponse:
        """Server-Sent Events: `status` events carrying a QueueStatus, first one per queue."""
        hub: Hub = request.app.state.hub
        return StreamingResponse(
            hub.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/opendata/", response_class=HTMLResponse, include_in_schema=False)
    def opendata_index() -> HTMLResponse:
        items = "".join(f"<li><code>{k}</code>: {v}</li>" for k, v in CSV_FIELDS.items())
        return HTMLResponse(
            f"<!doctype html><html lang='ja'><meta charset='utf-8'><title>オープンデータ</title>"
            f"<h1>オープンデータ / Open data</h1><p>ライセンス / Licence: {LICENSE}</p><ul>"
            f"<li><a href='/opendata/queue-status.json'>queue-status.json</a> 現在の状況 / now</li>"
            f"<li><a href='/opendata/waiting-times.csv'>waiting-times.csv</a> 15分ごとの実績 / per 15 min</li>"
            f"</ul><h2>waiting-times.csv</h2><ul>{items}</ul></html>"
        )

    @app.get("/opendata/queue-status.json")
    def opendata_status() -> JSONResponse:
        doc = queue_status_document(site, bridge.statuses(), datetime.now(UTC))
        return JSONResponse(doc, headers={"Access-Control-Allow-Origin": "*"})

    @app.get(
        "/opendata/waiting-times.csv",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8, CC BY 4.0"}},
    )
    def opendata_csv() -> PlainTextResponse:
        accepted = bridge.counters["accepted"]
        if csv_cache.get("accepted") != accepted:  # recompute only when new events arrived
            csv_cache.update(
                accepted=accepted, text=waiting_times_csv(waiting_time_rows(bridge.store.replay(), site))
            )
        return PlainTextResponse(
            str(csv_cache["text"]),
            media_type="text/csv; charset=utf-8",
            headers={
                "Access-Control-Allow-Origin": "*",
                "Link": '<https://creativecommons.org/licenses/by/4.0/>; rel="license"',
                "Content-Disposition": 'inline; filename="waiting-times.csv"',
            },
        )

    if settings is not None and bridge.staff is not None:
        from queue_bridge.staff_web import add_staff_routes

        add_staff_routes(app, bridge, settings)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        hub: Hub = app.state.hub
        return {"ok": True, **bridge.links, "counters": dict(bridge.counters), "sse_clients": hub.clients}

    return app


def _frame(status: QueueStatus) -> str:
    return f"event: status\ndata: {status.model_dump_json()}\n\n"
