"""The staff dashboard's HTML, rendered on the server (plain functions: data in, HTML out).

Complete without JavaScript (a refresh link and a `<noscript>` meta refresh); `static/staff.js` only
replaces the live section every second. No inline script or style, so the pages run under a strict
Content-Security-Policy. Robots are drawn as SVG markers over each floor's map image; the table
beside the map says the same in text, for keyboards and screen readers.

Also the teaching of the robot (pure functions too): what a visitor may have meant, read from the
site file's `guide:` section as plain data (the server does not load the robot's speech modules), the
check of a taught example, and the examples file staff download for the robot (speech/examples.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import yaml

from lobby.schema import QueueStatus
from queue_bridge.auth import Role, Session
from queue_bridge.fleet import map_pixel
from queue_bridge.i18n import wait_text
from queue_bridge.site import SiteConfig
from queue_bridge.staff_store import AuditEntry, StoredEvent, TaughtExample, User
from queue_bridge.taught import CLARIFY, HANDOFF, guide_places, taught_table

LANGS = ("ja", "en")

T: dict[str, dict[str, str]] = {
    "ja": {
        "title": "ロボット運用ダッシュボード",
        "login_title": "職員ログイン",
        "username": "ユーザー名",
        "password": "パスワード",
        "login": "ログイン",
        "logout": "ログアウト",
        "login_failed": "ユーザー名またはパスワードが違います。{n}回続けて間違えるとアカウントは{m}分間ロックされます（管理者が解除できます）。",
        "signed_in_as": "{user}（{role}）でログイン中",
        "nav": "職員メニュー",
        "dashboard": "ダッシュボード",
        "audit": "操作記録",
        "users": "アカウント",
        "map": "フロアマップ",
        "floor": "{n}階",
        "map_alt": "{n}階の地図とロボットの位置",
        "robots": "ロボット",
        "robot": "ロボット",
        "mode": "状態",
        "position": "位置",
        "battery": "電池",
        "faults": "異常",
        "last_contact": "最終通信",
        "pending": "応答待ちの指令",
        "none": "なし",
        "no_robots": "まだロボットからの通信がありません。",
        "seconds_ago": "{n}秒前",
        "never": "未通信",
        "handoffs": "ロボットの記録（引き継ぎ・答えられなかった質問・会話・案内）",
        "no_events": "ありません。",
        "handoff": "引き継ぎ",
        "unanswered": "未回答の質問",
        "conversation": "会話",
        "escort": "案内",
        "queues": "窓口の状況",
        "queue": "窓口",
        "waiting": "待ち人数",
        "now_calling": "呼出中",
        "estimate": "待ち時間の目安",
        "open_windows": "開いている窓口",
        "commands": "ロボットへの指令",
        "commands_none": "指令を送れるロボットがありません。",
        "go_home": "充電ステーションへ戻る",
        "pause": "一時停止",
        "resume": "再開",
        "guide_to": "案内する",
        "destination": "行き先",
        "refresh": "最新の状態に更新",
        "updated": "{time}時点",
        "auto": "自動更新中（1秒ごと）",
        "time": "時刻",
        "user": "ユーザー",
        "action": "操作",
        "status": "結果",
        "detail": "内容",
        "add_user": "アカウントを追加",
        "role": "役割",
        "change_role": "役割を変更",
        "unlock": "ロック解除",
        "delete": "削除",
        "locked": "ロック中",
        "active": "有効",
        "lang": "言語",
        "note_sent": "指令を送りました。ロボットの応答は操作記録に表示されます。",
        "note_user_added": "アカウントを追加しました。",
        "note_user_changed": "アカウントを変更しました。",
        "viewer": "閲覧",
        "operator": "操作",
        "admin": "管理者",
        "offline": "オフライン",
        "idle": "待機中",
        "greeting": "あいさつ中",
        "conversing": "対話中",
        "escorting": "案内中",
        "returning": "帰還中",
        "charging": "充電中",
        "paused": "一時停止中",
        "fault": "異常",
        "safe_stop": "安全停止",
        "sent": "送信済み（応答待ち）",
        "acknowledged": "ロボットが受理",
        "refused": "ロボットが拒否",
        "failed": "送信失敗",
        "error": "エラー",
        "teach": "教える",
        "teach_meant": "来庁者が言いたかったこと",
        "teach_choose": "― 何のことでしたか ―",
        "teach_guess": "（ロボットの推測）",
        "teach_procedures": "手続き",
        "teach_facilities": "施設",
        "teach_other": "その他",
        "teach_handoff": "職員に引き継ぐ",
        "teach_clarify": "聞き返す（確認の質問をする）",
        "taught_as": "教えました: {name}",
        "taught": "教えた例文",
        "taught_intro": "ロボットが答えられなかった質問（ロボットの記録の「未回答の質問」）に、来庁者が言いたかったことを教えると、ここに載ります。サーバーにつながっているロボットは、教えるとすぐに覚えます（数秒かかります）。つながっていないロボットには、ダウンロードしたファイルを設置して（パラメータ site_examples_file）再起動してください。",
        "taught_download": "例文ファイルをダウンロード（YAML）",
        "taught_none": "まだありません。",
        "said": "言葉",
        "meaning": "意味",
        "taught_by": "教えた人",
        "not_in_site": "（この施設にはありません。ダウンロードには含まれません）",
        "remove": "削除",
        "note_taught": "例文を教えました。ダウンロードしたファイルをロボットに設置すると、ロボットが覚えます。",
        "note_taught_already": "この言葉は同じ意味ですでに教えてあります。追加はしていません。",
        "note_example_removed": "例文を削除しました。",
    },
    "en": {
        "title": "Robot fleet dashboard",
        "login_title": "Staff sign-in",
        "username": "User name",
        "password": "Password",
        "login": "Sign in",
        "logout": "Sign out",
        "login_failed": "Wrong user name or password. After {n} wrong attempts in a row an account is locked for {m} minutes (an administrator can unlock it).",
        "signed_in_as": "Signed in as {user} ({role})",
        "nav": "Staff menu",
        "dashboard": "Dashboard",
        "audit": "Audit log",
        "users": "Accounts",
        "map": "Floor map",
        "floor": "Floor {n}",
        "map_alt": "Map of floor {n} with the robots' positions",
        "robots": "Robots",
        "robot": "Robot",
        "mode": "Mode",
        "position": "Position",
        "battery": "Battery",
        "faults": "Faults",
        "last_contact": "Last contact",
        "pending": "Commands awaiting reply",
        "none": "none",
        "no_robots": "No robot has reported yet.",
        "seconds_ago": "{n} s ago",
        "never": "never",
        "handoffs": "Robot log: hand-offs, unanswered questions, conversations, escorts",
        "no_events": "None.",
        "handoff": "Hand-off",
        "unanswered": "Unanswered",
        "conversation": "Conversation",
        "escort": "Escort",
        "queues": "Queues",
        "queue": "Queue",
        "waiting": "Waiting",
        "now_calling": "Now calling",
        "estimate": "Estimated wait",
        "open_windows": "Open windows",
        "commands": "Commands",
        "commands_none": "No robot to command.",
        "go_home": "Go home (dock)",
        "pause": "Pause",
        "resume": "Resume",
        "guide_to": "Guide to",
        "destination": "Destination",
        "refresh": "Refresh now",
        "updated": "as of {time}",
        "auto": "Updating every second",
        "time": "Time",
        "user": "User",
        "action": "Action",
        "status": "Result",
        "detail": "Detail",
        "add_user": "Add an account",
        "role": "Role",
        "change_role": "Change role",
        "unlock": "Unlock",
        "delete": "Delete",
        "locked": "locked",
        "active": "active",
        "lang": "Language",
        "note_sent": "Command sent. The robot's reply appears in the audit log.",
        "note_user_added": "Account added.",
        "note_user_changed": "Account changed.",
        "viewer": "viewer",
        "operator": "operator",
        "admin": "admin",
        "offline": "offline",
        "idle": "idle",
        "greeting": "greeting",
        "conversing": "conversing",
        "escorting": "escorting",
        "returning": "returning",
        "charging": "charging",
        "paused": "paused",
        "fault": "fault",
        "safe_stop": "safe stop",
        "sent": "sent (awaiting reply)",
        "acknowledged": "acknowledged by the robot",
        "refused": "refused by the robot",
        "failed": "not sent",
        "error": "Error",
        "teach": "Teach",
        "teach_meant": "What the visitor meant",
        "teach_choose": "— what did they mean? —",
        "teach_guess": " (the robot's guess)",
        "teach_procedures": "Procedures",
        "teach_facilities": "Facilities",
        "teach_other": "Other",
        "teach_handoff": "hand off to staff",
        "teach_clarify": "ask a clarifying question",
        "taught_as": "Taught: {name}",
        "taught": "Taught examples",
        "taught_intro": "What staff taught the robot from the unanswered questions in the robot log. Robots connected to the server learn them as soon as they are taught (within seconds). For a robot that is not, install the downloaded file on it (parameter site_examples_file) and restart it.",
        "taught_download": "Download the examples file (YAML)",
        "taught_none": "None yet.",
        "said": "Words",
        "meaning": "Meaning",
        "taught_by": "Taught by",
        "not_in_site": " (not in this site; left out of the download)",
        "remove": "Remove",
        "note_taught": "Example taught. The robot learns it once the downloaded file is installed on it.",
        "note_taught_already": "Those words were taught with that meaning already; nothing was added.",
        "note_example_removed": "Example removed.",
    },
}
NOTES = {
    "sent": "note_sent",
    "user_added": "note_user_added",
    "user_changed": "note_user_changed",
    "taught": "note_taught",
    "taught_already": "note_taught_already",
    "example_removed": "note_example_removed",
}

CSRF_FIELD = "csrf"


def lang_of(lang: str | None) -> str:
    return lang if lang in LANGS else "ja"


@dataclass(frozen=True)
class FloorImage:
    floor: int
    width_px: int
    height_px: int
    resolution: float
    origin: tuple[float, float]


@dataclass(frozen=True)
class Poi:
    id: str
    name: str
    floor: int


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _url(path: str, lang: str, **query: str) -> str:
    return _e(f"{path}?{urlencode({'lang': lang, **query})}")


def _page(lang: str, title: str, body: str, *, live: bool = False) -> str:
    refresh = "<noscript><meta http-equiv='refresh' content='10'></noscript>" if live else ""
    script = "<script src='/static/staff.js' defer></script>" if live else ""
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<meta name='referrer' content='same-origin'>{refresh}"
        f"<title>{_e(title)}</title><link rel='stylesheet' href='/static/staff.css'>{script}</head>"
        f"<body data-lang='{lang}'>{body}</body></html>"
    )


def _header(lang: str, session: Session, here: str, path: str) -> str:
    t = T[lang]
    links = [("/staff", "dashboard", Role.VIEWER), ("/staff/audit", "audit", Role.OPERATOR)]
    links.append(("/staff/users", "users", Role.ADMIN))
    items = "".join(
        f"<li><a href='{_url(href, lang)}'{' aria-current=page' if key == here else ''}>{t[key]}</a></li>"
        for href, key, role in links
        if session.role >= role
    )
    langs = "".join(
        f"<li><a href='{_url(path, code)}' hreflang='{code}' lang='{code}'"
        f"{' aria-current=true' if code == lang else ''}>{name}</a></li>"
        for code, name in (("ja", "日本語"), ("en", "English"))
    )
    who = t["signed_in_as"].format(user=_e(session.username), role=t[session.role.label])
    return (
        f"<header><p class='who'>{who}</p><h1>{t['title']}</h1>"
        f"<nav aria-label='{t['nav']}'><ul>{items}</ul></nav>"
        f"<nav aria-label='{t['lang']}'><ul class='langs'>{langs}</ul></nav>"
        f"<form method='post' action='/staff/logout' class='logout'>{_csrf(session)}"
        f"<button type='submit'>{t['logout']}</button></form></header>"
    )


def _csrf(session: Session) -> str:
    return f"<input type='hidden' name='{CSRF_FIELD}' value='{_e(session.csrf)}'>"


def _note(lang: str, note: str | None, error: str | None) -> str:
    t = T[lang]
    out = ""
    if note in NOTES:
        out += f"<p class='note' role='status'>{t[NOTES[note]]}</p>"
    if error:
        out += f"<p class='error' role='alert'>{t['error']}: {_e(error)}</p>"
    return out


# -- login ----------------------------------------------------------------------------------------


def render_login(lang: str, csrf: str, failed: bool, max_failures: int, lock_minutes: float) -> str:
    t = T[lang]
    msg = (
        f"<p class='error' role='alert'>{t['login_failed'].format(n=max_failures, m=f'{lock_minutes:g}')}</p>"
        if failed
        else ""
    )
    langs = " | ".join(
        f"<a href='{_url('/staff/login', code)}' lang='{code}'>{name}</a>"
        for code, name in (("ja", "日本語"), ("en", "English"))
    )
    body = (
        f"<main class='login'><h1>{t['login_title']}</h1><p>{langs}</p>{msg}"
        f"<form method='post' action='/staff/login'>"
        f"<input type='hidden' name='{CSRF_FIELD}' value='{_e(csrf)}'><input type='hidden' name='lang' value='{lang}'>"
        f"<p><label for='username'>{t['username']}</label>"
        f"<input id='username' name='username' autocomplete='username' required maxlength='32' autocapitalize='none'></p>"
        f"<p><label for='password'>{t['password']}</label>"
        f"<input id='password' name='password' type='password' autocomplete='current-password' required maxlength='256'></p>"
        f"<p><button type='submit'>{t['login']}</button></p></form></main>"
    )
    return _page(lang, t["login_title"], body)


# -- dashboard ------------------------------------------------------------------------------------


def _ago(lang: str, age: float | None) -> str:
    if age is None:
        return T[lang]["never"]
    return T[lang]["seconds_ago"].format(n=int(age))


def _battery(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def render_map(lang: str, floor: FloorImage, robots: Sequence[dict[str, Any]]) -> str:
    t = T[lang]
    here = [r for r in robots if r["floor"] == floor.floor and r["pose"] is not None]
    marks = []
    radius = max(4.0, 0.6 / floor.resolution)
    for r in here:
        px, py = map_pixel(r["pose"]["x"], r["pose"]["y"], floor.origin, floor.resolution, floor.height_px)
        state = "on" if r["online"] else "off"
        marks.append(
            f"<g class='robot {state}' data-robot='{_e(r['robot'])}'>"
            f"<circle cx='{px:.1f}' cy='{py:.1f}' r='{radius:.1f}'/>"
            f"<text x='{px + radius * 1.3:.1f}' y='{py + radius * 0.5:.1f}'>"
            f"{_e(r['robot'])} · {_e(t.get(r['mode'], r['mode']))}</text></g>"
        )
    label = t["map_alt"].format(n=floor.floor)
    described = "; ".join(f"{r['robot']}: {t.get(r['mode'], r['mode'])}" for r in here) or t["none"]
    return (
        f"<figure class='map'><figcaption>{t['floor'].format(n=floor.floor)}</figcaption>"
        f"<svg viewBox='0 0 {floor.width_px} {floor.height_px}' role='img' aria-label='{_e(label + ': ' + described)}'"
        f" id='map-{floor.floor}'>"
        f"<image href='/staff/map/{floor.floor}.png' width='{floor.width_px}' height='{floor.height_px}'/>"
        f"{''.join(marks)}</svg></figure>"
    )


def render_live(
    lang: str,
    now: datetime,
    tz: ZoneInfo,
    floors: Sequence[FloorImage],
    robots: Sequence[dict[str, Any]],
    events: Sequence[StoredEvent],
    site: SiteConfig,
    statuses: Sequence[QueueStatus],
    session: Session | None = None,
    targets: Sequence[TeachTarget] = (),
    taught: Mapping[str, str] | None = None,
) -> str:
    """The part of the dashboard that changes: maps, robots, hand-offs, queues. For an operator, each
    unanswered question has a form to teach the robot what it meant (`taught`: text → intent id
    already taught, shown instead of the form)."""
    t = T[lang]
    maps = "".join(render_map(lang, f, robots) for f in floors)
    rows = []
    for r in robots:
        pose = r["pose"]
        where = (
            "—" if pose is None else f"{t['floor'].format(n=r['floor'])} ({pose['x']:.1f}, {pose['y']:.1f}) m"
        )
        faults = ", ".join(_e(f) for f in r["faults"]) or t["none"]
        pending = ", ".join(_e(t.get(p["command"], p["command"])) for p in r["pending_commands"]) or t["none"]
        rows.append(
            f"<tr id='robot-{_e(r['robot'])}' class='{'on' if r['online'] else 'off'}'>"
            f"<th scope='row'>{_e(r['robot'])}</th><td data-f='mode'>{_e(t.get(r['mode'], r['mode']))}</td>"
            f"<td data-f='position'>{where}</td><td data-f='battery'>{_battery(r['battery'])}</td>"
            f"<td data-f='faults'>{faults}</td><td data-f='last_contact'>{_ago(lang, r['last_contact_age_s'])}</td>"
            f"<td data-f='pending'>{pending}</td></tr>"
        )
    table = (
        "<table class='robots'><thead><tr>"
        + "".join(
            f"<th scope='col'>{t[k]}</th>"
            for k in ("robot", "mode", "position", "battery", "faults", "last_contact", "pending")
        )
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else f"<p>{t['no_robots']}</p>"
    )
    teacher = session if session is not None and session.role >= Role.OPERATOR and targets else None
    items = "".join(
        f"<li><span class='kind'>{t.get(e.kind, e.kind)}</span> "
        f"<time datetime='{_e(e.at.isoformat())}'>{e.at.astimezone(tz):%m-%d %H:%M}</time> "
        f"{_e(e.robot)}{' [' + _e(e.lang) + ']' if e.lang else ''}: <q>{_e(e.text)}</q>"
        f"{_teach(lang, teacher, e, targets, taught or {}) if teacher and e.kind == 'unanswered' else ''}</li>"
        for e in events
    )
    qrows = []
    for s in statuses:
        q = site.queue(s.queue)
        name = q.name.get(lang) if q else s.queue
        calling = ", ".join(_e(c.ticket) for c in s.now_calling) or t["none"]
        qrows.append(
            f"<tr><th scope='row'>{_e(name)}</th><td>{s.waiting}</td><td>{calling}</td>"
            f"<td>{_e(wait_text(lang, s.waiting, s.estimate))}</td><td>{len(s.open_windows)}</td></tr>"
        )
    queues = (
        "<table class='queues'><thead><tr>"
        + "".join(
            f"<th scope='col'>{t[k]}</th>"
            for k in ("queue", "waiting", "now_calling", "estimate", "open_windows")
        )
        + f"</tr></thead><tbody>{''.join(qrows)}</tbody></table>"
    )
    return (
        f"<p class='upd'>{t['updated'].format(time=f'{now.astimezone(tz):%H:%M:%S}')}</p>"
        f"<section aria-labelledby='h-map'><h2 id='h-map'>{t['map']}</h2><div class='maps'>{maps}</div></section>"
        f"<section aria-labelledby='h-robots'><h2 id='h-robots'>{t['robots']}</h2>{table}</section>"
        f"<section aria-labelledby='h-events'><h2 id='h-events'>{t['handoffs']}</h2>"
        f"{f'<ul class=events>{items}</ul>' if items else '<p>' + t['no_events'] + '</p>'}</section>"
        f"<section aria-labelledby='h-queues'><h2 id='h-queues'>{t['queues']}</h2>{queues}</section>"
    )


def render_commands(
    lang: str, session: Session, robots: Sequence[dict[str, Any]], pois: Sequence[Poi]
) -> str:
    t = T[lang]
    if session.role < Role.OPERATOR:
        return ""
    blocks = []
    for r in robots:
        rid = _e(r["robot"])
        action = f"/staff/robots/{rid}/commands"
        hidden = f"{_csrf(session)}<input type='hidden' name='lang' value='{lang}'>"
        buttons = "".join(
            f"<form method='post' action='{action}'>{hidden}<input type='hidden' name='command' value='{c}'>"
            f"<button type='submit'>{t[c]}</button></form>"
            for c in ("go_home", "pause", "resume")
        )
        options = "".join(
            f"<option value='{_e(p.id)}'>{_e(t['floor'].format(n=p.floor))} {_e(p.name)}</option>"
            for p in pois
        )
        guide = (
            f"<form method='post' action='{action}'>{hidden}<input type='hidden' name='command' value='guide_to'>"
            f"<label for='poi-{rid}'>{t['destination']}</label><select id='poi-{rid}' name='poi'>{options}</select>"
            f"<button type='submit'>{t['guide_to']}</button></form>"
        )
        blocks.append(f"<fieldset class='cmd'><legend>{rid}</legend>{buttons}{guide}</fieldset>")
    inner = "".join(blocks) or f"<p>{t['commands_none']}</p>"
    return f"<section aria-labelledby='h-cmd'><h2 id='h-cmd'>{t['commands']}</h2>{inner}</section>"


def render_dashboard(
    lang: str,
    session: Session,
    live_html: str,
    commands_html: str,
    note: str | None,
    error: str | None,
    taught_html: str = "",
) -> str:
    t = T[lang]
    body = (
        _header(lang, session, "dashboard", "/staff")
        + f"<main>{_note(lang, note, error)}"
        + f"<p class='refresh'><a href='{_url('/staff', lang)}'>{t['refresh']}</a>"
        + " <span id='live-state' aria-live='off'></span></p>"
        + f"<div id='live' data-src='{_url('/staff/live', lang)}' data-auto='{t['auto']}'>{live_html}</div>"
        + f"{commands_html}{taught_html}</main>"
    )
    return _page(lang, t["title"], body, live=True)


# -- audit and users ---------------------------------------------------------------------------------


def render_audit(lang: str, session: Session, entries: Sequence[AuditEntry], tz: ZoneInfo) -> str:
    t = T[lang]
    rows = "".join(
        f"<tr><td><time datetime='{_e(a.at.isoformat())}'>{a.at.astimezone(tz):%Y-%m-%d %H:%M:%S}</time></td>"
        f"<td>{_e(a.username or '—')}</td><td>{_e(a.action)}</td><td>{_e(a.robot or '')}</td>"
        f"<td>{_e(t.get(a.status, a.status) if a.status else '')}</td><td class='detail'>{_e(a.detail)}</td></tr>"
        for a in entries
    )
    head = "".join(
        f"<th scope='col'>{t[k]}</th>" for k in ("time", "user", "action", "robot", "status", "detail")
    )
    body = (
        _header(lang, session, "audit", "/staff/audit")
        + f"<main><h2>{t['audit']}</h2><table class='audit'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></main>"
    )
    return _page(lang, t["audit"], body)


def render_users(
    lang: str, session: Session, users: Sequence[User], now: datetime, note: str | None, error: str | None
) -> str:
    t = T[lang]
    hidden = f"{_csrf(session)}<input type='hidden' name='lang' value='{lang}'>"

    def role_select(id_: str, current: Role | None) -> str:
        opts = "".join(
            f"<option value='{r.label}'{' selected' if r == current else ''}>{t[r.label]}</option>"
            for r in Role
        )
        return f"<select id='{id_}' name='role'>{opts}</select>"

    rows = []
    for u in users:
        name = _e(u.name)
        locked = u.login.locked_until is not None and now < u.login.locked_until
        base = f"/staff/users/{name}"
        actions = (
            f"<form method='post' action='{base}/role'>{hidden}<label class='sr' for='role-{name}'>{t['role']}</label>"
            f"{role_select('role-' + name, u.role)}<button type='submit'>{t['change_role']}</button></form>"
        )
        if locked:
            actions += f"<form method='post' action='{base}/unlock'>{hidden}<button type='submit'>{t['unlock']}</button></form>"
        if u.name != session.username:
            actions += f"<form method='post' action='{base}/delete'>{hidden}<button type='submit'>{t['delete']}</button></form>"
        rows.append(
            f"<tr><th scope='row'>{name}</th><td>{t[u.role.label]}</td>"
            f"<td>{t['locked'] if locked else t['active']}</td><td class='actions'>{actions}</td></tr>"
        )
    add = (
        f"<h2>{t['add_user']}</h2><form method='post' action='/staff/users' class='add'>{hidden}"
        f"<p><label for='new-name'>{t['username']}</label><input id='new-name' name='username' required maxlength='32' autocomplete='off'></p>"
        f"<p><label for='new-role'>{t['role']}</label>{role_select('new-role', Role.VIEWER)}</p>"
        f"<p><label for='new-password'>{t['password']}</label><input id='new-password' name='password' type='password' required minlength='10' maxlength='256' autocomplete='new-password'></p>"
        f"<p><button type='submit'>{t['add_user']}</button></p></form>"
    )
    head = "".join(f"<th scope='col'>{t[k]}</th>" for k in ("username", "role", "status", "action"))
    body = (
        _header(lang, session, "users", "/staff/users")
        + f"<main>{_note(lang, note, error)}<h2>{t['users']}</h2><table class='users'><thead><tr>{head}</tr></thead>"
        + f"<tbody>{''.join(rows)}</tbody></table>{add}</main>"
    )
    return _page(lang, t["users"], body)


# -- teaching the robot ----------------------------------------------------------------------------

MAX_TAUGHT_TEXT = 500  # characters (the longest of the ~4,000 shipped examples has ~300)
SPOKEN_LANGS = ("ja", "en", "ko")


@dataclass(frozen=True)
class TeachTarget:
    """Something a visitor may have meant: an intent id of the robot's examples, and its names."""

    id: str
    group: str  # "procedures", "facilities" or "other"
    name_ja: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_ja


