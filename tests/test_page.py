"""The server-rendered public page and its wording, without a browser."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from importlib import resources

import pytest

from lobby.schema import NowCalling, QueueStatus, WaitEstimate
from queue_bridge.i18n import LANGS, SCRIPT_KEYS, TEXT, fill, lang_or_default, wait_text
from queue_bridge.page import SOON_AHEAD, normalize_ticket, page_url, render_page, ticket_message
from queue_bridge.site import SiteConfig, load_site
from queue_bridge.status import TicketInfo

SITE = load_site()
T0 = datetime(2026, 4, 1, 0, 30, 5, tzinfo=UTC)  # 09:30:05 in Tokyo
VOID = {"meta", "link", "input", "br", "img", "hr"}


def est(lower_min: float, upper_min: float) -> WaitEstimate:
    return WaitEstimate(
        point_s=(lower_min + upper_min) * 30, lower_s=lower_min * 60, upper_s=upper_min * 60, method="test"
    )


def status(
    queue: str = "A", waiting: int = 4, calls: tuple[tuple[str, str], ...] = (), **kw: object
) -> QueueStatus:
    values: dict[str, object] = {
        "site": "demo",
        "queue": queue,
        "waiting": waiting,
        "now_calling": [NowCalling(window=w, ticket=t, called_at=T0) for w, t in calls],
        "open_windows": ["W1", "W2"],
        "estimate": est(10, 20),
        "updated_at": T0,
        **kw,
    }
    return QueueStatus.model_validate(values)


def statuses() -> list[QueueStatus]:
    return [status("A", 4, (("W1", "A001"), ("W2", "A002"))), status("B", 0), status("C", 2, estimate=None)]


class PageText(HTMLParser):
    """Collects the text of elements by id / data-f, and checks that every element is closed."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, str] = {}
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.errors: list[str] = []
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {[t for t, _ in self.stack]}")

    def _keys(self) -> list[str]:
        keys, card = [], ""
        for _, a in self.stack:
            if a.get("id", "") and str(a.get("id")).startswith("q-"):
                card = str(a["id"])
            if a.get("id"):
                keys.append(str(a["id"]))
            if a.get("data-f"):
                keys.append(f"{card}/{a['data-f']}")
        return keys

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            if a["id"] in self.attrs:
                self.errors.append(f"duplicate id {a['id']}")
            self.attrs[str(a["id"])] = a
        if tag not in VOID:
            self.stack.append((tag, a))
            for key in self._keys():
                self.text.setdefault(key, "")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1][0] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for key in self._keys():
            self.text[key] = self.text.get(key, "") + data

    def get(self, key: str) -> str:
        return re.sub(r"\s+", " ", self.text[key]).strip()


@pytest.mark.parametrize("lang", LANGS)
def test_page_is_well_formed_and_has_every_field(lang: str) -> None:
    html = render_page(SITE, statuses(), lang)
    page = PageText(html)
    assert page.errors == []
    t = TEXT[lang]
    assert f'<html lang="{"en" if lang == "en" else "ja"}">' in html
    for q in SITE.queues:
        heading = page.get(f"h-{q.id}")
        assert heading.startswith(q.name.get(lang))
        assert fill(t["floor"], n=q.floor) in heading
        for field in ("now", "waiting", "estimate", "windows", "updated"):
            assert page.get(f"q-{q.id}/{field}"), (q.id, field)
    calls = [(fill(t["ticket_no"], ticket=f"A00{n}"), SITE.windows[n - 1].name.get(lang)) for n in (1, 2)]
    assert page.get("q-A/now") == " ".join(f"{ticket} {window}" for ticket, window in calls)
    assert page.get("q-A/waiting") == fill(t["people"], n=4)
    assert page.get("q-A/estimate") == fill(t["minutes"], lo=10, hi=20)
    assert page.get("q-A/windows") == fill(t["windows_n"], n=2)
    assert page.get("q-A/updated") == "09:30:05"  # the office's time zone
    assert page.get("q-B/now") == t["none"]
    assert page.get("q-B/estimate") == t["no_wait"]
    assert page.get("q-C/estimate") == t["closed"]
    assert page.get("live-text") == t["static"]
    # The reload link and the language links stay in this language.
    assert page.attrs["reload"]["href"] == page_url(lang)
    assert len(html.encode()) < 25_000


