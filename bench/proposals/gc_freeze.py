"""Proposal: `gc.freeze()` once the app is built, just before uvicorn starts serving.

Everything allocated at start-up (modules, FastAPI/pydantic machinery, the recovered board) is
long-lived; freezing moves it out of the collector's generations, so the occasional full (gen 2)
collection no longer walks it. Measured: gen-2 collections of 65-140 ms in the server during the
latency benchmark (each one stalls every SSE client and the ingest thread), the source of the p99
tail. Mirrors the server.py diff in docs/benchmarks.md.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

import queue_bridge.server
from lobby.settings import Settings

_serve = queue_bridge.server.serve


def serve(app: FastAPI, settings: Settings) -> None:
    gc.collect()
    gc.freeze()
    _serve(app, settings)


queue_bridge.server.serve = serve
