"""`GET /api/v1/queues` requests/s, as a ratio to a bare FastAPI endpoint measured in the same run.

The real bridge server process (real mosquitto, board loaded with a simulated day published over
MQTT) and a bare FastAPI app (`bench.serve --bare`: one `def` endpoint returning {"ok": true}) are
served by the same `queue_bridge.server.serve`, i.e. the same uvicorn settings, one worker each.
A closed-loop load generator (`bench.http_load`, own process, keep-alive connections) drives them
in alternating rounds; the figures are the medians over the rounds. The bare `async def` endpoint
is measured too, for information (it skips the thread pool hop that `def` endpoints take).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from bench.common import (
    ROOT,
    BareApp,
    Publisher,
    bench_site,
    child_env,
    machine_note,
    median,
    scaled_day,
    show,
    stack,
    standalone_main,
    wait_until,
    workdir,
)

TARGET_RATIO = 0.8
PATH = "/api/v1/queues"


def http_load(port: int, path: str, connections: int, duration: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.http_load",
            "--port",
            str(port),
            "--path",
            path,
            "--connections",
            str(connections),
            "--duration",
            str(duration),
        ],
        env=child_env(),
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=duration + 60,
    )
    return dict(json.loads(out.stdout))


def run(
    day_events: int = 712, rounds: int = 3, duration: float = 3.0, connections: int = 16, keep: bool = False
) -> dict[str, Any]:
    site = bench_site()
    events = scaled_day(site, day_events)
    with workdir(keep) as work, stack(work) as s:
        bare = BareApp(work)
        bare.start()
        try:
            pub = Publisher(s.broker.port)
            try:
                for e in events:
                    pub.publish(s.bridge.site_id, e)
                wait_until(lambda: s.bridge.accepted() >= len(events), 60, "the day's events accepted")
            finally:
                pub.close()
            response = httpx.get(f"{s.bridge.url}{PATH}", timeout=10)
            response.raise_for_status()
            body = response.json()
            assert len(body["queues"]) == len(site.queues)
            waiting = sum(q["status"]["waiting"] for q in body["queues"])
            targets = {
                "real": (s.bridge.port, PATH),
                "bare": (bare.port, "/bare"),
                "bare_async": (bare.port, "/bare-async"),
            }
            for port, path in targets.values():  # warm up
                http_load(port, path, connections, 1.0)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
            for r in range(rounds):
                order = list(targets) if r % 2 == 0 else list(reversed(targets))
                for name in order:
                    runs[name].append(http_load(*targets[name], connections, duration))
        finally:
            bare.stop()
    rps = {name: median([x["rps"] for x in results]) for name, results in runs.items()}
    errors = sum(x["errors"] for results in runs.values() for x in results)
    ratio = rps["real"] / rps["bare"]
    result: dict[str, Any] = {
        "machine": machine_note(),
        "board_events": len(events),
        "board_tickets": len({e.ticket for e in events if e.ticket}),
        "waiting_now": waiting,
        "response_bytes": len(response.content),
        "connections": connections,
        "rounds_x_secs": f"{rounds} x {duration:g}",
        "real_rps": rps["real"],
        "real_rps_rounds": [round(x["rps"]) for x in runs["real"]],
        "ref_bare_rps": rps["bare"],
        "ref_bare_rps_rounds": [round(x["rps"]) for x in runs["bare"]],
        "info_bare_async_rps": rps["bare_async"],
        "errors": errors,
        "ratio_real_vs_bare": ratio,
        "info_ratio_real_vs_bare_async": rps["real"] / rps["bare_async"],
        "target_ratio": TARGET_RATIO,
        "target_met": ratio >= TARGET_RATIO and errors == 0,
    }
    show(f"api: GET {PATH} vs a bare FastAPI endpoint", result)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-day-events",
        type=int,
        default=712,
        help="events loaded on the board first (default 712: one day)",
    )
    parser.add_argument("--api-rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument(
        "--api-duration", type=float, default=3.0, help="seconds per round and target (default 3)"
    )
    parser.add_argument("--api-connections", type=int, default=16, help="keep-alive connections (default 16)")


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main(
        __doc__,
        add_arguments,
        lambda a: run(a.api_day_events, a.api_rounds, a.api_duration, a.api_connections, a.keep),
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
