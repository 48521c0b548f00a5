"""Server wrapper for the benchmarks: raise the open-file limit, then serve.

`python -m bench.serve` runs the real `lobby server` (its CLI main, configured by LOBBY_* variables).
`python -m bench.serve --bare` serves a bare FastAPI app through the same `queue_bridge.server.serve`,
so both run with the same uvicorn settings: the in-run reference of the API benchmark.

`BENCH_SERVER_PRELOAD=bench.proposals.x,...` imports those modules first: how the proposed changes
to files outside bench/ (bench/proposals/) are measured without editing those files.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from fastapi import FastAPI

from bench.common import raise_nofile


def bare_app() -> FastAPI:
    """The smallest FastAPI app: one sync endpoint (like the real ones) and one async endpoint."""
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/bare-async")
    async def bare_async() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bare", action="store_true", help="serve the bare FastAPI reference app")
    parser.add_argument("--nofile", type=int, default=65536, help="open-file limit to raise to")
    args = parser.parse_args(argv)
    raise_nofile(args.nofile)
    for module in filter(None, os.environ.get("BENCH_SERVER_PRELOAD", "").split(",")):
        importlib.import_module(module.strip())
    if args.bare:
        from lobby.settings import load_settings
        from queue_bridge.server import serve

        serve(bare_app(), load_settings())
        return 0
    from lobby.cli import main as cli_main

    return cli_main(["server"])


if __name__ == "__main__":
    sys.exit(main())
