"""Cost of recomputing every queue's estimate after every event, on a 50-queue city hall.

The site: 50 queues on 70 windows (every fifth queue shares a window with its neighbour, ten
windows close for lunch), a simulated busy day (~10,000 events). All events are applied in order;
after every event of the morning peak (09:00-11:00 by default) the status of all 50 queues is
recomputed, exactly as the bridge does after a batch (`queue_status` for each queue), and timed.

Reference in the same run, on the same events: the first estimator (queue length x recent service
time, `QueueLengthEstimator`), so the ratio says what the simulation costs on this machine
whatever else it is doing.

    .venv/bin/python -m bench.forecast_cost [--queues 50] [--start 09:00] [--end 11:00]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import date
from datetime import time as clock

from bench.common import machine_note, median, percentile, show
from lobby.schema import QueueEvent
from queue_bridge.board import Board
from queue_bridge.estimate import QueueLengthEstimator, WaitEstimator
from queue_bridge.forecast import SimulationEstimator
from queue_bridge.sim import Profile, simulate_day
from queue_bridge.site import Break, Names, QueueConfig, SiteConfig, WindowConfig
from queue_bridge.status import queue_status

DAY = date(2026, 4, 6)


def big_site(n_queues: int) -> SiteConfig:
    """`n_queues` queues; each has one window of its own, every other one a second window, and
    every fifth one's second window also serves the next queue (a shared window)."""
    queues = [
        QueueConfig(id=f"Q{i:02d}", name=Names(ja=f"窓口{i}", en=f"Queue {i}")) for i in range(n_queues)
    ]
    windows: list[WindowConfig] = []
    for i, q in enumerate(queues):
        windows.append(WindowConfig(id=f"W{i:02d}a", name=Names(ja=f"{i}番", en=f"{i}"), queues=[q.id]))
        if i % 2 == 0:
            shared = [q.id, queues[(i + 1) % n_queues].id] if i % 5 == 0 else [q.id]
            windows.append(WindowConfig(id=f"W{i:02d}b", name=Names(ja=f"{i}番b", en=f"{i}b"), queues=shared))
    lunch = Break(
        start=clock(12, 0), end=clock(13, 0), windows=[w.id for w in windows if w.id.endswith("b")][:10]
    )
    return SiteConfig(
        site="big",
        name=Names(ja="大きな市役所", en="Large city hall"),
        queues=queues,
        windows=windows,
        breaks=[lunch],
    )


def busy_day(site: SiteConfig) -> list[QueueEvent]:
    queues = [q.id for q in site.queues]
    profile = Profile(
        peak_per_hour={q: 12.0 + 6 * (i % 4) for i, q in enumerate(queues)},
        service_min={q: 4.0 + 3 * (i % 4) for i, q in enumerate(queues)},
    )
    return simulate_day(site, DAY, seed=1, profile=profile)


def cost_per_event(
    site: SiteConfig, events: Sequence[QueueEvent], estimator: WaitEstimator, start: clock, end: clock
) -> tuple[list[float], list[int]]:
    """Seconds to recompute all queues' statuses after each event between `start` and `end`, and
    the tickets waiting then."""
    board = Board(site)
    seconds: list[float] = []
    waiting: list[int] = []
    for event in events:
        board.apply(event)
        if not start <= event.ts.astimezone(site.tz).time() < end:
            continue
        t0 = time.perf_counter()
        statuses = [queue_status(board, estimator, q.id, event.ts) for q in site.queues]
        seconds.append(time.perf_counter() - t0)
        waiting.append(sum(s.waiting for s in statuses))
    return seconds, waiting


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--start", type=clock.fromisoformat, default=clock(9, 0))
    parser.add_argument("--end", type=clock.fromisoformat, default=clock(11, 0))
    args = parser.parse_args(argv)
    site = big_site(args.queues)
    events = busy_day(site)
    print(f"{len(site.queues)} queues, {len(site.windows)} windows, {len(events)} events; {machine_note()}")
    sim_s, waiting = cost_per_event(site, events, SimulationEstimator(), args.start, args.end)
    ql_s, _ = cost_per_event(site, events, QueueLengthEstimator(), args.start, args.end)
    busiest = max(range(len(waiting)), key=waiting.__getitem__)
    show(
        "estimates of every queue after one event",
        {
            "events timed": len(sim_s),
            "tickets waiting (median / most)": f"{median(waiting):.0f} / {waiting[busiest]}",
            "simulation ms p50 / p95 / max": (
                f"{median(sim_s) * 1e3:.1f} / {percentile(sim_s, 95) * 1e3:.1f} / {max(sim_s) * 1e3:.1f}"
            ),
            "simulation ms at the busiest moment": f"{sim_s[busiest] * 1e3:.1f}",
            "queue-length estimator ms p50 / p95": f"{median(ql_s) * 1e3:.2f} / {percentile(ql_s, 95) * 1e3:.2f}",
            "ratio simulation / queue-length (p50)": f"{median(sim_s) / median(ql_s):.2f}",
            "events/s one core can keep up with (p95)": f"{1 / percentile(sim_s, 95):.0f}",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
