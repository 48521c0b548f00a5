"""The named scenario days have the properties their names claim."""

from __future__ import annotations

from datetime import date

from lobby.schema import EventType
from queue_bridge.replay import events_csv, parse_events, realized_waits
from queue_bridge.scenarios import SCENARIOS
from queue_bridge.sim import simulate_day
from queue_bridge.site import load_site

SITE = load_site()
DAY = date(2026, 4, 6)


def waits(name: str, seed: int = 1) -> dict[str, list[float]]:
    events = parse_events(events_csv(simulate_day(SITE, DAY, seed=seed, profile=SCENARIOS[name])), SITE)
    by_queue: dict[str, list[float]] = {}
    for (_, ticket), seconds in realized_waits(events, SITE).items():
        by_queue.setdefault(ticket[0], []).append(seconds / 60)
    return by_queue


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_moving_season_brings_two_hour_waits_to_moving_in() -> None:
    busy, usual = waits("moving_season")["B"], waits("ordinary")["B"]
    assert max(busy) > 90 and mean(busy) > 3 * mean(usual)


def test_everyone_holding_a_ticket_is_called_even_after_closing_time() -> None:
    events = simulate_day(SITE, DAY, seed=1, profile=SCENARIOS["moving_season"])
    issued = {e.ticket for e in events if e.type is EventType.ISSUED}
    called = {e.ticket for e in events if e.type is EventType.CALLED}
    assert issued == called
    closing = max(e.ts for e in events if e.type is EventType.ISSUED)
    assert closing.astimezone(SITE.tz).strftime("%H:%M") < "17:00"  # the machine stops at 17:00
    assert max(e.ts for e in events).astimezone(SITE.tz).strftime("%H:%M") > "17:15"  # service goes on


def test_window_failure_closes_w1_mid_morning_unannounced() -> None:
    events = simulate_day(SITE, DAY, seed=1, profile=SCENARIOS["window_failure"])
    w1 = [
        (e.type, e.ts.astimezone(SITE.tz).strftime("%H:%M"))
        for e in events
        if e.window == "W1" and e.ticket is None
    ]
    assert (EventType.WINDOW_CLOSE, "10:00") in w1 and (EventType.WINDOW_OPEN, "11:30") in w1
    assert not any(b.start.hour == 10 for b in SITE.breaks)  # not in the site config: unforeseeable
    assert not any(
        e.type is EventType.CALLED
        and e.window == "W1"
        and "10:01" <= e.ts.astimezone(SITE.tz).strftime("%H:%M") < "11:30"
        for e in events
    )


def test_the_shared_window_serves_both_queues() -> None:
    events = simulate_day(SITE, DAY, seed=1, profile=SCENARIOS["shared_window"])
    at_w3 = {e.queue for e in events if e.type is EventType.CALLED and e.window == "W3"}
    assert at_w3 == {"A", "B"}


def test_holiday_surge_is_an_afternoon_wave() -> None:
    def afternoon(name: str) -> int:
        events = simulate_day(SITE, DAY, seed=1, profile=SCENARIOS[name])
        return sum(e.type is EventType.ISSUED and 13 <= e.ts.astimezone(SITE.tz).hour < 15 for e in events)

    assert afternoon("holiday_surge") > 1.8 * afternoon("ordinary")
