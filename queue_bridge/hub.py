"""Fan-out of status changes to Server-Sent-Event clients, built for thousands of connections.

One broadcast: each message is serialised once into an SSE frame and kept in a short ring buffer;
`publish` wakes every waiting client at once, and each client sends everything it has not seen as
one chunk. The work per client and wake-up is kept to the minimum, because it is multiplied by the
number of clients (measured in bench/latency.py and bench/capacity.py):
  - a client waits on a plain future of its own; there is no per-client timer or task
    (`asyncio.wait_for` would create both on every wake-up), keep-alives come from one hub timer;
  - the chunk of frames after a given sequence number is joined once and shared by every client
    that had seen the same frames (after a broadcast that is all of them);
  - the snapshot for new (or lagging) clients is built once per published frame, not per client.
A client that falls further behind than the ring gets a fresh full snapshot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from itertools import islice

RING = 256
KEEPALIVE_S = 15.0
RETRY = "retry: 2000\n\n"
KEEPALIVE = ": keep-alive\n\n"


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop, snapshot: Callable[[], list[str]]) -> None:
        self._loop = loop
        self._snapshot = snapshot  # frames that bring a new or lagging client up to date
        self._frames: deque[str] = deque(maxlen=RING)  # the last one has sequence number `_seq`
        self._seq = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._since: tuple[int, int, str] | None = None  # (seen, seq, frames after seen)
        self._snapshot_cache: tuple[int, str] | None = None  # (seq, snapshot frames)
        self._keepalive: asyncio.TimerHandle | None = None
        self._active = False  # anything sent since the last keep-alive tick
        self.clients = 0

    def publish_threadsafe(self, event: str, data: str) -> None:
        """Called from any thread (the ingest worker)."""
        self._loop.call_soon_threadsafe(self.publish, event, data)

    def publish(self, event: str, data: str) -> None:
        self._seq += 1
        self._frames.append(f"id: {self._seq}\nevent: {event}\ndata: {data}\n\n")
        self._active = True
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():  # a disconnected client's future is already cancelled
                waiter.set_result(None)

    def _tick(self) -> None:
        """Every KEEPALIVE_S / 2: wake the clients for a keep-alive if nothing was sent meanwhile,
        so no client waits more than KEEPALIVE_S without a byte."""
        if self.clients == 0:
            self._keepalive = None
            return
        if not self._active:
            self._wake()
        self._active = False
        self._keepalive = self._loop.call_later(KEEPALIVE_S / 2, self._tick)

    def _snapshot_chunk(self) -> str:
        cached = self._snapshot_cache
        if cached is None or cached[0] != self._seq:
            # Built from the bridge's state now, which is at least as new as frame `_seq`: a client
            # that gets it and then every frame after `_seq` misses nothing.
            cached = self._snapshot_cache = (self._seq, "".join(self._snapshot()))
        return cached[1]

    def _frames_after(self, seen: int) -> str | None:
        """Every frame after `seen` as one chunk; None if some have already left the ring."""
        cached = self._since
        if cached is not None and cached[0] == seen and cached[1] == self._seq:
            return cached[2]
        missing = self._seq - seen
        if missing > len(self._frames):
            return None
        frames = self._frames
        chunk = frames[-1] if missing == 1 else "".join(islice(frames, len(frames) - missing, None))
        self._since = (seen, self._seq, chunk)
        return chunk

    async def stream(self) -> AsyncIterator[str]:
        self.clients += 1
        if self._keepalive is None:
            self._keepalive = self._loop.call_later(KEEPALIVE_S / 2, self._tick)
        try:
            seen = self._seq
            yield RETRY + self._snapshot_chunk()
            while True:
                if self._seq == seen:
                    waiter = self._loop.create_future()
                    self._waiters.append(waiter)
                    await waiter
                    if self._seq == seen:  # woken by the keep-alive tick
                        yield KEEPALIVE
                        continue
                chunk = self._frames_after(seen)
                if chunk is None:  # fell behind the ring: resynchronise with a snapshot
                    seen = self._seq
                    yield self._snapshot_chunk()
                else:
                    seen = self._seq
                    yield chunk
        finally:
            self.clients -= 1
