"""The public page in a real headless Chromium: live updates, the demo, no-JS use, my ticket, layout.

Every test drives the real `lobby server` (or `lobby demo`) process over HTTP, fed over a real
mosquitto, so what is checked here is what a phone sees.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright

from lobby.schema import NowCalling, QueueStatus, WaitEstimate, events_topic
from queue_bridge.i18n import TEXT
from queue_bridge.page import render_page, ticket_message
from queue_bridge.site import load_site
from queue_bridge.status import TicketInfo
from tests.support import BridgeProcess, MqttProbe, event, free_port, wait_until
from tests.test_page import PageText

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
JA = TEXT["ja"]
RANGE = re.compile(r"^(\d+〜\d+分|\d+分以内|待ちなし)$")


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Browser contexts closed after the test, which fails if any page threw a JavaScript error."""
    made: list[BrowserContext] = []
    errors: list[str] = []

    def make(**options: Any) -> BrowserContext:
        ctx = browser.new_context(**options)
        ctx.on("weberror", lambda e: errors.append(str(e.error)))
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def context(new_context: Callable[..., BrowserContext]) -> BrowserContext:
    return new_context(viewport=PHONE, locale="ja-JP")


def _minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def _open_day(probe: MqttProbe, site: str, tickets: int = 5, queue: str = "A") -> None:
    """Windows W1 and W2 open on queue A, then `tickets` issued (A001…)."""
    for window in ("W1", "W2"):
        probe.publish(events_topic(site, queue), event(queue, "window_open", None, T0, window=window))
    for n in range(1, tickets + 1):
        probe.publish(events_topic(site, queue), event(queue, "issued", f"{queue}{n:03d}", _minutes(n)))


def _call(probe: MqttProbe, site: str, ticket: str, minute: float, window: str = "W1") -> None:
    probe.publish(events_topic(site, "A"), event("A", "called", ticket, _minutes(minute), window=window))


def _waiting(bridge: BridgeProcess, queue: str, n: int) -> None:
    wait_until(
        lambda: bridge.get(f"/api/v1/queues/{queue}").json()["status"]["waiting"] == n,
        what=f"{n} waiting in {queue}",
    )


def _wait_live(page: Page, lang: str = "ja") -> None:
    """The SSE stream is open: the script says so only from the stream's `open` event."""
    page.wait_for_function(
        "t => document.getElementById('live-text').textContent === t", arg=TEXT[lang]["live"], timeout=10_000
    )


def _field(page: Page, queue: str, name: str) -> str:
    return page.locator(f'#q-{queue} [data-f="{name}"]').inner_text().strip()


# -- 1. a called number reaches the phone within a second -----------------------------------


WATCH_CALLS = """() => {
  window.__seen = {};
  const list = document.querySelector('#q-A [data-f="now"]');
  const note = () => {
    for (const n of list.querySelectorAll('.n')) {
      if (!(n.textContent in window.__seen)) window.__seen[n.textContent] = Date.now();
    }
  };
  note();
  new MutationObserver(note).observe(list, {childList: true, subtree: true, characterData: true});
}"""


