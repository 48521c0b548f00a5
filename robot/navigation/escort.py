"""Escorting a visitor along a path: walk at their pace, wait when they fall behind, announce
arrival. A pure state machine over the `Controller`; the caller feeds it the robot's pose, the
scan and where the visitor is (a perception track or the simulator's), and says what it returns.

States and rules:
- GUIDING: follow the path. The speed limit falls from the controller's maximum when the visitor
  is within `near_m` to a slow walk at `wait_m`, so the robot never runs away from anyone.
- WAITING: the visitor is further than `wait_m` (or out of sight): stop, turn to face them, and
  say so once; resume when they are back within `resume_m` (hysteresis, so it does not stutter).
- ARRIVED: the controller reached the goal: announce the destination.
- STUCK: the way stayed blocked for `stuck_after_s` (the behaviour layer replans or asks for help).
- VISITOR_LOST: nobody seen for `lost_after_s` while waiting.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from robot.navigation.controller import Command, Controller
from robot.navigation.maps import Pose2D
from robot.navigation.route import Instruction
from robot.navigation.simulator import Scan


class EscortState(enum.Enum):
    GUIDING = "guiding"
    WAITING = "waiting"
    ARRIVED = "arrived"
    STUCK = "stuck"
    VISITOR_LOST = "visitor_lost"


DONE = (EscortState.ARRIVED, EscortState.STUCK, EscortState.VISITOR_LOST)


@dataclass(frozen=True)
class EscortConfig:
    near_m: float = 1.6
    wait_m: float = 3.0
    resume_m: float = 2.0
    slow_v: float = 0.3
    stuck_after_s: float = 20.0
    lost_after_s: float = 30.0


@dataclass(frozen=True)
class EscortUpdate:
    command: Command
    state: EscortState
    say: Instruction | None = None  # something to tell the visitor now
    visitor_gap_m: float | None = None


@dataclass
class Escort:
    controller: Controller
    destination: Instruction  # e.g. Instruction("市民課", "the Citizens Division")
    config: EscortConfig = field(default_factory=EscortConfig)
    state: EscortState = EscortState.GUIDING
    _blocked_since: float | None = None
    _unseen_since: float | None = None

    def step(
        self, t: float, pose: Pose2D, scan: Scan | None, visitor: tuple[float, float] | None
    ) -> EscortUpdate:
        """`t`: seconds (any monotonic clock); `visitor`: their position in map metres, if seen."""
        if self.state in DONE:
            return EscortUpdate(Command(0.0, 0.0, self.state.value), self.state)
        gap = None if visitor is None else math.dist((pose.x, pose.y), visitor)
        self._unseen_since = (
            None if visitor is not None else (self._unseen_since if self._unseen_since is not None else t)
        )
        if self._unseen_since is not None and t - self._unseen_since >= self.config.lost_after_s:
            return self._finish(EscortState.VISITOR_LOST, Instruction(
                "お連れの方が見えなくなりました。職員をお呼びします。",
                "I have lost sight of you. I'll call a member of staff.",
            ))  # fmt: skip
        if self.state is EscortState.GUIDING and (gap is None or gap > self.config.wait_m):
            self.state = EscortState.WAITING
            return EscortUpdate(self._face(pose, visitor), self.state, Instruction(
                "こちらでお待ちしています。", "I'll wait for you here."), gap)  # fmt: skip
        if self.state is EscortState.WAITING:
            if gap is not None and gap <= self.config.resume_m:
                self.state = EscortState.GUIDING
                return EscortUpdate(Command(0.0, 0.0, "resuming"), self.state, Instruction(
                    "では、まいりましょう。", "Let's go on."), gap)  # fmt: skip
            return EscortUpdate(self._face(pose, visitor), self.state, None, gap)
        command = self.controller.step(pose, scan, self._pace(gap))
        if command.status == "arrived":
            return self._finish(EscortState.ARRIVED, Instruction(
                f"{self.destination.ja}に到着しました。", f"Here we are: {self.destination.en}."))  # fmt: skip
        if command.status == "blocked":
            self._blocked_since = self._blocked_since if self._blocked_since is not None else t
            if t - self._blocked_since >= self.config.stuck_after_s:
                return self._finish(EscortState.STUCK, Instruction(
                    "申し訳ありません。道がふさがっていて進めません。",
                    "I'm sorry, the way is blocked and I cannot go on."))  # fmt: skip
        else:
            self._blocked_since = None
        return EscortUpdate(command, self.state, None, gap)

    def _pace(self, gap: float | None) -> float:
        """Full speed while the visitor is close; down to a slow walk as they drop back."""
        c, top = self.config, self.controller.config.max_v
        if gap is None or gap <= c.near_m:
            return top
        f = min(1.0, (gap - c.near_m) / (c.wait_m - c.near_m))
        return top + (c.slow_v - top) * f

    def _face(self, pose: Pose2D, visitor: tuple[float, float] | None) -> Command:
        if visitor is None:
            return Command(0.0, 0.0, "waiting")
        err = math.atan2(visitor[1] - pose.y, visitor[0] - pose.x) - pose.yaw
        err = math.atan2(math.sin(err), math.cos(err))
        return Command(0.0, max(-1.0, min(1.0, 1.2 * err)) if abs(err) > 0.3 else 0.0, "waiting")

    def _finish(self, state: EscortState, say: Instruction) -> EscortUpdate:
        self.state = state
        return EscortUpdate(Command(0.0, 0.0, state.value), state, say)