def teach_targets(site: SiteConfig) -> list[TeachTarget]:
    """Every procedure and facility of the site's `guide:` section by name (in the site file's
    order), then "hand off to staff" and "ask a clarifying question". The bridge does not validate
    the guide (the robot does), so an entry without names is offered by its id."""
    out: list[TeachTarget] = []
    for group, key, entry in guide_places(site):
        names = entry.get("name") if isinstance(entry, dict) else None
        names = names if isinstance(names, dict) else {}
        out.append(TeachTarget(key, group, str(names.get("ja") or key), str(names.get("en") or key)))
    for other in (HANDOFF, CLARIFY):
        out.append(TeachTarget(other, "other", T["ja"][f"teach_{other}"], T["en"][f"teach_{other}"]))
    return out


def clean_taught_text(text: str) -> str:
    """The words as one line: runs of white space as one space, control characters dropped."""
    return "".join(ch for ch in " ".join(text.split()) if unicodedata.category(ch) != "Cc")


def teach_problem(text: str, target: str, targets: Sequence[TeachTarget]) -> str | None:
    """Why this example cannot be taught (one line), or None. `text` is already cleaned."""
    if not text:
        return "there are no words to teach"
    if len(text) > MAX_TAUGHT_TEXT:
        return f"the words are too long to teach ({len(text)} characters; at most {MAX_TAUGHT_TEXT})"
    if not target:
        return "choose what the visitor meant"
    if target not in {x.id for x in targets}:
        return (
            f"unknown intent {target[:64]!r}: choose one of this site's procedures or facilities, "
            f"{HANDOFF} or {CLARIFY}"
        )
    return None