def test_called_number_appears_on_the_phone_within_one_second(
    bridge_process: BridgeProcess,
    probe: MqttProbe,
    new_context: Callable[..., BrowserContext],
    artifacts: Path,
) -> None:
    site = bridge_process.site_id
    _open_day(probe, site, tickets=5)
    _waiting(bridge_process, "A", 5)
    # The phone is in another time zone than the office: times must still be the office's.
    ctx = new_context(viewport=PHONE, locale="ja-JP", timezone_id="America/New_York")
    page = ctx.new_page()
    try:
        page.goto(bridge_process.url + "/")
        _wait_live(page)
        assert _field(page, "A", "now") == JA["none"]
        page.evaluate(WATCH_CALLS)

        dom_latency: list[float] = []
        seen_latency: list[float] = []
        for n, ticket in enumerate(["A001", "A002", "A003"], start=1):
            published_wall = time.time()
            start = time.monotonic()
            _call(probe, site, ticket, 10 + n)
            page.wait_for_function(
                "t => document.querySelector('#q-A [data-f=\"now\"]').textContent.includes(t)",
                arg=ticket,
                timeout=5_000,
                polling=10,
            )
            seen_latency.append(time.monotonic() - start)
            # When the number was in the DOM, by the page's own clock (same machine clock as ours).
            dom_latency.append(page.evaluate("t => window.__seen[t]", ticket) / 1000 - published_wall)
        print(
            f"publish→DOM latency s: {[round(x, 3) for x in dom_latency]}; seen by test: {[round(x, 3) for x in seen_latency]}"
        )
        assert max(dom_latency) < 1.0, dom_latency
        assert max(seen_latency) < 1.0, seen_latency

        assert re.fullmatch(r"A003番\s+1番窓口", _field(page, "A", "now"))
        assert _field(page, "A", "waiting") == "2人"
        assert RANGE.match(_field(page, "A", "estimate"))
        # The screen reader hears the new call in one sentence; the other queues stay silent.
        assert (
            page.locator('#q-A [data-f="say"]').text_content()
            == "証明書の発行：A003番の方、1番窓口へどうぞ。"
        )
        assert page.locator('#q-B [data-f="say"]').text_content() == ""
        page.screenshot(path=str(artifacts / "phone-live.png"))

        # What the script wrote reads exactly like a fresh server-rendered page (wording, range, time zone).
        static = new_context(java_script_enabled=False, viewport=PHONE)
        try:
            server = static.new_page()
            server.goto(bridge_process.url + "/")
            for name in ("now", "waiting", "estimate", "windows", "updated"):
                assert _field(page, "A", name) == _field(server, "A", name), name
        finally:
            static.close()
    finally:
        ctx.close()


def test_reconnect_snapshot_announces_nothing(
    bridge_process: BridgeProcess, probe: MqttProbe, context: BrowserContext
) -> None:
    """The stream's first frames repeat what the page already shows: no announcement for those."""
    site = bridge_process.site_id
    _open_day(probe, site, tickets=3)
    _call(probe, site, "A001", 5)
    _waiting(bridge_process, "A", 2)
    page = context.new_page()
    page.goto(bridge_process.url + "/")
    _wait_live(page)
    page.wait_for_timeout(300)  # the snapshot frames have been applied by now
    assert page.locator('[data-f="say"]').all_text_contents() == ["", "", ""]
    # A recall of the same ticket at the same window is a new call and is announced.
    probe.publish(events_topic(site, "A"), event("A", "recalled", "A001", _minutes(8), window="W1"))
    page.wait_for_function(
        "() => document.querySelector('#q-A [data-f=\"say\"]').textContent.includes('A001')"
    )


def test_lost_connection_says_so_and_catches_up(
    bridge_process: BridgeProcess, probe: MqttProbe, context: BrowserContext
) -> None:
    """The bridge restarts: the page says it is reconnecting (and offers a reload), then catches up."""
    site = bridge_process.site_id
    _open_day(probe, site, tickets=3)
    _waiting(bridge_process, "A", 3)
    page = context.new_page()
    page.goto(bridge_process.url + "/")
    _wait_live(page)
    assert not page.locator("#reload").is_visible()
    bridge_process.kill()
    page.wait_for_function(
        "t => document.getElementById('live-text').textContent === t", arg=JA["connecting"]
    )
    assert page.locator("#reload").is_visible()
    bridge_process.start()
    _call(probe, site, "A002", 9)
    _wait_live(page)
    page.wait_for_function(
        "() => document.querySelector('#q-A [data-f=\"now\"]').textContent.includes('A002')"
    )
    assert _field(page, "A", "waiting") == "2人"
    assert not page.locator("#reload").is_visible()


# -- 2. the demo, as `make demo` runs it --------------------------------------------------------


