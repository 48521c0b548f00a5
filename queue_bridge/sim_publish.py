"""Shell of the simulator: plays a simulated day's events over MQTT, as a ticket system would."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as dtime

from lobby.schema import QueueEvent, events_topic
from lobby.settings import Settings
from queue_bridge.mqtt_io import make_client
from queue_bridge.sim import simulate_day
from queue_bridge.site import SiteConfig

log = logging.getLogger("lobby.sim")


def play(
    events: list[QueueEvent],
    publish: Callable[[QueueEvent], None],
    speed: float,
    start: datetime | None = None,
    stop: threading.Event | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Publish events in time order; those before `start` at once, the rest `speed` times faster
    than real time. Returns how many were published."""
    stop = stop or threading.Event()
    wall0 = time.monotonic()
    sim0 = start or (events[0].ts if events else None)
    n = 0
    for e in events:
        if stop.is_set():
            break
        if sim0 is not None and e.ts > sim0:
            due = wall0 + (e.ts - sim0).total_seconds() / speed
            delay = due - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
        publish(e)
        n += 1
    return n


class SimPublisher:
    """Runs `play` in a thread with its own MQTT client."""

    def __init__(
        self, site: SiteConfig, settings: Settings, day: date | None = None, start_at: dtime | None = None
    ) -> None:
        self.site = site
        self.settings = settings
        self.day = day or datetime.now(site.tz).date()
        self.start_at = start_at
        run_id = f"sim-{uuid.uuid4().hex[:8]}"
        self.events = simulate_day(site, self.day, seed=settings.sim_seed, run_id=run_id)
        self.client = make_client(settings, run_id, persistent=False)
        self.connected = threading.Event()
        self.client.on_connect = lambda *_a: self.connected.set()
        self.stop_event = threading.Event()
        self.published = 0
        self._thread = threading.Thread(target=self._run, name="lobby-sim", daemon=True)

    def _publish(self, e: QueueEvent) -> None:
        self.client.publish(
            events_topic(self.site.site, e.queue), e.model_dump_json(exclude_none=True), qos=1
        )
        self.published += 1

    def _run(self) -> None:
        if not self.connected.wait(30):
            log.error(
                "simulator could not connect to MQTT %s:%s", self.settings.mqtt_host, self.settings.mqtt_port
            )
            return
        start = datetime.combine(self.day, self.start_at, tzinfo=self.site.tz) if self.start_at else None
        log.info("simulating %d events of %s at %gx", len(self.events), self.day, self.settings.sim_speed)
        play(self.events, self._publish, self.settings.sim_speed, start, self.stop_event)
        log.info("simulator finished: %d events published", self.published)

    def start(self) -> None:
        self.client.connect_async(self.settings.mqtt_host, self.settings.mqtt_port)
        self.client.loop_start()
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()

    def join(self) -> None:
        self._thread.join()
