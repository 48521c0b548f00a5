"""Words of the public page in Japanese, English and やさしい日本語, and how waits are worded.

The same strings are handed to the page's script (`SCRIPT_KEYS`), so live updates read exactly
like the server-rendered page. Placeholders are `{name}`; both sides fill them the same way.
"""

from __future__ import annotations

import math
import re

from lobby.schema import EstimateAccuracy, WaitEstimate

LANGS = ("ja", "en", "easy")

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

#: The `lang` attribute of each page language (やさしい日本語 is Japanese).
HTML_LANG = {"ja": "ja", "en": "en", "easy": "ja"}

TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "title": "窓口の呼出し状況",
        "languages": "言語",
        "now_calling": "呼出中の番号",
        "waiting": "お待ちの人数",
        "people": "{n}人",
        "estimate": "待ち時間の目安",
        "open_windows": "開いている窓口",
        "windows_n": "{n}か所",
        "updated": "更新",
        "floor": "{n}階",
        "none": "なし",
        "no_wait": "待ちなし",
        "closed": "目安なし（窓口休止中）",
        "minutes": "{lo}〜{hi}分",
        "under": "{hi}分以内",
        "ticket_no": "{ticket}番",
        "announce": "{queue}：{ticket}番の方、{window}へどうぞ。",
        "my_ticket": "わたしの番号",
        "ticket_label": "整理券の番号（例：A012）",
        "check": "調べる",
        "ahead": "{queue}：あなたの前に{n}人",
        "next": "{queue}：次があなたの番です",
        "ticket_wait": "{head}\n待ち時間の目安：{wait}",
        "called": "{ticket}番は呼び出されました。{window}へお越しください。",
        "done": "{ticket}番の手続きは終わっています。",
        "no_show": "{ticket}番はお呼びしましたが、お見えになりませんでした。お近くの窓口でお声がけください。",
        "unknown": "{ticket}番は見つかりません。番号を確かめてください。発券直後なら少し待ってからもう一度お試しください。",
        "soon": "まもなく呼ばれます。窓口の近くでお待ちください。",
        "live": "自動で更新しています。",
        "connecting": "接続が切れました。自動でつなぎ直しています…",
        "static": "表示は読み込んだ時点のものです。",
        "reload": "最新の情報に更新",
        "check_failed": "番号を確認できませんでした。電波のよい場所で、もう一度「調べる」を押してください。",
        "accuracy_note": "待ち時間は幅のある目安です。実際とは前後します。",
        "accuracy": "今日の実績：目安との差は平均{min}分、{pct}%が表示した幅に収まりました（{n}人）",
        "opendata": "オープンデータ（CC BY 4.0）",
        "lang_name": "日本語",
    },
    "en": {
        "title": "Counter queue status",
        "languages": "Language",
        "now_calling": "Now calling",
        "waiting": "People waiting",
        "people": "{n}",
        "estimate": "Estimated wait",
        "open_windows": "Open windows",
        "windows_n": "{n}",
        "updated": "Updated",
        "floor": "Floor {n}",
        "none": "None yet",
        "no_wait": "No wait",
        "closed": "No estimate (windows closed)",
        "minutes": "{lo}–{hi} min",
        "under": "Up to {hi} min",
        "ticket_no": "No. {ticket}",
        "announce": "{queue}: No. {ticket}, please go to {window}.",
        "my_ticket": "My ticket",
        "ticket_label": "Ticket number (e.g. A012)",
        "check": "Check",
        "ahead": "{queue}: {n} ahead of you",
        "next": "{queue}: you are next",
        "ticket_wait": "{head}\nEstimated wait: {wait}",
        "called": "No. {ticket} has been called. Please go to {window}.",
        "done": "No. {ticket} has already been served.",
        "no_show": "No. {ticket} was called but did not come. Please speak to staff at a counter.",
        "unknown": "No. {ticket} was not found. Please check the number; if you just took it, try again in a moment.",
        "soon": "You will be called soon. Please wait near the counter.",
        "live": "Updating automatically.",
        "connecting": "Connection lost. Reconnecting automatically…",
        "static": "Shown as of loading the page.",
        "reload": "Get the latest",
        "check_failed": "Could not check the number. Please press Check again where the signal is good.",
        "accuracy_note": "Waits are a rough range; the actual wait can be shorter or longer.",
        "accuracy": "Today the estimate was off by {min} min on average; {pct}% of waits fell in the range shown ({n} people)",
        "opendata": "Open data (CC BY 4.0)",
        "lang_name": "English",
    },
    "easy": {
        "title": "まどぐちの ばんごう",
        "languages": "ことば",
        "now_calling": "いま よんでいる ばんごう",
        "waiting": "まっている ひと",
        "people": "{n}にん",
        "estimate": "まつ じかん",
        "open_windows": "あいている まどぐち",
        "windows_n": "{n}こ",
        "updated": "じこく",
        "floor": "{n}かい",
        "none": "まだ ありません",
        "no_wait": "またない",
        "closed": "わからない（まどぐちが やすみ）",
        "minutes": "{lo}ぷん〜{hi}ぷん",
        "under": "{hi}ぷんまで",
        "ticket_no": "{ticket}ばん",
        "announce": "{queue}：{ticket}ばんの ひと、{window}へ きてください。",
        "my_ticket": "わたしの ばんごう",
        "ticket_label": "かみの ばんごう（れい：A012）",
        "check": "しらべる",
        "ahead": "{queue}：あなたの まえに {n}にん",
        "next": "{queue}：つぎは あなたです",
        "ticket_wait": "{head}\nまつ じかん：{wait}",
        "called": "{ticket}ばんを よびました。{window}へ きてください。",
        "done": "{ticket}ばんは おわりました。",
        "no_show": "{ticket}ばんを よびましたが、いませんでした。まどぐちの ひとに はなしてください。",
        "unknown": "{ticket}ばんは ありません。ばんごうを みてください。",
        "soon": "もうすぐ よばれます。まどぐちの ちかくで まってください。",
        "live": "じどうで かわります。",
        "connecting": "つながりません。いま つなぎなおして います…",
        "static": "ひらいた ときの じょうほう です。",
        "reload": "あたらしく する",
        "check_failed": "しらべられませんでした。もういちど「しらべる」を おしてください。",
        "accuracy_note": "まつ じかんは だいたいです。",
        "accuracy": "きょう、まつ じかんの ずれは だいたい {min}ぷん でした。{pct}% の ひとが はばの なかでした（{n}にん）",
        "opendata": "オープンデータ（CC BY 4.0）",
        "lang_name": "やさしい にほんご",
    },
}

