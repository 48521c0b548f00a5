"""The one `main()` of every ROS 2 node module (`python -m MODULE NAME --ros-args ...`): start the
named node, spin it until Ctrl-C or SIGTERM, and shut ROS down cleanly either way."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

# How often spinning looks whether a signal has shut ROS down. rclpy's signal handler shuts the
# context down, but its wake-up of the waiting executor is sometimes lost: a plain rclpy.spin()
# then waits forever (2 of 15 SIGTERMs to a busy faces node here; it failed CI once).
SHUTDOWN_POLL_S = 0.5


def spin(node: Node) -> None:
    """Spin until shutdown, then destroy the node and the context."""
    try:
        executor = rclpy.get_global_executor()
        executor.add_node(node)
        while executor.context.ok():  # false already after a Ctrl-C while the node was being made
            executor.spin_once(timeout_sec=SHUTDOWN_POLL_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # SIGTERM shuts the context down from the signal handler; a spin caught mid-wait then
        # raises "context is not valid" instead of ExternalShutdownException. Only that is quiet.
        if rclpy.ok():
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def run_node(
    module: str,
    nodes: Mapping[str, Callable[[], Node]],
    argv: Sequence[str] | None = None,
    startup_errors: tuple[type[Exception], ...] = (),
) -> int:
    """`python -m MODULE NAME [--ros-args ...]`: 2 for an unknown NAME, 1 when the node cannot
    start for one of `startup_errors` (a one-line message), else 0 once it has stopped."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in nodes:
        print(f"usage: python -m {module} {{{'|'.join(nodes)}}} [--ros-args ...]", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rclpy.init(args=args)
    try:
        node = nodes[args[0]]()
    except startup_errors as exc:
        print(f"{module}: error: {exc}", file=sys.stderr)
        rclpy.try_shutdown()
        return 1
    spin(node)
    return 0