def test_demo_shows_changing_numbers_and_stops_cleanly_on_ctrl_c(
    new_context: Callable[..., BrowserContext], artifacts: Path, tmp_path: Path
) -> None:
    port, mqtt_port = free_port(), free_port()
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "lobby.cli", "demo", "--speed", "60"),
            *("--port", str(port), "--mqtt-port", str(mqtt_port), "--db", str(tmp_path / "demo.sqlite3")),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"demo exited with {proc.returncode}: {(tmp_path / 'demo.log').read_text()}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    ctx = new_context(viewport=PHONE, locale="ja-JP")
    try:
        wait_until(ready, 20, "demo /healthz")
        page = ctx.new_page()
        page.goto(url + "/")
        _wait_live(page)
        first = page.locator("[data-f=now], [data-f=waiting]").all_inner_texts()
        # The simulator alone (no probe) moves the numbers on the open page.
        page.wait_for_function(
            "first => JSON.stringify([...document.querySelectorAll('[data-f=now], [data-f=waiting]')]"
            ".map(e => e.innerText)) !== JSON.stringify(first)",
            arg=first,
            timeout=30_000,
        )
        page.wait_for_timeout(1500)  # a few more simulated minutes, for a busier screenshot
        for queue in ("A", "B", "C"):
            assert (
                RANGE.match(_field(page, queue, "estimate"))
                or _field(page, queue, "estimate") == JA["closed"]
            )
        page.screenshot(path=str(artifacts / "phone-demo.png"))
    finally:
        ctx.close()
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the demo did not stop within 10 s of Ctrl-C")
        stopped_in = time.monotonic() - start
        log.close()
    output = (tmp_path / "demo.log").read_text(errors="replace")
    assert code == 0, f"Ctrl-C should end the demo with status 0, got {code}: {output[-1500:]}"
    assert stopped_in < 5, stopped_in
    assert "Traceback" not in output, output[-1500:]


# -- 3. without JavaScript -------------------------------------------------------------------


def test_page_is_complete_without_javascript(
    bridge_process: BridgeProcess, probe: MqttProbe, new_context: Callable[..., BrowserContext]
) -> None:
    site = bridge_process.site_id
    _open_day(probe, site, tickets=5)
    _call(probe, site, "A001", 6)
    _waiting(bridge_process, "A", 4)
    ctx = new_context(java_script_enabled=False, viewport=PHONE)
    requests: list[str] = []
    ctx.on("request", lambda r: requests.append(r.url))
    try:
        page = ctx.new_page()
        page.goto(bridge_process.url + "/")
        assert page.locator("html").get_attribute("lang") == "ja"
        assert page.locator("#q-A h2").inner_text() == "証明書の発行 1階"
        assert re.fullmatch(r"A001番\s+1番窓口", _field(page, "A", "now"))
        assert _field(page, "A", "waiting") == "4人"
        assert RANGE.match(_field(page, "A", "estimate"))
        assert _field(page, "A", "windows") == "2か所"
        assert re.fullmatch(r"更新 \d\d:\d\d:\d\d", page.locator("#q-A .upd").inner_text())
        for queue, name in (("B", "転入・転出・転居"), ("C", "マイナンバーカード")):
            assert page.locator(f"#q-{queue} h2").inner_text().startswith(name)
            assert _field(page, queue, "now") == JA["none"]
            assert _field(page, queue, "estimate") == JA["no_wait"]
            assert _field(page, queue, "windows") == "0か所"
        # It says the numbers are a snapshot and offers the way to fresh ones.
        assert page.locator("#live-text").inner_text() == JA["static"]
        assert page.locator("#reload").is_visible()
        assert not any("/api/v1/stream" in url for url in requests)

        # "My ticket" is a plain GET form.
        page.fill("#ticket", "A005")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"ticket=A005"))
        assert (
            page.locator("#mine-result")
            .inner_text()
            .startswith("証明書の発行：あなたの前に3人\n待ち時間の目安：")
        )
        assert page.locator("#mine-alert").inner_text() == ""
        page.goto(bridge_process.url + "/?ticket=A003")
        assert page.locator("#mine-result").inner_text().startswith("証明書の発行：あなたの前に1人\n")
        assert page.locator("#mine-alert").get_attribute("class") == "alert"
        assert page.locator("#mine-alert").inner_text() == JA["soon"]
        page.goto(bridge_process.url + "/?ticket=A001")
        assert (
            page.locator("#mine-alert").inner_text() == "A001番は呼び出されました。1番窓口へお越しください。"
        )
        page.goto(bridge_process.url + "/?ticket=Z999")
        assert "見つかりません。番号を確かめてください" in page.locator("#mine-result").inner_text()

        # Language links keep the ticket and switch every word.
        page.goto(bridge_process.url + "/?ticket=A003")
        page.click("nav >> text=English")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "ticket=A003" in page.url
        assert page.locator("#q-A h2").inner_text() == "Certificates Floor 1"
        assert re.fullmatch(r"No\. A001\s+Window 1", _field(page, "A", "now"))
        assert _field(page, "A", "waiting") == "4"
        assert re.fullmatch(r"\d+–\d+ min|Up to \d+ min", _field(page, "A", "estimate"))
        assert (
            page.locator("#mine-result")
            .inner_text()
            .startswith("Certificates: 1 ahead of you\nEstimated wait: ")
        )
        assert page.locator("nav [aria-current]").inner_text() == "English"
        page.click("nav >> text=やさしい にほんご")
        assert page.locator("html").get_attribute("lang") == "ja"
        assert page.locator("h1").inner_text() == TEXT["easy"]["title"]
        assert page.locator("#q-A h2").inner_text() == "しょうめいしょ 1かい"
        assert _field(page, "A", "waiting") == "4にん"
        assert page.locator("#mine-alert").inner_text() == TEXT["easy"]["soon"]
        page.click("nav >> text=日本語")
        assert page.locator("h1").inner_text() == JA["title"]
    finally:
        ctx.close()


