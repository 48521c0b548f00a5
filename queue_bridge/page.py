"""The public phone page, rendered on the server: complete without JavaScript.

`static/live.js` only adds live updates (SSE) and the "my ticket" alert. Sizes are in rem so the
page follows the phone's text size; the layout is one column and holds down to 320 px, also with
twice the text size. Each queue card has a polite live region that the script fills with a short
sentence only when a new number is called, so a screen reader announces calls and nothing else;
the "my ticket" box has an assertive one (role=alert) for "you are next / you are called".
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import urlencode

from lobby.schema import NowCalling, QueueStatus
from queue_bridge.i18n import HTML_LANG, LANGS, SCRIPT_KEYS, TEXT, accuracy_text, fill, wait_text
from queue_bridge.site import SiteConfig
from queue_bridge.status import TicketInfo

#: A waiting ticket with at most this many people ahead gets the "you will be called soon" alert.
SOON_AHEAD = 2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
@supports (font:-apple-system-body){html{font:-apple-system-body}}
body{margin:0;font-family:system-ui,-apple-system,"Hiragino Sans","Noto Sans JP","Yu Gothic UI",Meiryo,
sans-serif;line-height:1.5;color:#111;background:#f3f3ef;word-wrap:break-word;overflow-wrap:anywhere}
header,main,footer{max-width:40rem;margin:0 auto;padding:.5rem 10px;padding:.5rem min(.75rem,3vw)}
header{background:#003f8a;color:#fff;max-width:none}
header>*{max-width:40rem;margin-left:auto;margin-right:auto}
.site{margin:0;font-size:.95rem}
h1{font-size:1.4rem;line-height:1.3;margin:0 auto .3rem}
nav ul{list-style:none;margin:0 auto;padding:0;display:flex;flex-wrap:wrap;gap:.4rem;font-size:.9rem}
nav a{display:inline-block;color:#fff;padding:.3rem .6rem;border:1px solid #fff;border-radius:1rem}
nav a[aria-current]{background:#fff;color:#003f8a;font-weight:bold;text-decoration:none}
a{color:#0645ad}
a:focus,button:focus,input:focus{outline:3px solid #e07000;outline-offset:2px}
button:focus:not(:focus-visible){outline:0}
.state{font-size:.9rem;margin:.3rem 0}
.q,.box{background:#fff;border:2px solid #555;border-radius:.5rem;padding:.6rem;
padding:.6rem min(.75rem,3vw);margin:.6rem 0}
h2{font-size:1.2rem;line-height:1.3;margin:0 0 .4rem}
.fl{font-weight:normal;font-size:.9rem;color:#333;white-space:nowrap}
.lbl,dt{font-size:.9rem;color:#333;margin:0}
.calls{list-style:none;margin:0 0 .5rem;padding:0;display:flex;flex-wrap:wrap;gap:0 1.2rem}
.calls b{font-size:1.2rem;color:#003f8a;margin-right:.2rem}
.calls .n{font-size:2.2rem;line-height:1.2;letter-spacing:.02em}
.calls .none{font-size:1.2rem;font-weight:bold}
dl{margin:0;display:grid;grid-template-columns:1fr;grid-template-columns:repeat(auto-fit,minmax(min(6.5rem,100%),1fr));
gap:.4rem .6rem;border-top:1px solid #ccc;padding-top:.4rem}
dd{margin:0;font-size:1.2rem;font-weight:bold}
.upd,.acc{font-size:.85rem;margin:.4rem 0 0;color:#333}
.acc:empty{display:none}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}
label{display:block;max-width:100%}
input,button{font:inherit;font-size:1.2rem;padding:.4rem .6rem;border-radius:.3rem;max-width:100%}
input{width:9em;border:2px solid #555}
button{background:#003f8a;color:#fff;border:2px solid #003f8a;min-height:2.6rem}
.mine{border:3px solid #003f8a;border-radius:.5rem;padding:.5rem .6rem;margin:.6rem 0 0;font-size:1.1rem;
white-space:pre-line}
.mine:empty,#mine-alert:empty{border:0;padding:0;margin:0}
.alert{background:#ffe08a;border:3px solid #8a5a00;border-radius:.5rem;padding:.5rem .6rem;margin:.6rem 0 0;
font-weight:bold;font-size:1.2rem}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);
clip-path:inset(50%);white-space:nowrap;border:0}
footer{font-size:.9rem;padding-bottom:1.5rem}
footer p{margin:.3rem 0}
"""


