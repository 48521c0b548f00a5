"""What staff taught the robots from their unanswered questions, as the robots learn it.

Staff teach on the dashboard (staff_web); each example is stored (staff_store) and reaches the
robots two ways, built here from the same table: the retained MQTT message every robot of the site
learns from as soon as it arrives (`site_examples`), and the file an operator can install by hand
(staff_page.examples_yaml).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lobby.schema import SiteExamples
from queue_bridge.site import SiteConfig
from queue_bridge.staff_store import TaughtExample

#: The intents that are not a place, as the robot's examples name them (speech/examples.py; not
#: imported from there, which would load scikit-learn into the server).
HANDOFF, CLARIFY = "handoff", "clarify"


def guide_places(site: SiteConfig) -> list[tuple[str, str, object]]:
    """The site's `guide:` procedures, then its facilities, in the site file's order, as (group,
    id, entry). The bridge does not validate the guide (the robot does): a group that is not a
    mapping has no places."""
    guide = site.guide or {}
    places: list[tuple[str, str, object]] = []
    for group in ("procedures", "facilities"):
        entries = guide.get(group)
        places += (
            [(group, str(key), entry) for key, entry in entries.items()] if isinstance(entries, dict) else []
        )
    return places


def intent_ids(site: SiteConfig) -> list[str]:
    """What a visitor may have meant: the site's places, then a hand-off and a clarifying question."""
    return [*(key for _group, key, _entry in guide_places(site)), HANDOFF, CLARIFY]


def taught_table(
    examples: Sequence[TaughtExample], order: Sequence[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Intent id → what visitors said (intents in `order`, each one's utterances oldest first), and
    the intents taught that are not in `order` any more (sorted): a site file that dropped one. Those
    are left out, since a robot refuses examples of an intent its site does not have."""
    table: dict[str, list[str]] = {}
    for x in sorted(examples, key=lambda e: e.id):
        if x.target in order:
            table.setdefault(x.target, []).append(x.text)
    stale = sorted({x.target for x in examples} - set(order))
    return {k: table[k] for k in order if k in table}, stale


def site_examples(site: SiteConfig, examples: Sequence[TaughtExample], now: datetime) -> SiteExamples:
    """The retained message of the site's taught examples (unsigned: the MQTT shell signs it). An
    empty table is a message too: it tells the robots to forget what was removed."""
    table, _stale = taught_table(examples, intent_ids(site))
    return SiteExamples(site=site.site, updated_at=now, examples=table)