def test_no_js_form_finds_a_ticket_typed_in_full_width(
    bridge_process: BridgeProcess, probe: MqttProbe
) -> None:
    """A Japanese keyboard types ａ００３; without JavaScript the server must still find A003."""
    _open_day(probe, bridge_process.site_id, tickets=3)
    _waiting(bridge_process, "A", 3)
    html = bridge_process.get("/?ticket=%EF%BD%81%EF%BC%90%EF%BC%90%EF%BC%93").text  # ａ００３
    assert "あなたの前に2人" in html and 'value="A003"' in html


# -- 4. my ticket, live -------------------------------------------------------------------------

RECORD_VIBRATE = """
window.__vibrations = [];
Object.defineProperty(Navigator.prototype, 'vibrate', {
  configurable: true,
  value: function (pattern) { window.__vibrations.push(pattern); return true; },
});
"""


def test_my_ticket_counts_down_and_alerts_when_close(
    bridge_process: BridgeProcess, probe: MqttProbe, context: BrowserContext
) -> None:
    site = bridge_process.site_id
    _open_day(probe, site, tickets=6)
    _waiting(bridge_process, "A", 6)
    context.add_init_script(RECORD_VIBRATE)
    page = context.new_page()
    ticket_fetches: list[float] = []

    def on_request(request: Request) -> None:
        if "/api/v1/tickets/" in request.url:
            ticket_fetches.append(time.monotonic())

    page.on("request", on_request)
    page.goto(bridge_process.url + "/")
    _wait_live(page)
    result, alert = page.locator("#mine-result"), page.locator("#mine-alert")

    # Typed in lower case / full width as a Japanese keyboard may: still found.
    page.fill("#ticket", "ａ００６")
    page.click("button[type=submit]")
    page.wait_for_function("() => document.getElementById('mine-result').textContent.includes('5人')")
    assert result.inner_text().startswith("証明書の発行：あなたの前に5人\n待ち時間の目安：")
    assert page.input_value("#ticket") == "A006"
    assert "ticket=A006" in page.url  # a reload keeps the ticket
    assert alert.inner_text() == "" and alert.get_attribute("class") in ("", None)

    _call(probe, site, "A001", 10)
    _call(probe, site, "A002", 10.5, window="W2")
    page.wait_for_function("() => document.getElementById('mine-result').textContent.includes('3人')")
    assert alert.inner_text() == ""
    assert page.evaluate("window.__vibrations") == []

    # A status of another queue does not make the page ask for the ticket again.
    page.wait_for_timeout(200)
    fetches_before = len(ticket_fetches)
    probe.publish(events_topic(site, "B"), event("B", "issued", "B001", _minutes(11)))
    page.wait_for_function("() => document.querySelector('#q-B [data-f=\"waiting\"]').textContent === '1人'")
    page.wait_for_timeout(300)
    assert len(ticket_fetches) == fetches_before

    # Two ahead: the assertive region gets the alert, and the phone vibrates.
    _call(probe, site, "A003", 12)
    page.wait_for_function("() => document.getElementById('mine-alert').className === 'alert'", timeout=5_000)
    assert alert.get_attribute("role") == "alert" and alert.get_attribute("aria-live") == "assertive"
    assert alert.inner_text() == JA["soon"]
    assert "あなたの前に2人" in result.inner_text()
    assert page.evaluate("window.__vibrations") == [[300, 150, 300]]
    assert alert.is_visible()

    # Called: the alert says where to go, and vibrates once more (not on every update).
    _call(probe, site, "A006", 13, window="W2")
    page.wait_for_function("() => document.getElementById('mine-alert').textContent.includes('2番窓口')")
    assert alert.inner_text() == "A006番は呼び出されました。2番窓口へお越しください。"
    assert result.inner_text() == ""
    _call(probe, site, "A004", 14)
    page.wait_for_function(
        "() => document.querySelector('#q-A [data-f=\"now\"]').textContent.includes('A004')"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("window.__vibrations") == [[300, 150, 300], [300, 150, 300]]

    # Reopening the page later the same day remembers the ticket, without buzzing again.
    page.goto(bridge_process.url + "/")
    _wait_live(page)
    page.wait_for_function("() => document.getElementById('mine-alert').textContent.includes('A006')")
    assert page.input_value("#ticket") == "A006"
    assert page.evaluate("window.__vibrations") == []


# -- 5. accessibility and layout --------------------------------------------------------------


def _no_horizontal_overflow(page: Page) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    scroll = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        """w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 0.5 && e.getClientRects().length)
        .map(e => e.tagName + '#' + e.id + '.' + e.className)""",
        width,
    )
    assert scroll <= width and not wide, (scroll, wide)


