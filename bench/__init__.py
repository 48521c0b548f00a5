"""Benchmarks of the queue bridge: `make bench` (= `.venv/bin/python bench/run_all.py`).

Performance lives here, not in timed tests. Each benchmark prints its figures together with a ratio
to a reference measured in the same run, because the machines are shared and noisy. Results and
the commands that produced them are recorded in docs/benchmarks.md.
"""