def _teach(
    lang: str, session: Session, event: StoredEvent, targets: Sequence[TeachTarget], taught: Mapping[str, str]
) -> str:
    """The small form under an unanswered question, or what it was taught as already."""
    t = T[lang]
    names = {x.id: x.name(lang) for x in targets}
    done = taught.get(clean_taught_text(event.text))
    if done is not None:
        return f" <span class='taught'>{_e(t['taught_as'].format(name=names.get(done, done)))}</span>"
    guess = next((g for g in (event.procedure, event.poi) if g in names), None)
    groups = []
    for group in ("procedures", "facilities", "other"):
        options = "".join(
            f"<option value='{_e(x.id)}'{' selected' if x.id == guess else ''}>"
            f"{_e(x.name(lang))}{t['teach_guess'] if x.id == guess else ''}</option>"
            for x in targets
            if x.group == group
        )
        if options:
            groups.append(f"<optgroup label='{t['teach_' + group]}'>{options}</optgroup>")
    sid = f"teach-{event.seq}"
    said = f"<input type='hidden' name='said_lang' value='{_e(event.lang)}'>" if event.lang else ""
    return (
        f"<form method='post' action='/staff/examples' class='teach'>{_csrf(session)}"
        f"<input type='hidden' name='lang' value='{lang}'><input type='hidden' name='text' value='{_e(event.text)}'>{said}"
        f"<label class='sr' for='{sid}'>{t['teach_meant']}</label>"
        f"<select id='{sid}' name='target' required><option value=''>{t['teach_choose']}</option>{''.join(groups)}</select>"
        f"<button type='submit'>{t['teach']}</button></form>"
    )