@pytest.mark.parametrize("lang", ["ja", "en", "easy"])
def test_readable_at_320px_and_with_large_text(
    bridge_process: BridgeProcess,
    probe: MqttProbe,
    new_context: Callable[..., BrowserContext],
    artifacts: Path,
    lang: str,
) -> None:
    site = bridge_process.site_id
    _open_day(probe, site, tickets=4)
    _call(probe, site, "A001", 5)
    _call(probe, site, "A002", 5, window="W2")
    _waiting(bridge_process, "A", 2)
    for width, scale in ((320, 100), (320, 200), (390, 200)):
        ctx = new_context(viewport={"width": width, "height": 700}, locale="ja-JP")
        try:
            page = ctx.new_page()
            page.goto(f"{bridge_process.url}/?lang={lang}&ticket=Z999")  # the longest ticket message
            _wait_live(page, lang)
            base_px = page.evaluate(
                "parseFloat(getComputedStyle(document.querySelector('#q-A .n')).fontSize)"
            )
            if scale != 100:
                page.add_style_tag(content=f"html{{font-size:{scale}%}}")
                # Sizes follow the reader's text size: the called number grows with it.
                big_px = page.evaluate(
                    "parseFloat(getComputedStyle(document.querySelector('#q-A .n')).fontSize)"
                )
                assert big_px == pytest.approx(base_px * scale / 100)
            _no_horizontal_overflow(page)
            smallest = page.evaluate(
                """() => Math.min(...[...document.querySelectorAll('body *')]
                .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
                .filter(e => e.getClientRects().length && !e.closest('.sr'))
                .map(e => parseFloat(getComputedStyle(e).fontSize)))"""
            )
            assert smallest >= 13.5 * scale / 100, smallest
            if width == 320:
                page.screenshot(path=str(artifacts / f"phone-{lang}-320-{scale}.png"), full_page=True)
        finally:
            ctx.close()