def test_script_data_is_json_with_the_strings_the_script_uses() -> None:
    html = render_page(SITE, statuses(), "en")
    found = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    data = json.loads(found[1])
    assert data["lang"] == "en" and data["tz"] == "Asia/Tokyo" and data["soon"] == SOON_AHEAD
    assert set(data["t"]) == set(SCRIPT_KEYS)
    assert data["windows"]["W1"] == "Window 1" and data["queues"]["B"] == "Moving in / out"
    script = resources.files("queue_bridge").joinpath("static/live.js").read_text("utf-8")
    for key in SCRIPT_KEYS:
        assert re.search(rf"\bt\.{key}\b", script), f"live.js does not use t.{key}: drop it from SCRIPT_KEYS"


def test_site_names_cannot_break_out_of_the_page() -> None:
    raw = SITE.model_dump()
    raw["name"] = {"ja": "</script><script>alert(1)</script>", "en": "<b>x</b> & co"}
    raw["queues"][0]["name"]["ja"] = "<i>証明書</i>"
    site = SiteConfig.model_validate(raw)
    html = render_page(site, statuses(), "ja", ticket_query='"><img src=x>')
    assert "<script>alert(1)" not in html and "<i>証明書" not in html and "<img src=x>" not in html
    assert html.count("</script>") == 2  # page data + live.js, nothing injected
    assert PageText(html).errors == []
    data = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', html, re.S)
    assert data is not None and json.loads(data[1])["queues"]["A"] == "<i>証明書</i>"


def test_language_links_keep_the_ticket_and_mark_the_current_one() -> None:
    html = render_page(SITE, statuses(), "easy", ticket_query="A003")
    links = re.findall(
        r'<li><a href="([^"]+)" lang="(\w+)" hreflang="\w+"( aria-current="true")?>([^<]+)</a>', html
    )
    assert [(unescape(h), lang, bool(cur), name) for h, lang, cur, name in links] == [
        ("/?ticket=A003", "ja", False, "日本語"),
        ("/?lang=en&ticket=A003", "en", False, "English"),
        ("/?lang=easy&ticket=A003", "ja", True, "やさしい にほんご"),
    ]
    assert '<input type="hidden" name="lang" value="easy">' in html
    assert page_url("ja") == "/" and page_url("en", "A 1") == "/?lang=en&ticket=A+1"


def _info(state: str, ahead: int | None = 0, window: str | None = None, queue: str = "A") -> TicketInfo:
    return TicketInfo.model_validate(
        {
            "ticket": "A007",
            "queue": queue,
            "state": state,
            "ahead": ahead,
            "window": window,
            "estimate": est(5, 15),
        }
    )


@pytest.mark.parametrize(
    ("info", "line", "alert"),
    [
        (_info("waiting", 5), "証明書の発行：あなたの前に5人\n待ち時間の目安：5〜15分", ""),
        (_info("waiting", SOON_AHEAD + 1), "証明書の発行：あなたの前に3人\n待ち時間の目安：5〜15分", ""),
        (
            _info("waiting", SOON_AHEAD),
            "証明書の発行：あなたの前に2人\n待ち時間の目安：5〜15分",
            TEXT["ja"]["soon"],
        ),
        (
            _info("waiting", 0),
            "証明書の発行：次があなたの番です\n待ち時間の目安：5〜15分",
            TEXT["ja"]["soon"],
        ),
        (_info("waiting", 4, queue="C"), "マイナンバーカード：あなたの前に4人\n待ち時間の目安：5〜15分", ""),
        (_info("called", window="W3"), "", "A007番は呼び出されました。3番窓口へお越しください。"),
        (_info("served", window="W3"), "A007番の手続きは終わっています。", ""),
        (_info("no_show", window="W3"), TEXT["ja"]["no_show"].replace("{ticket}", "A007"), ""),
        (None, TEXT["ja"]["unknown"].replace("{ticket}", "A007"), ""),
    ],
)
def test_ticket_messages(info: TicketInfo | None, line: str, alert: str) -> None:
    assert ticket_message("ja", "A007", info, SITE) == (line, alert)
    html = render_page(SITE, statuses(), "ja", "A007", info)
    page = PageText(html)
    assert page.get("mine-result") == " ".join(line.split()) and page.get("mine-alert") == alert
    assert ('id="mine-alert" role="alert" aria-live="assertive" class="alert"' in html) == bool(alert)


