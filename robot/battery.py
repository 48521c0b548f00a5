"""A battery model for the simulated robot (the 2-D simulator has none): drains faster while
moving, charges on the dock. Pure: the node calls `step(dt)` and feeds the level to the behaviour."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatteryModel:
    level: float = 0.9  # fraction of full charge
    drain_idle_per_h: float = 0.10  # computers, sensors, speakers: always on
    drain_moving_per_h: float = 0.30  # plus the wheels
    charge_per_h: float = 0.60
    speed: float = 1.0  # simulated seconds per real second (a day of battery in minutes, for demos)

    def step(self, dt_s: float, *, moving: bool, charging: bool) -> float:
        hours = dt_s * self.speed / 3600.0
        if charging:
            self.level += self.charge_per_h * hours
        else:
            self.level -= (self.drain_moving_per_h if moving else self.drain_idle_per_h) * hours
        self.level = min(1.0, max(0.0, self.level))
        return self.level