def normalize_ticket(text: str) -> str:
    """What a person typed into the ticket box, as the ticket system writes it.

    Full-width characters from a Japanese keyboard (Ａ００３) become ASCII and letters upper case,
    so `ａ００３`, `a003` and `A003` all find ticket A003. `live.js` does the same.
    """
    return unicodedata.normalize("NFKC", text).strip().upper()


def page_url(lang: str, ticket: str | None = None) -> str:
    params = {"lang": lang} if lang != "ja" else {}
    if ticket:
        params["ticket"] = ticket
    return "/?" + urlencode(params) if params else "/"


def _fmt_time(ts: datetime, site: SiteConfig) -> str:
    return ts.astimezone(site.tz).strftime("%H:%M:%S")


def _call_key(call: NowCalling) -> str:
    """Identity of one call (window, ticket, time) as the script builds it: a recall is a new call."""
    called_at = call.called_at if call.called_at.tzinfo else call.called_at.replace(tzinfo=UTC)
    millis = (called_at - _EPOCH) // timedelta(milliseconds=1)
    return f"{call.window}|{call.ticket}|{millis}"


def _window_names(site: SiteConfig, lang: str) -> dict[str, str]:
    return {w.id: w.name.get(lang) for w in site.windows}


def _ticket_html(template: str, ticket: str) -> str:
    """A called number in large type, its "番" / "No." in body size (so it never breaks mid-word)."""
    before, _, after = template.partition("{ticket}")
    return f'<b>{escape(before)}<span class="n">{escape(ticket)}</span>{escape(after)}</b>'


def _calls(status: QueueStatus, site: SiteConfig, lang: str) -> str:
    t = TEXT[lang]
    if not status.now_calling:
        return f'<li class="none">{t["none"]}</li>'
    names = _window_names(site, lang)
    return "\n".join(
        f'<li data-k="{escape(_call_key(c))}">{_ticket_html(t["ticket_no"], c.ticket)} '
        f"<span>{escape(names.get(c.window, c.window))}</span></li>"
        for c in status.now_calling
    )


def queue_card(status: QueueStatus, site: SiteConfig, lang: str) -> str:
    t = TEXT[lang]
    q = site.queue(status.queue)
    assert q is not None
    qid = escape(status.queue)
    windows = fill(t["windows_n"], n=len(status.open_windows))
    return f"""<section class="q" id="q-{qid}" aria-labelledby="h-{qid}" data-queue="{qid}">
<h2 id="h-{qid}">{escape(q.name.get(lang))} <span class="fl">{fill(t["floor"], n=q.floor)}</span></h2>
<p class="lbl" id="l-{qid}">{t["now_calling"]}</p>
<ul class="calls" data-f="now" aria-labelledby="l-{qid}">{_calls(status, site, lang)}</ul>
<p class="sr" data-f="say" aria-live="polite" aria-atomic="true"></p>
<dl>
<div><dt>{t["waiting"]}</dt><dd data-f="waiting">{fill(t["people"], n=status.waiting)}</dd></div>
<div><dt>{t["estimate"]}</dt><dd data-f="estimate">{wait_text(lang, status.waiting, status.estimate)}</dd></div>
<div><dt>{t["open_windows"]}</dt><dd data-f="windows">{windows}</dd></div>
</dl>
<p class="upd">{t["updated"]} <time data-f="updated" datetime="{status.updated_at.isoformat()}">{_fmt_time(status.updated_at, site)}</time></p>
<p class="acc" data-f="accuracy">{accuracy_text(lang, status.accuracy_today)}</p>
</section>"""


