"""Proposed changes to files outside bench/, as monkeypatches, so that their effect can be measured.

Each module here mirrors a diff proposed in docs/benchmarks.md. Load them into the benchmarked
server with `BENCH_SERVER_PRELOAD=bench.proposals.<name>[,...]`; nothing imports them otherwise.
"""