#: The strings the live script needs (it words updates itself); the rest stay on the server.
SCRIPT_KEYS = (
    "people",
    "windows_n",
    "none",
    "no_wait",
    "closed",
    "minutes",
    "under",
    "ticket_no",
    "announce",
    "ahead",
    "next",
    "ticket_wait",
    "called",
    "done",
    "no_show",
    "unknown",
    "soon",
    "live",
    "connecting",
    "static",
    "check_failed",
    "accuracy",
)


def lang_or_default(lang: str | None) -> str:
    return lang if lang in LANGS else "ja"


def fill(template: str, **values: object) -> str:
    """Fill `{name}` placeholders in one pass, like the page script's `fmt` (no format-spec surprises)."""
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def accuracy_text(lang: str, accuracy: EstimateAccuracy | None) -> str:
    """Today's realized accuracy in one sentence, or "" before any ticket has been called.

    `static/live.js` has the same rule (`accuracyText`)."""
    if accuracy is None:
        return ""
    minutes = max(1, round(accuracy.mae_s / 60))
    return fill(
        TEXT[lang]["accuracy"], min=minutes, pct=round(accuracy.within_range * 100), n=accuracy.samples
    )


def wait_bounds_min(estimate: WaitEstimate) -> tuple[int, int]:
    """The range in whole 5-minute steps (lower rounded down, upper up, at least 5 minutes wide):
    what the page shows and the robot says."""
    lo = int(estimate.lower_s // 300) * 5
    return lo, max(5, lo + 5, math.ceil(estimate.upper_s / 300) * 5)


def wait_text(lang: str, waiting: int, estimate: WaitEstimate | None) -> str:
    """A wait as people read it: a range in 5-minute steps, never a false-precise number.

    `static/live.js` has the same rule (`waitText`); a browser test checks they agree.
    """
    t = TEXT[lang]
    if waiting == 0:
        return t["no_wait"]
    if estimate is None:
        return t["closed"]
    lo, hi = wait_bounds_min(estimate)
    if lo == 0:
        return fill(t["under"], hi=hi)
    return fill(t["minutes"], lo=lo, hi=hi)
