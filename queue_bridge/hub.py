"""Fan-out of status changes to Server-Sent-Event clients, built for thousands of connections.

One broadcast: each message is serialised once into an SSE frame and kept in a short ring buffer
with a sequence number; every client awaits one shared `asyncio.Event` and then sends the frames it
has not seen. A client that falls further behind than the buffer gets a fresh full snapshot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable

RING = 256
KEEPALIVE_S = 15.0


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop, snapshot: Callable[[], list[str]]) -> None:
        self._loop = loop
        self._snapshot = snapshot  # frames that bring a new or lagging client up to date
        self._frames: deque[tuple[int, str]] = deque(maxlen=RING)
        self._seq = 0
        self._wakeup = asyncio.Event()
        self.clients = 0

    def publish_threadsafe(self, event: str, data: str) -> None:
        """Called from any thread (the ingest worker)."""
        self._loop.call_soon_threadsafe(self.publish, event, data)

    def publish(self, event: str, data: str) -> None:
        self._seq += 1
        self._frames.append((self._seq, f"id: {self._seq}\nevent: {event}\ndata: {data}\n\n"))
        # Wake everyone waiting now, and give later waiters a fresh, unset event.
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()

    async def stream(self) -> AsyncIterator[str]:
        self.clients += 1
        try:
            yield "retry: 2000\n\n"
            for frame in self._snapshot():
                yield frame
            seen = self._seq
            while True:
                wakeup = self._wakeup
                if self._seq == seen:
                    try:
                        await asyncio.wait_for(wakeup.wait(), KEEPALIVE_S)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                oldest = self._frames[0][0] if self._frames else self._seq + 1
                if seen + 1 < oldest:  # fell behind the ring: resynchronise with a snapshot
                    for frame in self._snapshot():
                        yield frame
                else:
                    for seq, frame in list(self._frames):
                        if seq > seen:
                            yield frame
                seen = self._seq
        finally:
            self.clients -= 1
