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
    # March–April moving season: moving-in/out (B) 1.8 times busier than usual, which on this site's
    # two B windows gives the one-and-a-half to two-hour waits of a Tokyo ward office in early April.
    "moving_season": replace(BASE, peak_per_hour={**BASE.peak_per_hour, "B": BASE.peak_per_hour["B"] * 1.8}),
    # Window W1 fails mid-morning and is back 90 minutes later; nobody planned it.
    "window_failure": replace(BASE, outages=(Break(start=time(10, 0), end=time(11, 30), windows=["W1"]),)),
    # W3 serves A and B. B is busier than usual and W4 is taken off the counter at 15:00 (its clerk
    # is needed elsewhere), so the afternoon's B load lands on the shared window, which A also uses.
    "shared_window": replace(
        BASE,
        peak_per_hour={**BASE.peak_per_hour, "B": BASE.peak_per_hour["B"] * 1.4},
        outages=(Break(start=time(15, 0), end=time(17, 15), windows=["W4"]),),
    ),
    # A school holiday: families arrive in a sudden wave in the early afternoon.
    "holiday_surge": replace(BASE, surges=(Surge(start=time(13, 0), end=time(14, 30), factor=2.5),)),
}