def render_taught(
    lang: str,
    session: Session,
    examples: Sequence[TaughtExample],
    targets: Sequence[TeachTarget],
    tz: ZoneInfo,
) -> str:
    """The examples staff taught (newest first), each with a remove button for operators, and the
    link to the examples file for the robot."""
    t = T[lang]
    names = {x.id: x.name(lang) for x in targets}
    operator = session.role >= Role.OPERATOR
    hidden = f"{_csrf(session)}<input type='hidden' name='lang' value='{lang}'>"
    rows = []
    for x in examples:
        meaning = _e(names[x.target]) if x.target in names else f"{_e(x.target)}{t['not_in_site']}"
        said = f" lang='{_e(x.lang)}'" if x.lang else ""
        remove = (
            f"<td><form method='post' action='/staff/examples/{x.id}/delete'>{hidden}"
            f"<button type='submit'>{t['remove']}</button></form></td>"
            if operator
            else ""
        )
        rows.append(
            f"<tr id='example-{x.id}'><td><q{said}>{_e(x.text)}</q></td>"
            f"<td>{meaning}</td><td>{_e(x.taught_by)}</td>"
            f"<td><time datetime='{_e(x.taught_at.isoformat())}'>{x.taught_at.astimezone(tz):%Y-%m-%d %H:%M}</time></td>"
            f"{remove}</tr>"
        )
    head = "".join(f"<th scope='col'>{t[k]}</th>" for k in ("said", "meaning", "taught_by", "time"))
    head += f"<th scope='col'>{t['action']}</th>" if operator else ""
    table = (
        f"<table class='taught'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else f"<p>{t['taught_none']}</p>"
    )
    return (
        f"<section aria-labelledby='h-taught'><h2 id='h-taught'>{t['taught']}</h2><p>{t['taught_intro']}</p>"
        f"<p><a href='/staff/examples.yaml' download>{t['taught_download']}</a></p>{table}</section>"
    )


