"""Helpers for tests over real ROS 2 (DDS on loopback): node processes and spinning until done.
The `ros_env` fixture (a ROS domain of the test module's own) is in conftest.py."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import rclpy
from rclpy.node import Node

T = TypeVar("T")


def start_node(
    env: dict[str, str], module: str, node: str, *params: str, log: Path
) -> subprocess.Popen[bytes]:
    """`python -m MODULE NODE --ros-args -p k:=v ...` with its output in `log`."""
    args = [sys.executable, "-m", module, node, "--ros-args"]
    for p in params:
        args += ["-p", p]
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def spin_until(node: Node, done: Callable[[], T], timeout: float, what: str, step_s: float = 0.05) -> T:
    """Spin `node` until `done()` is truthy and return that value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := done()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        rclpy.spin_once(node, timeout_sec=step_s)
    return result
