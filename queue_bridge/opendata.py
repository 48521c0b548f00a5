"""Open data: per queue and 15-minute slot, what happened, computed from the event log.

Tickets appear only as counts and durations: no number, no person. Licence CC BY 4.0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lobby.schema import EventType, QueueEvent, QueueStatus
from queue_bridge.site import SiteConfig

LICENSE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/deed.ja)"
SLOT = timedelta(minutes=15)

#: Field definitions of waiting-times.csv, published with the data.
CSV_FIELDS: dict[str, str] = {
    "date": "日付 (YYYY-MM-DD, site local time) / service day",
    "slot_start": "15分枠の開始時刻 (HH:MM, local) / start of the 15-minute slot",
    "queue": "受付区分のID / queue id",
    "queue_name": "受付区分の名称 / queue name (Japanese)",
    "issued": "発券数 / tickets issued in the slot",
    "called": "呼出し数 / tickets first called in the slot",
    "mean_wait_min": "呼出しまでの平均待ち時間(分) / mean realized wait of tickets called in the slot, minutes",
    "max_wait_min": "呼出しまでの最大待ち時間(分) / longest realized wait of tickets called in the slot, minutes",
    "open_windows": "開いていた窓口数の最大 / most windows open for the queue during the slot",
}


@dataclass
class _Slot:
    issued: int = 0
    called: int = 0
    waits: list[float] = field(default_factory=list)
    open_windows: int = 0


def _slot_start(ts: datetime, site: SiteConfig) -> datetime:
    local = ts.astimezone(site.tz)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)


def waiting_time_rows(events: Iterable[QueueEvent], site: SiteConfig) -> list[dict[str, str]]:
    """Aggregate events (any order) into the rows of waiting-times.csv, sorted by slot and queue."""
    ordered = sorted(events, key=lambda e: e.ts)
    slots: dict[tuple[datetime, str], _Slot] = {}
    issued_at: dict[tuple[str, str], datetime] = {}  # (day, ticket) -> when it joined its queue
    queue_of: dict[tuple[str, str], str] = {}
    first_called: set[tuple[str, str]] = set()
    open_now: dict[str, set[str]] = {q.id: set() for q in site.queues}

    def slot_for(start: datetime, queue: str) -> _Slot:
        slot = slots.setdefault((start, queue), _Slot())
        # Windows opened in an earlier slot are still open in this one.
        slot.open_windows = max(slot.open_windows, len(open_now.get(queue, ())))
        return slot

    for e in ordered:
        start = _slot_start(e.ts, site)
        day = start.date().isoformat()
        if e.type in (EventType.WINDOW_OPEN, EventType.WINDOW_CLOSE):
            slot_for(start, e.queue)  # counts a closing window as open during this slot
            windows = open_now.setdefault(e.queue, set())
            if e.type is EventType.WINDOW_OPEN:
                windows.add(e.window or "")
            else:
                windows.discard(e.window or "")
            slot_for(start, e.queue)
            continue
        key = (day, e.ticket or "")
        if e.type is EventType.ISSUED:
            issued_at[key], queue_of[key] = e.ts, e.queue
            slot_for(start, e.queue).issued += 1
        elif e.type is EventType.TRANSFERRED and e.to_queue:
            issued_at[key], queue_of[key] = e.ts, e.to_queue
            first_called.discard(key)
        elif e.type is EventType.CALLED and key not in first_called and key in issued_at:
            first_called.add(key)
            slot = slot_for(start, queue_of[key])
            slot.called += 1
            slot.waits.append((e.ts - issued_at[key]).total_seconds() / 60)

    names = {q.id: q.name.ja for q in site.queues}
    rows = []
    for (start, queue), slot in sorted(slots.items()):
        rows.append(
            {
                "date": start.date().isoformat(),
                "slot_start": start.strftime("%H:%M"),
                "queue": queue,
                "queue_name": names.get(queue, queue),
                "issued": str(slot.issued),
                "called": str(slot.called),
                "mean_wait_min": f"{sum(slot.waits) / len(slot.waits):.1f}" if slot.waits else "",
                "max_wait_min": f"{max(slot.waits):.1f}" if slot.waits else "",
                "open_windows": str(slot.open_windows),
            }
        )
    return rows


def waiting_times_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_FIELDS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def queue_status_document(
    site: SiteConfig, statuses: list[QueueStatus], generated_at: datetime
) -> dict[str, object]:
    """The `/opendata/queue-status.json` document: current state, names, licence, definitions."""
    return {
        "license": LICENSE,
        "site": site.site,
        "site_name": site.name.model_dump(),
        "generated_at": generated_at.isoformat(),
        "fields": {
            "waiting": "待ち人数 / tickets waiting",
            "now_calling": "窓口ごとの呼出中の番号 / number being called at each window",
            "open_windows": "開いている窓口 / windows open for the queue",
            "estimate": "待ち時間の目安 (秒, 下限・中央・上限) / estimated wait in seconds: lower, point, upper",
            "updated_at": "最終更新 / last event time",
            "accuracy_today": "今日の目安の実績: 発券時に示した目安と実際の待ち時間の平均絶対誤差(秒)、幅に収まった割合、件数"
            " / today's realized accuracy of the estimate shown at issue: mean absolute error (s),"
            " share of waits inside the range shown, number of called tickets",
        },
        "queues": [
            {
                **s.model_dump(mode="json", exclude={"version", "site"}),
                "name": q.name.model_dump(),
                "floor": q.floor,
                "procedures": q.procedures,
            }
            for s in statuses
            if (q := site.queue(s.queue)) is not None
        ],
    }
