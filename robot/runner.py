"""Start a list of nodes as child processes, and stop every one of them: the `lobby robot` runner
for machines without ROS 2 launch (ROS from PyPI wheels).

- Each child gets its own process group, so a node's own children (helpers, shells) are stopped
  with it; and asks the kernel to SIGTERM it if the runner itself dies (PR_SET_PDEATHSIG), so even a
  SIGKILLed runner leaves no orphans on Linux.
- SIGINT or SIGTERM to the runner: SIGINT to every group (what `ros2 launch` sends first; rclpy
  shuts down cleanly on it), wait up to `stop_timeout_s`, then SIGKILL whatever remains.
- A child that exits on its own is logged; by default the rest are stopped and the runner exits
  non-zero (a robot missing a node is not a robot), or with `keep_going` the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import IO

from lobby.process import die_with_parent

log = logging.getLogger("lobby.robot.runner")


@dataclass(frozen=True)
class Child:
    name: str
    argv: Sequence[str]


class Runner:
    def __init__(
        self,
        children: Sequence[Child],
        env: Mapping[str, str] | None = None,
        *,
        stop_timeout_s: float = 10.0,
        keep_going: bool = False,
        report: Callable[[str], None] = print,
        output: IO[bytes] | None = None,
    ) -> None:
        self.children = list(children)
        self.env = dict(env if env is not None else os.environ)
        self.stop_timeout_s = stop_timeout_s
        self.keep_going = keep_going
        self.report = report
        self.output = output  # the children's stdout and stderr (default: inherited)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._signal: int | None = None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signal = signum

    def run(self) -> int:
        """Start everything, wait for a signal or a death, stop everything. The exit status: 0 after
        a signal, 1 when a node died (or could not start)."""
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            status = self._start_all()
            if status == 0:
                status = self._watch()
        finally:
            self.stop_all()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return status

    def start(self) -> int:
        """Start every child without watching them (for a caller with its own foreground loop, such
        as `lobby demo`, which calls `stop_all()` when it ends): 0, or 1 if one could not start."""
        return self._start_all()

    def _start_all(self) -> int:
        for child in self.children:
            if self._signal is not None:
                return 0
            try:
                proc = subprocess.Popen(
                    list(child.argv),
                    env=self.env,
                    start_new_session=True,
                    preexec_fn=die_with_parent,  # runs between fork and exec
                    stdout=self.output,
                    stderr=None if self.output is None else subprocess.STDOUT,
                )
            except OSError as exc:
                self.report(f"cannot start {child.name}: {exc}")
                return 1
            self.procs[child.name] = proc
            self.report(f"started {child.name} (pid {proc.pid})")
        return 0

    def _watch(self) -> int:
        done: set[str] = set()
        while self._signal is None:
            for name, proc in self.procs.items():
                if name in done or proc.poll() is None:
                    continue
                done.add(name)
                self.report(f"{name} exited with status {proc.returncode}")
                if not self.keep_going:
                    self.report("stopping the other nodes")
                    return 1
            if len(done) == len(self.procs):
                return 1
            time.sleep(0.1)
        self.report(f"{signal.Signals(self._signal).name}: stopping {len(self.procs)} nodes")
        return 0

    def stop_all(self) -> None:
        """SIGINT every group, then SIGKILL after the timeout; reap everything."""
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGINT)
        deadline = time.monotonic() + self.stop_timeout_s
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.report(f"{name} did not stop within {self.stop_timeout_s:g} s: killing it")
        for proc in self.procs.values():
            # Also the groups whose leader already exited: a grandchild may still be in there.
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m robot.runner -- CMD ... -- CMD ...`: run arbitrary commands (tests, debugging)."""
    args = list(sys.argv[1:] if argv is None else argv)
    commands: list[list[str]] = []
    for arg in args:
        if arg == "--":
            commands.append([])
        elif commands:
            commands[-1].append(arg)
    children = [Child(f"{i}:{c[0]}", c) for i, c in enumerate(commands) if c]
    return Runner(children).run()


if __name__ == "__main__":
    sys.exit(main())
