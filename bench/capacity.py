"""How many concurrent SSE clients one server worker holds.

Real mosquitto, the real bridge server process (one uvicorn worker), and the clients in a separate
asyncio process. Clients are added in steps of `--capacity-step` up to `--capacity-max`. At each
level one event is published and the level counts as *held* when
  - every connection was accepted and got its snapshot (one status frame per queue),
  - no connection was dropped,
  - the event's status frame reached every client within `--capacity-deadline` seconds,
  - /healthz still answers within 1 s.
The benchmark stops at the first level that is not held.

Reference in the same run: the delivery time of the same kind of event to the first step's clients;
the ratio (per-client fan-out cost at the top level / at the first level) shows whether the cost per
client stays flat as clients are added.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.common import (
    Fleet,
    Publisher,
    bench_site,
    machine_note,
    marker_event,
    percentile,
    proc_cpu_s,
    proc_rss_mb,
    show,
    stack,
    standalone_main,
    wait_until,
    window_open_event,
    workdir,
)

TARGET_CLIENTS = 5000
HEALTHZ_LIMIT_S = 1.0


def run(step: int = 1000, maximum: int = 8000, deadline: float = 2.0, keep: bool = False) -> dict[str, Any]:
    if not 0 < step <= maximum:
        raise ValueError(f"need 0 < step <= maximum, got step {step}, maximum {maximum}")
    site = bench_site()
    levels: list[dict[str, Any]] = []
    held = 0
    with workdir(keep) as work, stack(work) as s:
        pub = Publisher(s.broker.port)
        fleet = Fleet(s.bridge.port, len(site.queues), work)
        try:
            pub.publish(s.bridge.site_id, window_open_event()).wait_for_publish(10)
            wait_until(lambda: s.bridge.accepted() >= 1, 10, "window_open accepted")
            rss0 = proc_rss_mb(s.bridge.pid)
            total = 0
            marker = 0
            while total + step <= maximum:
                opened = fleet.open(step)
                total += step
                time.sleep(0.5)  # let the accept backlog settle
                # one broadcast at this level
                cpu0 = proc_cpu_s(s.bridge.pid)
                t_pub = time.monotonic()
                pub.publish(s.bridge.site_id, marker_event(marker))
                answer = fleet.wait(marker, timeout=max(10.0, 3 * deadline))
                cpu = proc_cpu_s(s.bridge.pid) - cpu0
                marker += 1
                delays = [t - t_pub for t in answer["times"]]
                t_h = time.monotonic()
                health = s.bridge.health()
                healthz_s = time.monotonic() - t_h
                level = {
                    "clients": total,
                    "connected": int(health["sse_clients"]),
                    "connect_failures": int(opened["failed"]),
                    "open_secs": round(float(opened["secs"]), 2),
                    "dropped": int(answer["lost"]),
                    "delivered": len(delays),
                    "delivery_p50_s": round(percentile(delays, 50), 3),
                    "delivery_p99_s": round(percentile(delays, 99), 3),
                    "delivery_max_s": round(max(delays, default=float("nan")), 3),
                    "broadcast_cpu_s": round(cpu, 3),
                    "healthz_s": round(healthz_s, 3),
                    "rss_mb": round(proc_rss_mb(s.bridge.pid), 1),
                }
                level["held"] = (
                    level["connect_failures"] == 0
                    and level["dropped"] == 0
                    and level["connected"] == total
                    and level["delivered"] == total
                    and level["delivery_max_s"] <= deadline
                    and healthz_s <= HEALTHZ_LIMIT_S
                )
                levels.append(level)
                print(f"  level {total}: {level}", flush=True)
                if not level["held"]:
                    break
                held = total
        finally:
            fleet.close()
            pub.close()
    first, top = levels[0], next((lv for lv in reversed(levels) if lv["held"]), levels[0])
    per_client_first = first["delivery_max_s"] / first["clients"]
    per_client_top = top["delivery_max_s"] / top["clients"]
    result: dict[str, Any] = {
        "machine": machine_note(),
        "clients_held": held,
        "tried_up_to": levels[-1]["clients"],
        "deadline_s": deadline,
        "top_level_delivery_p50_s": top["delivery_p50_s"],
        "top_level_delivery_max_s": top["delivery_max_s"],
        "top_level_broadcast_cpu_s": top["broadcast_cpu_s"],
        "top_level_rss_mb": top["rss_mb"],
        "rss_per_client_kb": (top["rss_mb"] - rss0) * 1024 / max(1, top["clients"]),
        "ref_first_level_clients": first["clients"],
        "ref_first_level_delivery_max_s": first["delivery_max_s"],
        "ratio_fanout_cost_per_client_top_vs_first": per_client_top / per_client_first,
        "target_clients": TARGET_CLIENTS,
        "target_met": held >= TARGET_CLIENTS,
        "levels": levels,
    }
    show(
        f"capacity: concurrent SSE clients on one worker (steps of {step})",
        {k: v for k, v in result.items() if k != "levels"},
    )
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--capacity-step", type=int, default=1000, help="clients added per level (default 1000)"
    )
    parser.add_argument("--capacity-max", type=int, default=8000, help="most clients tried (default 8000)")
    parser.add_argument(
        "--capacity-deadline",
        type=float,
        default=2.0,
        help="seconds for a broadcast to reach every client (default 2)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main(
        __doc__,
        add_arguments,
        lambda a: run(a.capacity_step, a.capacity_max, a.capacity_deadline, a.keep),
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