def examples_yaml(
    site: str, examples: Sequence[TaughtExample], targets: Sequence[TeachTarget], now: datetime
) -> str:
    """The taught examples in the robot's examples-file format (`examples:` intent id → utterances,
    see speech/examples.py), intents in the site's order, each one's utterances oldest first.
    Examples of an intent the site no longer has are left out (the robot would refuse the file)."""
    table, stale = taught_table(examples, [x.id for x in targets])
    count = sum(len(v) for v in table.values())
    header = [
        f"# Intent examples taught by the staff of site {site} from the robot's unanswered questions.",
        f"# Downloaded from the staff dashboard at {now.isoformat(timespec='seconds')}: "
        f"{count} example{'' if count == 1 else 's'}.",
        "# The format of the robot's examples (speech/examples.yaml): intent id -> what visitors said.",
        "# The robots connected to the server learn these as soon as they are taught (MQTT). For a robot",
        "# that is not: copy this file to it, set the dialogue node's parameter site_examples_file to its",
        "# path (launch/robot.yaml), and restart it. A robot learns these in addition to the examples it",
        "# ships with; a file it cannot use is logged and left out.",
    ]
    if stale:
        header.append(f"# Left out (intents this site does not have): {', '.join(stale)}")
    body = yaml.safe_dump(
        {"examples": table}, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10_000
    )
    return "\n".join(header) + "\n" + body