def ticket_message(lang: str, number: str, info: TicketInfo | None, site: SiteConfig) -> tuple[str, str]:
    """(status line, alert line) for a ticket, as HTML-escaped text. The alert line may be empty."""
    t = TEXT[lang]
    num = escape(number)
    if info is None:
        return fill(t["unknown"], ticket=num), ""
    q = site.queue(info.queue)
    queue_name = escape(q.name.get(lang) if q else info.queue)
    if info.state == "waiting":
        ahead = info.ahead or 0
        head = (
            fill(t["next"], queue=queue_name) if ahead == 0 else fill(t["ahead"], queue=queue_name, n=ahead)
        )
        line = fill(t["ticket_wait"], head=head, wait=wait_text(lang, 1, info.estimate))
        return line, (t["soon"] if ahead <= SOON_AHEAD else "")
    if info.state == "called":
        window = info.window or ""
        name = escape(_window_names(site, lang).get(window, window))
        return "", fill(t["called"], ticket=num, window=name)
    if info.state == "no_show":
        return fill(t["no_show"], ticket=num), ""
    return fill(t["done"], ticket=num), ""


def ticket_box(lang: str, query: str | None, info: TicketInfo | None, site: SiteConfig) -> str:
    t = TEXT[lang]
    line, alert = ticket_message(lang, query, info, site) if query else ("", "")
    value = escape(query or "")
    ticket_queue = escape(info.queue) if info else ""
    lang_field = f'<input type="hidden" name="lang" value="{lang}">' if lang != "ja" else ""
    return f"""<section class="box" aria-labelledby="h-mine">
<h2 id="h-mine">{t["my_ticket"]}</h2>
<form method="get" action="/" id="mine">{lang_field}
<label for="ticket">{t["ticket_label"]}</label>
<input name="ticket" id="ticket" value="{value}" inputmode="text" autocapitalize="characters"
 autocomplete="off" spellcheck="false" maxlength="16" required>
<button type="submit">{t["check"]}</button>
</form>
<p id="mine-result" class="mine" role="status" data-ticket="{value}" data-queue="{ticket_queue}">{line}</p>
<p id="mine-alert" role="alert" aria-live="assertive"{' class="alert"' if alert else ""}>{alert}</p>
</section>"""


def render_page(
    site: SiteConfig,
    statuses: list[QueueStatus],
    lang: str,
    ticket_query: str | None = None,
    ticket: TicketInfo | None = None,
) -> str:
    t = TEXT[lang]
    current = ' aria-current="true"'
    langs = "".join(
        f'<li><a href="{escape(page_url(code, ticket_query))}" lang="{HTML_LANG[code]}" '
        f'hreflang="{HTML_LANG[code]}"{current if code == lang else ""}>'
        f"{TEXT[code]['lang_name']}</a></li>"
        for code in LANGS
    )
    cards = "\n".join(queue_card(s, site, lang) for s in statuses)
    # Strings and names the live script needs to word updates exactly like this page.
    script_data = {
        "lang": lang,
        "t": {k: t[k] for k in SCRIPT_KEYS},
        "windows": _window_names(site, lang),
        "queues": {q.id: q.name.get(lang) for q in site.queues},
        "tz": site.timezone,
        "soon": SOON_AHEAD,
    }
    # No "<", ">" or "&" at all inside the script element: nothing in a name can end it early.
    data_json = (
        json.dumps(script_data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    site_name = escape(site.name.get(lang))
    reload = escape(page_url(lang, ticket_query))
    return f"""<!doctype html>
<html lang="{HTML_LANG[lang]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>{t["title"]} – {site_name}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<p class="site">{site_name}</p>
<h1>{t["title"]}</h1>
<nav aria-label="{t["languages"]}"><ul>{langs}</ul></nav>
</header>
<main>
<p id="live-state" class="state"><span id="live-text">{t["static"]}</span> <a id="reload" href="{reload}">{t["reload"]}</a></p>
{ticket_box(lang, ticket_query, ticket, site)}
{cards}
</main>
<footer>
<p>{t["accuracy_note"]}</p>
<p><a href="/opendata/">{t["opendata"]}</a></p>
</footer>
<script id="page-data" type="application/json">{data_json}</script>
<script src="/static/live.js" defer></script>
</body>
</html>"""