@pytest.mark.parametrize(("lang", "html_lang"), [("ja", "ja"), ("en", "en"), ("easy", "ja")])
def test_landmarks_headings_and_live_regions(
    bridge_process: BridgeProcess, context: BrowserContext, lang: str, html_lang: str
) -> None:
    page = context.new_page()
    page.goto(f"{bridge_process.url}/?lang={lang}")
    assert page.locator("html").get_attribute("lang") == html_lang
    assert page.locator("h1").count() == 1
    assert page.locator("main").count() == 1 and page.locator("nav").count() == 1
    assert page.locator("nav").get_attribute("aria-label") == TEXT[lang]["languages"]
    cards = page.locator("section.q")
    assert cards.count() == 3
    for i in range(3):
        card = cards.nth(i)
        heading = card.locator("h2")
        assert heading.count() == 1
        assert card.get_attribute("aria-labelledby") == heading.get_attribute("id")
        live = card.locator("[aria-live]")
        assert live.count() == 1 and live.get_attribute("aria-live") == "polite"
        # Only that region is live: waiting counts and clocks do not chatter.
        assert card.locator('[data-f="now"]').get_attribute("aria-live") is None
    # The ticket input has a visible label; the alert region is assertive.
    assert page.get_by_label(TEXT[lang]["ticket_label"]).count() == 1
    assert page.locator("#mine-alert").get_attribute("aria-live") == "assertive"
    assert page.locator("#mine-result").get_attribute("role") == "status"
    # Each language link says which language it is in, for the screen reader's voice.
    for code, hl in (("ja", "ja"), ("en", "en"), ("easy", "ja")):
        assert page.locator(f"nav a:text-is('{TEXT[code]['lang_name']}')").get_attribute("lang") == hl


# -- 6. weight -------------------------------------------------------------------------------


def test_first_load_is_under_50_kb(
    bridge_process: BridgeProcess, probe: MqttProbe, context: BrowserContext
) -> None:
    site = bridge_process.site_id
    _open_day(probe, site, tickets=5)
    _call(probe, site, "A001", 6)
    _waiting(bridge_process, "A", 4)
    responses: list[Any] = []
    page = context.new_page()
    page.on("response", lambda r: responses.append(r))
    page.goto(bridge_process.url + "/?ticket=A004")
    _wait_live(page)
    page.wait_for_timeout(500)  # the ticket fetch after the stream opened has finished
    paths = sorted({httpx.URL(r.url).path for r in responses})
    # Nothing from elsewhere (a city hall network may be closed), no icon or font requests.
    assert all(r.url.startswith(bridge_process.url) for r in responses), [r.url for r in responses]
    assert paths == ["/", "/api/v1/stream", "/api/v1/tickets/A004", "/static/live.js"], paths
    total = 0
    for r in responses:
        if r.url.endswith("/api/v1/stream"):
            continue  # the live stream never ends; it is data, not page weight
        sizes = r.request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    print(f"first-load bytes (HTML + JS + ticket JSON, with headers): {total}")
    assert total < 50 * 1024, total


# -- the script words updates exactly like the server ----------------------------------------

FAKE_EVENTSOURCE = """
window.__sources = [];
window.EventSource = function (url) { this.url = url; this.readyState = 0; this.l = {}; window.__sources.push(this); };
window.EventSource.prototype.addEventListener = function (type, fn) { (this.l[type] = this.l[type] || []).push(fn); };
window.__emit = function (type, data) {
  window.__sources[0].l[type].forEach(function (fn) { fn({data: data}); });
};
"""
RENDER_ALL = """statuses => statuses.map(s => {
  window.__emit('status', s);
  const card = document.getElementById('q-' + JSON.parse(s).queue);
  const text = f => card.querySelector('[data-f="' + f + '"]').innerText.replace(/\\s+/g, ' ').trim();
  return [text('now'), text('waiting'), text('estimate'), text('windows'), text('updated'), text('say')];
})"""


