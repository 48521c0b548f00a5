"""Run every benchmark of the queue bridge with modest defaults: `make bench`.

    .venv/bin/python bench/run_all.py                      # all four, a few minutes
    .venv/bin/python bench/run_all.py --only latency api   # some of them
    .venv/bin/python bench/run_all.py --json results.json  # also write the figures as JSON

Each benchmark prints its figures, the in-run reference and the ratio, and the target. The exit
status is 1 when a target is missed. Results are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script (bench/run_all.py): import `bench` from the repository
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

BENCHMARKS = ("ingest", "latency", "capacity", "api")


def build_parser() -> argparse.ArgumentParser:
    from bench import api_rps, capacity, ingest, latency

    parser = argparse.ArgumentParser(
        prog="bench/run_all.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS), help="which ones")
    parser.add_argument("--json", type=Path, help="write all figures to this JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (logs)")
    for module in (ingest, latency, capacity, api_rps):
        module.add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bench import api_rps, capacity, common, ingest, latency

    args = build_parser().parse_args(argv)
    common.raise_nofile()
    runs: dict[str, Callable[[], dict[str, Any]]] = {
        "ingest": lambda: ingest.run(args.ingest_events, args.keep),
        "latency": lambda: latency.run(
            args.latency_clients, args.latency_events, args.latency_interval, args.keep
        ),
        "capacity": lambda: capacity.run(
            args.capacity_step, args.capacity_max, args.capacity_deadline, args.keep
        ),
        "api": lambda: api_rps.run(
            args.api_day_events, args.api_rounds, args.api_duration, args.api_connections, args.keep
        ),
    }
    print(f"Lobby Guide benchmarks on {common.machine_note()}")
    results: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    for name in BENCHMARKS:
        if name in args.only:
            results[name] = runs[name]()
    print(f"\n== summary ({time.monotonic() - t0:.0f} s)")
    for name, result in results.items():
        print(f"  {name:9s} {'met' if result['target_met'] else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if all(r["target_met"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
