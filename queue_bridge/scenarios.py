"""Named test days for the waiting-time estimators, on the bundled demo site.

Each is a `Profile` for `simulate_day`: the realized wait of every ticket is known from the events,
so estimators can be scored against it (`bench/wait_accuracy.py`, `lobby queue replay`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from queue_bridge.sim import Profile, Surge
from queue_bridge.site import Break

BASE = Profile()

SCENARIOS: dict[str, Profile] = {
    # An ordinary weekday.
    "ordinary": BASE,
    # March–April moving season: moving-in/out (B) three times busier; two-hour waits by midday.
    "moving_season": replace(BASE, peak_per_hour={**BASE.peak_per_hour, "B": BASE.peak_per_hour["B"] * 3}),
    # Window W1 fails mid-morning and is back 90 minutes later; nobody planned it.
    "window_failure": replace(BASE, outages=(Break(start=time(10, 0), end=time(11, 30), windows=["W1"]),)),
    # W3 serves A and B; B is busier and W4 closes early, so B's load lands on the shared window.
    "shared_window": replace(
        BASE,
        peak_per_hour={**BASE.peak_per_hour, "B": BASE.peak_per_hour["B"] * 1.8},
        outages=(Break(start=time(13, 30), end=time(17, 15), windows=["W4"]),),
    ),
    # A school holiday: families arrive in a sudden wave in the early afternoon.
    "holiday_surge": replace(BASE, surges=(Surge(start=time(13, 0), end=time(14, 30), factor=2.5),)),
}
