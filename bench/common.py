"""Shared pieces of the benchmarks: processes (mosquitto, the bridge, a bare FastAPI app, the SSE
client fleet), event workloads, an MQTT publisher that stamps publish times, and statistics.

Everything binds to 127.0.0.1 on free ports, every wait is bounded, and every process a benchmark
starts is stopped by its PID.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from lobby.schema import EventType, QueueEvent, events_topic, status_topic
from queue_bridge.sim import Profile, simulate_day
from queue_bridge.site import SiteConfig, load_site
from tests.support import free_port as free_port
from tests.support import wait_for_port as wait_for_port
from tests.support import wait_until as wait_until

ROOT = Path(__file__).resolve().parent.parent
#: The service day of every benchmark workload (a fixed day: results do not depend on the date).
DAY = date(2026, 4, 1)
#: Latency markers are tickets "L0000".."L9999" called at window W1 of queue A.
MARKER_QUEUE = "A"
MARKER_WINDOW = "W1"


def marker_ticket(n: int) -> str:
    return f"L{n:04d}"


MARKER_RE = re.compile(rb'"ticket":"L(\d{4})"')


# -- environment ---------------------------------------------------------------------------------


def raise_nofile(want: int = 65536) -> int:
    """Raise this process's open-file limit as far as the hard limit allows; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a benchmark child process: can import `bench`, `lobby`, `queue_bridge`."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT), **(extra or {})}


def machine_note() -> str:
    """One line about the machine, for the record (the ratios are what compare across runs)."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), load avg {load}, Python {sys.version.split()[0]}"


@contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lobby-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"  (kept work directory {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_process(proc: subprocess.Popen[Any], sig: int = signal.SIGINT, timeout: float = 10.0) -> None:
    """Stop one child by its PID: `sig` first, SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def show(title: str, rows: dict[str, Any]) -> None:
    """Print a benchmark's figures as aligned `name: value` lines."""
    print(f"\n== {title}")
    width = max(len(k) for k in rows)
    for key, value in rows.items():
        text = f"{value:,.3f}" if isinstance(value, float) else str(value)
        print(f"  {key.ljust(width)}  {text}")


# -- workloads -----------------------------------------------------------------------------------


@functools.cache
def bench_site() -> SiteConfig:
    return load_site()


def scaled_day(site: SiteConfig, n_events: int, seed: int = 1) -> list[QueueEvent]:
    """About `n_events` events of one simulated city-hall day: the simulator's day (~700 events)
    with arrivals scaled up and service times scaled down by the same factor, so the windows keep
    up and the events keep their realistic mix (issued, called, served, recalls, no-shows)."""

    def day(k: float) -> list[QueueEvent]:
        base = Profile()
        profile = Profile(
            peak_per_hour={q: v * k for q, v in base.peak_per_hour.items()},
            service_min={q: v / k for q, v in base.service_min.items()},
            service_sigma=base.service_sigma,
            no_answer_p=base.no_answer_p,
            recall_gap_s=base.recall_gap_s / k,
        )
        return simulate_day(site, DAY, seed=seed, profile=profile, run_id=f"b{uuid.uuid4().hex[:6]}")

    k = 1.0
    for _ in range(8):  # the count is not linear in k: correct it a few times
        events = day(k)
        if abs(len(events) - n_events) <= n_events * 0.03:
            break
        k = max(0.05, k * n_events / len(events))
    return events


def window_open_event(queue: str = MARKER_QUEUE, window: str = MARKER_WINDOW) -> QueueEvent:
    site = bench_site()
    opens = datetime.combine(DAY, site.opens, tzinfo=site.tz)
    return QueueEvent(
        event_id=f"open-{uuid.uuid4().hex[:8]}",
        type=EventType.WINDOW_OPEN,
        queue=queue,
        window=window,
        ts=opens,
    )


def marker_event(n: int) -> QueueEvent:
    """`called` for marker ticket n at W1: the next status frame of queue A names that ticket."""
    site = bench_site()
    ts = datetime.combine(DAY, site.opens, tzinfo=site.tz) + timedelta(minutes=1, seconds=n)
    return QueueEvent(
        event_id=f"mark-{uuid.uuid4().hex[:8]}-{n}",
        type=EventType.CALLED,
        ticket=marker_ticket(n),
        queue=MARKER_QUEUE,
        window=MARKER_WINDOW,
        ts=ts,
    )


def payload(e: QueueEvent) -> bytes:
    return e.model_dump_json(exclude_none=True).encode()


# -- processes -----------------------------------------------------------------------------------


MOSQUITTO = "/usr/sbin/mosquitto"


