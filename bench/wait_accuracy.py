"""Waiting-time accuracy: every estimator replayed causally over the named scenario days.

For each scenario and estimator: mean absolute error of the estimate made when each ticket was
issued (minutes, over tickets that were called), coverage of its 80% range, and the ratio of its
MAE to the best of the classic predictors (LES, HOL, QL) measured on the same day in the same run.

    .venv/bin/python bench/wait_accuracy.py [--seed 1] [--days 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import date, timedelta

from queue_bridge.replay import ESTIMATORS, events_csv, parse_events, realized_waits, replay
from queue_bridge.scenarios import SCENARIOS
from queue_bridge.sim import simulate_day
from queue_bridge.site import load_site

BASELINES = ("les", "hol", "ql")


def score(scenario: str, estimator: str, seed: int, days: int) -> tuple[float, float | None, int]:
    """(MAE minutes, coverage or None for point predictors, tickets scored) over `days` days."""
    site = load_site()
    errors: list[float] = []
    inside = 0
    point_only = True
    # The days are replayed as one event log, so an estimator may learn from the earlier days.
    log = []
    for d in range(days):
        day = date(2026, 4, 6) + timedelta(days=d)
        log.extend(simulate_day(site, day, seed=seed + d, profile=SCENARIOS[scenario], run_id=f"d{d}"))
    events = parse_events(events_csv(log), site)
    truth = realized_waits(events, site)
    for row in replay(events, site, ESTIMATORS[estimator]()):
        wait = truth.get((row.issued_ts.isoformat(), row.ticket))
        if wait is None:
            continue
        e = row.estimate
        errors.append(abs(wait - e.point_s) / 60)
        inside += e.lower_s <= wait <= e.upper_s
        point_only = point_only and e.lower_s == e.upper_s
    coverage = None if point_only else inside / len(errors)
    return statistics.fmean(errors), coverage, len(errors)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=10, help="simulated days per scenario (default 10)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    print(
        f"{'scenario':15} {'estimator':13} {'MAE min':>8} {'coverage':>9} {'÷ best classic':>15} {'tickets':>8}"
    )
    for scenario in SCENARIOS:
        results = {name: score(scenario, name, args.seed, args.days) for name in ESTIMATORS}
        best = min(results[b][0] for b in BASELINES)
        for name, (mae, coverage, n) in results.items():
            cov = f"{coverage:.1%}" if coverage is not None else "n/a"
            print(f"{scenario:15} {name:13} {mae:8.1f} {cov:>9} {mae / best:15.2f} {n:8d}")
    print(f"({time.perf_counter() - t0:.0f} s; coverage n/a: a point predictor has no range)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
