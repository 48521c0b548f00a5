"""Schemathesis against the live server's own OpenAPI document: no input makes it fail or lie."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lobby.schema import events_topic
from tests.support import BridgeProcess, MqttProbe, event, wait_until

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_api_conforms_to_its_openapi(bridge_process: BridgeProcess, probe: MqttProbe, tmp_path: Path) -> None:
    # Some real tickets, so that ticket lookups can succeed as well as fail.
    for n in range(1, 4):
        probe.publish(events_topic(bridge_process.site_id, "A"), event("A", "issued", f"A{n:03d}"))
    wait_until(lambda: bridge_process.counters().get("accepted") == 3, what="tickets issued")
    # All checks: no 5xx, responses match their declared schemas, status codes and content types.
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{bridge_process.url}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--no-color",
            "--report-dir",
            str(tmp_path),
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Tested: 7" in result.stdout  # every operation was exercised
