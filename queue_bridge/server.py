"""Composition root: wires the bridge, its shells and (for the demo) broker and simulator."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import time

import uvicorn
from fastapi import FastAPI

from lobby.settings import Settings
from queue_bridge.bridge import Bridge
from queue_bridge.broker import EmbeddedBroker
from queue_bridge.mqtt_io import MqttBridge
from queue_bridge.sim_publish import SimPublisher
from queue_bridge.site import SiteConfig, load_site
from queue_bridge.staff_store import StaffStore
from queue_bridge.store import EventStore
from queue_bridge.web import create_app

log = logging.getLogger("lobby.server")


def build_app(
    settings: Settings, site: SiteConfig | None = None, simulate: bool = False, sim_start: time | None = None
) -> FastAPI:
    site = site or load_site(settings.site_file)
    bridge = Bridge(site, EventStore(settings.db_path), staff=StaffStore(settings.staff_db_path))
    bridge.recover()

    @asynccontextmanager
    async def shells(app: FastAPI) -> AsyncIterator[None]:
        broker = EmbeddedBroker(settings.mqtt_host, settings.mqtt_port) if settings.embedded_broker else None
        if broker:
            await broker.start()
        mqtt = MqttBridge(bridge, settings)
        mqtt.start()
        app.state.mqtt = mqtt
        poller_task = None
        if settings.pull_url:
            from queue_bridge.pull import poll_forever

            poller_task = asyncio.create_task(
                poll_forever(bridge, settings.pull_url, settings.pull_interval_s)
            )
        sim = SimPublisher(site, settings, start_at=sim_start) if simulate else None
        if sim:
            sim.start()
        try:
            yield
        finally:
            if sim:
                sim.stop()
            if poller_task:
                poller_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller_task  # a write in progress finishes before the store closes
            await asyncio.to_thread(mqtt.stop)
            if broker:
                await broker.stop()
            bridge.store.close()
            if bridge.staff is not None:
                bridge.staff.close()

    app = create_app(bridge, shells, settings)
    app.state.bridge = bridge
    return app


def serve(app: FastAPI, settings: Settings) -> None:
    """Run uvicorn in the foreground; Ctrl-C / SIGTERM stop it and every shell cleanly."""
    config = uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        log_level="warning",
        timeout_graceful_shutdown=3,
        backlog=8192,
    )
    # Everything allocated so far (modules, the recovered board) lives as long as the process;
    # freezing it keeps full garbage collections short, which were the SSE latency tail (bench/).
    gc.collect()
    gc.freeze()
    _QuietServer(config).run()


class _QuietServer(uvicorn.Server):
    """uvicorn re-raises Ctrl-C/SIGTERM after its graceful shutdown, which turns a clean stop into
    a KeyboardInterrupt in the middle of asyncio's clean-up. Everything has stopped by then (the
    lifespan closed every shell), so the signal is consumed and the command exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()
