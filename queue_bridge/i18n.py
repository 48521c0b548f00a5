"""Words of the public page in Japanese, English and やさしい日本語, and how waits are worded.

The same strings are handed to the page's script, so live updates read exactly like the
server-rendered page.
"""

from __future__ import annotations

import math

from lobby.schema import WaitEstimate

LANGS = ("ja", "en", "easy")

TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "title": "窓口の呼出し状況",
        "now_calling": "呼出中の番号",
        "waiting": "お待ちの人数",
        "people": "{n}人",
        "estimate": "待ち時間の目安",
        "open_windows": "開いている窓口",
        "updated": "更新",
        "floor": "{n}階",
        "none": "なし",
        "no_wait": "待ちなし",
        "closed": "受付を休止中",
        "minutes": "{lo}〜{hi}分",
        "under": "{hi}分未満",
        "window_of": "{ticket}番（{window}）",
        "my_ticket": "わたしの番号",
        "ticket_label": "整理券の番号",
        "check": "調べる",
        "ahead": "あなたの前に{n}人",
        "called": "{ticket}番は呼び出されました。{window}へお越しください。",
        "done": "{ticket}番の手続きは終わっています。",
        "unknown": "{ticket}番は見つかりません。番号を確かめてください。",
        "soon": "まもなく呼ばれます。窓口の近くでお待ちください。",
        "live": "自動で更新しています",
        "static": "ページを再読み込みすると最新になります",
        "accuracy_note": "目安は幅で表示しています。実際の待ち時間は前後します。",
        "opendata": "オープンデータ（CC BY 4.0）",
        "lang_name": "日本語",
    },
    "en": {
        "title": "Counter queue status",
        "now_calling": "Now calling",
        "waiting": "People waiting",
        "people": "{n}",
        "estimate": "Estimated wait",
        "open_windows": "Open windows",
        "updated": "Updated",
        "floor": "Floor {n}",
        "none": "None",
        "no_wait": "No wait",
        "closed": "Paused",
        "minutes": "{lo}–{hi} min",
        "under": "Under {hi} min",
        "window_of": "No. {ticket} ({window})",
        "my_ticket": "My ticket",
        "ticket_label": "Ticket number",
        "check": "Check",
        "ahead": "{n} ahead of you",
        "called": "No. {ticket} has been called. Please go to {window}.",
        "done": "No. {ticket} has already been served.",
        "unknown": "No. {ticket} was not found. Please check the number.",
        "soon": "You will be called soon. Please wait near the counter.",
        "live": "Updating automatically",
        "static": "Reload the page for the latest numbers",
        "accuracy_note": "Waits are shown as a range; the actual wait can differ.",
        "opendata": "Open data (CC BY 4.0)",
        "lang_name": "English",
    },
    "easy": {
        "title": "まどぐちの ばんごう",
        "now_calling": "いま よんでいる ばんごう",
        "waiting": "まっている ひと",
        "people": "{n}にん",
        "estimate": "まつ じかん",
        "open_windows": "あいている まどぐち",
        "updated": "じこく",
        "floor": "{n}かい",
        "none": "なし",
        "no_wait": "またない",
        "closed": "いま やすみ",
        "minutes": "{lo}ぷん〜{hi}ぷん",
        "under": "{hi}ぷんより みじかい",
        "window_of": "{ticket}ばん（{window}）",
        "my_ticket": "わたしの ばんごう",
        "ticket_label": "かみの ばんごう",
        "check": "しらべる",
        "ahead": "まえに {n}にん",
        "called": "{ticket}ばんを よびました。{window}へ きてください。",
        "done": "{ticket}ばんは おわりました。",
        "unknown": "{ticket}ばんは ありません。ばんごうを みてください。",
        "soon": "もうすぐ よばれます。まどぐちの ちかくで まってください。",
        "live": "じどうで かわります",
        "static": "ページを もういちど ひらくと あたらしく なります",
        "accuracy_note": "まつ じかんは だいたいです。",
        "opendata": "オープンデータ（CC BY 4.0）",
        "lang_name": "やさしい にほんご",
    },
}


def lang_or_default(lang: str | None) -> str:
    return lang if lang in LANGS else "ja"


def wait_text(lang: str, waiting: int, estimate: WaitEstimate | None) -> str:
    """A wait as people read it: a range in 5-minute steps, never a false-precise number."""
    t = TEXT[lang]
    if waiting == 0:
        return t["no_wait"]
    if estimate is None:
        return t["closed"]
    lo = int(estimate.lower_s // 300) * 5
    hi = max(5, lo + 5, math.ceil(estimate.upper_s / 300) * 5)
    if lo == 0:
        return t["under"].format(hi=hi)
    return t["minutes"].format(lo=lo, hi=hi)
