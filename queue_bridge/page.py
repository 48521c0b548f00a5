"""The public phone page, rendered on the server: complete without JavaScript.

`static/live.js` only adds live updates (SSE) and the "my ticket" alert. Sizes are in rem so the
page follows the phone's text size; the layout is one column down to 320 px.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

from lobby.schema import QueueStatus
from queue_bridge.i18n import LANGS, TEXT, wait_text
from queue_bridge.site import SiteConfig
from queue_bridge.status import TicketInfo

CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;line-height:1.5;
color:#111;background:#f4f4f1}
header,main,footer{max-width:40rem;margin:0 auto;padding:.75rem}
h1{font-size:1.4rem;margin:.2rem 0}
nav a{margin-right:.8rem;color:#0645ad}
.q{background:#fff;border:2px solid #333;border-radius:.5rem;padding:.75rem;margin:.75rem 0}
.q h2{font-size:1.2rem;margin:0 0 .4rem}
.fl{font-weight:normal;font-size:1rem}
dl{margin:0;display:grid;grid-template-columns:1fr 1fr;gap:.4rem}
dl div{min-width:0}
dt{font-size:.85rem;color:#333}
dd{margin:0;font-size:1.25rem;font-weight:bold;overflow-wrap:anywhere}
dd.now{font-size:1.6rem;color:#003f8a}
.upd{font-size:.85rem;margin:.4rem 0 0;color:#333}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
input,button{font-size:1.2rem;padding:.4rem .6rem}
input{width:8em}
button{background:#003f8a;color:#fff;border:0;border-radius:.3rem}
.mine{background:#fff;border:3px solid #003f8a;border-radius:.5rem;padding:.75rem}
.alert{background:#ffe08a;border-color:#8a5a00}
footer{font-size:.85rem}
@media (max-width:22rem){dl{grid-template-columns:1fr}}
"""


def _fmt_time(ts: datetime, site: SiteConfig) -> str:
    return ts.astimezone(site.tz).strftime("%H:%M:%S")


def _now_calling(status: QueueStatus, site: SiteConfig, lang: str) -> str:
    t = TEXT[lang]
    if not status.now_calling:
        return t["none"]
    names = {w.id: w.name.get(lang) for w in site.windows}
    return "、".join(
        t["window_of"].format(ticket=escape(c.ticket), window=escape(names.get(c.window, c.window)))
        for c in status.now_calling
    )


def queue_card(status: QueueStatus, site: SiteConfig, lang: str) -> str:
    t = TEXT[lang]
    q = site.queue(status.queue)
    assert q is not None
    qid = escape(status.queue)
    return f"""<section class="q" id="q-{qid}" aria-labelledby="h-{qid}" data-queue="{qid}">
<h2 id="h-{qid}">{escape(q.name.get(lang))} <span class="fl">{t["floor"].format(n=q.floor)}</span></h2>
<dl>
<div><dt>{t["now_calling"]}</dt><dd class="now" data-f="now" aria-live="polite">{_now_calling(status, site, lang)}</dd></div>
<div><dt>{t["waiting"]}</dt><dd data-f="waiting">{t["people"].format(n=status.waiting)}</dd></div>
<div><dt>{t["estimate"]}</dt><dd data-f="estimate">{wait_text(lang, status.waiting, status.estimate)}</dd></div>
<div><dt>{t["open_windows"]}</dt><dd data-f="windows">{len(status.open_windows)}</dd></div>
</dl>
<p class="upd">{t["updated"]} <time data-f="updated" datetime="{status.updated_at.isoformat()}">{_fmt_time(status.updated_at, site)}</time></p>
</section>"""


def ticket_box(lang: str, query: str | None, info: TicketInfo | None, site: SiteConfig) -> str:
    t = TEXT[lang]
    result = ""
    if query:
        q = escape(query)
        css = "mine"
        if info is None:
            msg = t["unknown"].format(ticket=q)
        elif info.state == "waiting":
            msg = f"{t['ahead'].format(n=info.ahead)} · {t['estimate']}: {wait_text(lang, 1, info.estimate)}"
            if info.ahead is not None and info.ahead <= 2:
                msg += f" {t['soon']}"
                css = "mine alert"
        elif info.state == "called":
            names = {w.id: w.name.get(lang) for w in site.windows}
            msg = t["called"].format(ticket=q, window=escape(names.get(info.window or "", info.window or "")))
            css = "mine alert"
        else:
            msg = t["done"].format(ticket=q)
        result = f'<p id="mine-result" class="{css}" role="status" aria-live="assertive">{msg}</p>'
    else:
        result = '<p id="mine-result" role="status" aria-live="assertive" hidden></p>'
    value = escape(query or "")
    return f"""<section aria-labelledby="h-mine">
<h2 id="h-mine">{t["my_ticket"]}</h2>
<form method="get" action="/" id="mine">
<input type="hidden" name="lang" value="{lang}">
<label>{t["ticket_label"]}<br><input name="ticket" id="ticket" value="{value}" inputmode="text"
 autocomplete="off" maxlength="16" pattern="[A-Za-z0-9\\-]{{1,16}}" required></label>
<button type="submit">{t["check"]}</button>
</form>
{result}
</section>"""


def render_page(
    site: SiteConfig,
    statuses: list[QueueStatus],
    lang: str,
    ticket_query: str | None = None,
    ticket: TicketInfo | None = None,
) -> str:
    t = TEXT[lang]
    html_lang = "en" if lang == "en" else "ja"
    current = ' aria-current="page"'
    langs = " ".join(
        f'<a href="/?lang={code}" hreflang="{"en" if code == "en" else "ja"}"'
        f'{current if code == lang else ""}>{TEXT[code]["lang_name"]}</a>'
        for code in LANGS
    )
    cards = "\n".join(queue_card(s, site, lang) for s in statuses)
    # Strings and names the live script needs to word updates exactly like this page.
    script_data = {
        "lang": lang,
        "t": t,
        "windows": {w.id: w.name.get(lang) for w in site.windows},
        "tz": site.timezone,
    }
    data_json = json.dumps(script_data, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{t["title"]} – {escape(site.name.get(lang))}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{t["title"]}<br><small>{escape(site.name.get(lang))}</small></h1>
<nav aria-label="language">{langs}</nav>
</header>
<main>
<p id="live-state" class="upd">{t["static"]}</p>
{cards}
{ticket_box(lang, ticket_query, ticket, site)}
<p class="upd">{t["accuracy_note"]}</p>
</main>
<footer><a href="/opendata/">{t["opendata"]}</a></footer>
<script id="page-data" type="application/json">{data_json}</script>
<script src="/static/live.js" defer></script>
</body>
</html>"""
