"""A place for proposed changes to files outside bench/, written as monkeypatches so that their
effect can be measured before anyone edits those files: load them into the benchmarked server with
`BENCH_SERVER_PRELOAD=bench.proposals.<name>[,...]`. Proposals that were measured and adopted are
removed from here (see docs/benchmarks.md, "Changes made from these measurements").
"""
