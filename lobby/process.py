"""Child processes that do not outlive their parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Ask the kernel to SIGTERM this process when the thread that started it dies (Linux
    PR_SET_PDEATHSIG): a killed robot leaves no orphans. `parent`: the pid that started us, to catch
    a parent that died before the request was made."""
    # Not Linux (no prctl): the parents' own signal handling still stops their children.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # orphaned already
