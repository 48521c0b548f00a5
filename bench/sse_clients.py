"""Many SSE clients in one asyncio process, separate from the server, so the server's single worker
is what is measured. Raw asyncio protocols (no HTTP library): each client sends one request, waits
for the snapshot (one `status` frame per queue), then timestamps the first arrival of every
latency marker (a `"ticket":"Lnnnn"` in a status frame; a frame naming a later marker also reflects
the earlier ones) with `time.monotonic()`, which on Linux is
the system-wide CLOCK_MONOTONIC, comparable with the publisher's stamps in another process.

Driven over stdin/stdout, one JSON answer per command line:
  open N            open N more connections; answer when all have their snapshot or failed
  wait MARKER SECS  answer with the arrival times of MARKER once every live client has it (or SECS)
  stats             connection counts
  quit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence

from bench.common import MARKER_RE, raise_nofile

STATUS = b"event: status"


class Fleet:
    def __init__(self, port: int, queues: int, concurrency: int) -> None:
        self.port = port
        self.queues = queues
        self.request = (
            f"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        self.concurrency = asyncio.Semaphore(concurrency)
        self.clients: list[SseClient] = []
        self.arrivals: dict[int, list[float]] = {}
        self.failed = 0
        self.lost = 0

    @property
    def live(self) -> int:
        return sum(1 for c in self.clients if c.ready and not c.closed)

    def record(self, marker: int, at: float) -> None:
        self.arrivals.setdefault(marker, []).append(at)

    async def open_one(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        async with self.concurrency:
            ready: asyncio.Future[None] = loop.create_future()
            try:
                _transport, client = await asyncio.wait_for(
                    loop.create_connection(lambda: SseClient(self, ready), "127.0.0.1", self.port), timeout
                )
                await asyncio.wait_for(ready, timeout)
            except (OSError, TimeoutError):
                self.failed += 1
                return
            self.clients.append(client)

    async def open(self, n: int, timeout: float) -> dict[str, object]:
        t0 = time.monotonic()
        failed0 = self.failed
        await asyncio.gather(*(self.open_one(timeout) for _ in range(n)))
        return {
            "opened": n - (self.failed - failed0),
            "failed": self.failed - failed0,
            "live": self.live,
            "secs": time.monotonic() - t0,
        }

    async def wait(self, marker: int, timeout: float) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while len(self.arrivals.get(marker, ())) < self.live and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        return {
            "marker": marker,
            "live": self.live,
            "lost": self.lost,
            "times": self.arrivals.pop(marker, []),
        }

    def close_all(self) -> None:
        for c in self.clients:
            if c.transport is not None:
                c.transport.close()


class SseClient(asyncio.Protocol):
    def __init__(self, fleet: Fleet, ready: asyncio.Future[None]) -> None:
        self.fleet = fleet
        self.ready_future = ready
        self.transport: asyncio.Transport | None = None
        self.ready = False
        self.closed = False
        self.buffer = b""  # until the snapshot is complete
        self.tail = b""  # the end of the previous chunk, in case a marker straddles two reads
        self.last_marker = -1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.fleet.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.ready:
            self.buffer += data
            if self.buffer.count(STATUS) < self.fleet.queues:
                return
            self.ready = True
            # Markers in the snapshot were published before this client connected: not timed.
            self.last_marker = max((int(m.group(1)) for m in MARKER_RE.finditer(self.buffer)), default=-1)
            self.tail, self.buffer = self.buffer[-40:], b""
            if not self.ready_future.done():
                self.ready_future.set_result(None)
            return
        chunk = self.tail + data
        for match in MARKER_RE.finditer(chunk):
            marker = int(match.group(1))
            # Markers are published in increasing order; a frame naming marker n also reflects every
            # earlier one (the bridge may fold several events into one status when it batches).
            for m in range(self.last_marker + 1, marker + 1):
                self.fleet.record(m, now)
            self.last_marker = max(self.last_marker, marker)
        self.tail = chunk[-40:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.ready:
            self.fleet.lost += 1
        elif not self.ready_future.done():
            self.ready_future.set_exception(ConnectionError("closed before the snapshot"))


async def serve_commands(fleet: Fleet, open_timeout: float) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "quit":
            fleet.close_all()
            sys.stdout.write(json.dumps({"closed": len(fleet.clients)}) + "\n")
            sys.stdout.flush()
            return
        answer: dict[str, object]
        if line[0] == "open":
            answer = await fleet.open(int(line[1]), open_timeout)
        elif line[0] == "wait":
            answer = await fleet.wait(int(line[1]), float(line[2]))
        elif line[0] == "stats":
            answer = {"live": fleet.live, "lost": fleet.lost, "failed": fleet.failed}
        else:
            answer = {"error": f"unknown command {line[0]!r}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--queues", type=int, required=True, help="status frames in the snapshot")
    parser.add_argument("--concurrency", type=int, default=200, help="connections being opened at once")
    parser.add_argument("--open-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    raise_nofile()
    fleet = Fleet(args.port, args.queues, args.concurrency)
    asyncio.run(serve_commands(fleet, args.open_timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