def test_unknown_ticket_says_what_to_do_in_every_language() -> None:
    for lang, hint in (("ja", "確かめて"), ("en", "check the number"), ("easy", "みてください")):
        line, alert = ticket_message(lang, "Z9", None, SITE)
        assert "Z9" in line and hint in line and alert == ""


@pytest.mark.parametrize(
    ("waiting", "estimate", "expected"),
    [
        (0, est(10, 20), "待ちなし"),
        (3, None, TEXT["ja"]["closed"]),
        (1, est(0, 3), "5分以内"),
        (1, est(0, 5), "5分以内"),
        (1, est(4.99, 5.01), "10分以内"),
        (2, est(5, 5), "5〜10分"),
        (9, est(12, 38), "10〜40分"),
        (9, est(61, 61.5), "60〜65分"),
    ],
)
def test_wait_is_a_range_in_five_minute_steps(
    waiting: int, estimate: WaitEstimate | None, expected: str
) -> None:
    assert wait_text("ja", waiting, estimate) == expected


def test_wait_range_is_never_a_single_number_and_covers_the_estimate() -> None:
    for lower in range(0, 120 * 60, 37):
        for spread in (0, 1, 61, 299, 300, 1800):
            estimate = WaitEstimate(point_s=lower, lower_s=lower, upper_s=lower + spread, method="t")
            text = wait_text("en", 1, estimate)
            numbers = [int(n) for n in re.findall(r"\d+", text)]
            if text.startswith("Up to"):
                assert numbers[0] * 60 >= estimate.upper_s and numbers[0] % 5 == 0, text
            else:
                lo, hi = numbers
                assert lo < hi and lo % 5 == 0 and hi % 5 == 0, text
                assert lo * 60 <= estimate.lower_s and hi * 60 >= estimate.upper_s, (text, estimate)


def test_every_language_has_every_string_with_the_same_placeholders() -> None:
    keys = set(TEXT["ja"])
    for lang in LANGS:
        assert set(TEXT[lang]) == keys, lang
        for key in keys:
            assert set(re.findall(r"\{(\w+)\}", TEXT[lang][key])) == set(
                re.findall(r"\{(\w+)\}", TEXT["ja"][key])
            ), (
                lang,
                key,
            )
    assert (
        lang_or_default("fr") == "ja" and lang_or_default(None) == "ja" and lang_or_default("easy") == "easy"
    )


def test_fill_is_one_pass_like_the_script() -> None:
    assert fill("{a}-{b}", a="{b}", b="x") == "{b}-x"
    assert fill("{a} {missing}", a=1) == "1 {missing}"


@pytest.mark.parametrize(
    ("typed", "ticket"), [("A003", "A003"), (" a003 ", "A003"), ("Ａ００３", "A003"), ("ｂ－１２", "B-12")]
)
def test_typed_ticket_numbers_are_normalized(typed: str, ticket: str) -> None:
    assert normalize_ticket(typed) == ticket


def test_updated_time_is_in_the_site_time_zone_even_for_naive_call_times() -> None:
    naive = status("A", 1, updated_at=T0 + timedelta(hours=15))  # 00:30:05 next day in Tokyo
    html = render_page(SITE, [naive, status("B", 0), status("C", 0)], "ja")
    assert PageText(html).get("q-A/updated") == "00:30:05"