@pytest.mark.parametrize("lang", ["ja", "en", "easy"])
def test_script_and_server_word_every_update_alike(
    new_context: Callable[..., BrowserContext], lang: str
) -> None:
    """live.js re-implements the page's wording (ranges, names, times); both must agree exactly."""
    site = load_site()
    base = "http://lobby.test"
    live_js = (Path(__file__).parents[1] / "queue_bridge" / "static" / "live.js").read_bytes()
    called = datetime(2026, 4, 1, 0, 30, 5, 123456, tzinfo=UTC)

    def status(
        queue: str, waiting: int, estimate: WaitEstimate | None, calls: list[tuple[str, str]], minute: int
    ) -> QueueStatus:
        return QueueStatus(
            site="demo",
            queue=queue,
            waiting=waiting,
            now_calling=[NowCalling(window=w, ticket=t, called_at=called) for w, t in calls],
            open_windows=["W1", "W2", "W3"][: 1 + waiting % 3],
            estimate=estimate,
            updated_at=called + timedelta(minutes=minute),
        )

    first = [
        status("A", 3, None, [("W1", "A001"), ("W2", "A002")], 0),
        status("B", 0, None, [], 0),
        status("C", 0, None, [], 0),
    ]
    updates: list[QueueStatus] = [first[0]]  # the stream's snapshot repeats the page: nothing is announced
    for i, (lower, upper) in enumerate(
        [(0, 1), (0, 299), (0, 300), (1, 301), (299, 600), (300, 300), (1799, 5400), (3601, 3602)]
    ):
        est = WaitEstimate(point_s=(lower + upper) / 2, lower_s=lower, upper_s=upper, method="t")
        updates.append(status("A", 1 + i, est, [("W1", "A001"), ("W2", f"A{10 + i:03d}")], i + 1))
    updates.append(status("A", 0, None, [("W1", "A001"), ("W2", "A017")], 20))
    updates.append(status("B", 2, None, [("W3", "B001")], 900))  # crosses midnight in Tokyo
    updates.append(status("A", 5, None, [], 21))

    tickets = {
        "A005": TicketInfo(
            ticket="A005",
            queue="A",
            state="waiting",
            ahead=4,
            window=None,
            estimate=WaitEstimate(point_s=900, lower_s=600, upper_s=1500, method="t"),
        ),
        "A004": TicketInfo(ticket="A004", queue="A", state="waiting", ahead=0, window=None, estimate=None),
        "C002": TicketInfo(ticket="C002", queue="C", state="called", ahead=0, window="W5", estimate=None),
        "B001": TicketInfo(ticket="B001", queue="B", state="served", ahead=0, window="W3", estimate=None),
        "A003": TicketInfo(ticket="A003", queue="A", state="no_show", ahead=0, window="W1", estimate=None),
        "Z999": None,
    }

    ctx = new_context(viewport=PHONE, timezone_id="Europe/London")
    try:
        ctx.add_init_script(FAKE_EVENTSOURCE)
        ctx.route(f"{base}/static/live.js", lambda r: r.fulfill(body=live_js, content_type="text/javascript"))

        def ticket_api(route: Any) -> None:
            number = route.request.url.rsplit("/", 1)[1]
            info = tickets[number]
            if info is None:
                route.fulfill(status=404, json={"detail": "not known"})
            else:
                route.fulfill(body=info.model_dump_json(), content_type="application/json")

        ctx.route(f"{base}/api/v1/tickets/*", ticket_api)
        html = render_page(site, first, lang)
        ctx.route(f"{base}/", lambda r: r.fulfill(body=html, content_type="text/html; charset=utf-8"))
        page = ctx.new_page()
        page.goto(f"{base}/")
        page.wait_for_function("() => window.__sources.length === 1")
        got = page.evaluate(RENDER_ALL, [s.model_dump_json() for s in updates])

        previous: dict[str, set[str]] = {"A": {"A001", "A002"}, "B": set(), "C": set()}
        for update, row in zip(updates, got, strict=True):
            fresh = [c for c in update.now_calling if c.ticket not in previous[update.queue]]
            previous[update.queue] = {c.ticket for c in update.now_calling}
            server = _server_fields(render_page(site, [update], lang), update.queue)
            assert row[:5] == server, (update, row)
            if fresh:  # exactly the new calls are announced, in the page's words
                assert all(c.ticket in row[5] for c in fresh) and "A001" not in row[5], row
            elif update is updates[0]:
                assert row[5] == "", row

        for number, info in tickets.items():
            page.fill("#ticket", number.lower())
            page.click("button[type=submit]")
            line, alert = ticket_message(lang, number, info, site)
            page.wait_for_function(
                "([l, a]) => document.getElementById('mine-result').textContent === l"
                " && document.getElementById('mine-alert').textContent === a",
                arg=[unescape(line), unescape(alert)],
                timeout=3_000,
            )
    finally:
        ctx.close()


def _server_fields(html: str, queue: str) -> list[str]:
    """The fields of one card of a server-rendered page, as innerText would give them."""
    parsed = PageText(html)
    return [
        parsed.get(f"q-{queue}/{field}") for field in ("now", "waiting", "estimate", "windows", "updated")
    ]
