"""A small closed-loop HTTP/1.1 load generator (raw asyncio streams, keep-alive connections).

`python -m bench.http_load --port P --path /x --connections 16 --duration 3` prints one JSON line:
requests completed, non-200 answers, seconds and requests/s. Run in its own process, so the server
under test keeps its worker to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence


async def _worker(port: int, request: bytes, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            await reader.readexactly(length)
            counts[0] += 1
            if status != 200:
                counts[1] += 1
    finally:
        writer.close()


async def load(port: int, path: str, connections: int, duration: float) -> dict[str, float]:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n".encode()
    counts = [0, 0]
    t0 = time.monotonic()
    await asyncio.gather(*(_worker(port, request, t0 + duration, counts) for _ in range(connections)))
    elapsed = time.monotonic() - t0
    return {"requests": counts[0], "errors": counts[1], "secs": elapsed, "rps": counts[0] / elapsed}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args(argv)
    result = asyncio.run(load(args.port, args.path, args.connections, args.duration))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