class Mosquitto:
    """A real mosquitto on a free loopback port (configured like the test suite's)."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_inflight_messages 1000\nmax_queued_messages 1000000\nset_tcp_nodelay true\n"
            "log_dest stderr\nlog_type error\n"
            + os.environ.get("BENCH_MOSQUITTO_EXTRA", "").replace(";", "\n")
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, 5)


class BenchBridge:
    """The real `lobby server` (bridge + web) as a child process, started through `bench.serve`,
    which raises the open-file limit and then runs the CLI's main, configured by LOBBY_* variables."""

    def __init__(self, mqtt_port: int, workdir: Path) -> None:
        self.workdir = workdir
        self.site_id = f"b{uuid.uuid4().hex[:8]}"
        data = yaml.safe_load(resources.files("queue_bridge").joinpath("sites/demo.yaml").read_text("utf-8"))
        data["site"] = self.site_id
        site_file = workdir / f"site-{self.site_id}.yaml"
        site_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = workdir / "events.sqlite3"
        self.env = child_env(
            {
                "LOBBY_SITE_FILE": str(site_file),
                "LOBBY_DB_PATH": str(self.db),
                "LOBBY_WEB_PORT": str(self.port),
                "LOBBY_MQTT_PORT": str(mqtt_port),
                "LOBBY_MQTT_CLIENT_ID": f"bridge-{self.site_id}",
            }
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        log = (self.workdir / "bridge.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve"], env=self.env, cwd=ROOT, stdout=log, stderr=log
        )
        wait_until(self._ready, timeout, "bridge /healthz and MQTT connection")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            log = (self.workdir / "bridge.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"bridge exited with {self.proc.returncode}: {log}")
        try:
            return bool(self.health().get("mqtt"))
        except httpx.HTTPError:
            return False

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/healthz", timeout=5).json())

    def accepted(self) -> int:
        """Events the bridge has logged (accepted) or recognised as already logged (duplicates)."""
        counters = self.health()["counters"]
        return int(counters.get("accepted", 0)) + int(counters.get("duplicates", 0))

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGINT, 15)


class BareApp:
    """A bare FastAPI app served by the same `queue_bridge.server.serve` (same uvicorn settings)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        log = (self.workdir / "bare.log").open("ab")
        env = child_env({"LOBBY_WEB_PORT": str(self.port)})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.serve", "--bare"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
        wait_until(self._ready, timeout, "bare app /healthz")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"bare app exited with {self.proc.returncode}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@dataclass
class Stack:
    broker: Mosquitto
    bridge: BenchBridge


@contextmanager
def stack(work: Path) -> Iterator[Stack]:
    """A real mosquitto and the real bridge server process against it, both stopped on exit."""
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    try:
        bridge = BenchBridge(broker.port, work)
        try:
            bridge.start()
            yield Stack(broker, bridge)
        finally:
            bridge.stop()
    finally:
        broker.stop()


@dataclass
class Publisher:
    """A paho client that publishes events (QoS 1) and timestamps what arrives on status topics."""

    port: int
    client: mqtt.Client = field(init=False)
    #: marker number -> time.monotonic() when the retained status naming it arrived over MQTT
    status_seen: dict[int, float] = field(default_factory=dict)
    _max_seen: int = -1

    def __post_init__(self) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}"
        )
        self.client.max_inflight_messages_set(1000)
        self.client.on_message = self._on_message
        connected = threading.Event()
        self.client.on_connect = lambda *_a: connected.set()
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not connected.wait(10):
            raise TimeoutError("benchmark publisher could not connect to mosquitto")

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        for m in MARKER_RE.finditer(msg.payload):
            # A status naming marker n also reflects the earlier markers (batched together).
            for k in range(self._max_seen + 1, int(m.group(1)) + 1):
                self.status_seen.setdefault(k, now)
            self._max_seen = max(self._max_seen, int(m.group(1)))

    def watch_status(self, site: str, queue: str = MARKER_QUEUE) -> None:
        self.client.subscribe(status_topic(site, queue), qos=1)

    def publish(self, site: str, e: QueueEvent) -> mqtt.MQTTMessageInfo:
        return self.client.publish(events_topic(site, e.queue), payload(e), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Fleet:
    """The SSE client fleet (`bench.sse_clients`) as a child process, driven by JSON-line commands."""

    def __init__(self, port: int, queues: int, workdir: Path) -> None:
        log = (workdir / "clients.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sse_clients", "--port", str(port), "--queues", str(queues)],
            env=child_env(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        self._selector = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def command(self, line: str, timeout: float) -> dict[str, Any]:
        """Send one command and return the child's JSON answer (bounded by `timeout`)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{line}\n".encode())
        self.proc.stdin.flush()
        if not self._selector.select(timeout):
            raise TimeoutError(f"SSE client fleet did not answer {line!r} within {timeout}s")
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"SSE client fleet exited ({self.proc.poll()}) on {line!r}")
        return dict(json.loads(answer))

    def open(self, n: int, timeout: float = 120.0) -> dict[str, Any]:
        """Open n more connections; answers when each has its snapshot (or failed)."""
        return self.command(f"open {n}", timeout + 10)

    def wait(self, marker: int, timeout: float) -> dict[str, Any]:
        """Arrival times (monotonic) of marker `marker` at every live client, waiting up to `timeout`."""
        return self.command(f"wait {marker} {timeout}", timeout + 10)

    def close(self) -> None:
        with suppress(TimeoutError, RuntimeError, BrokenPipeError):
            self.command("quit", 10)
        stop_process(self.proc, signal.SIGTERM, 10)
        self._selector.close()


def standalone_main(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], dict[str, Any]],
    argv: Sequence[str] | None,
) -> int:
    """`python bench/<one>.py`: its own options plus --keep; exit 1 when its target is missed."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    return 0 if run(parser.parse_args(argv))["target_met"] else 1
