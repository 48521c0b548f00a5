"""HTTP shell of the staff fleet dashboard: `/staff…` pages and the `/api/v1/robots…` JSON API.

Every route but the login form checks the session first (401, or a redirect to the login page for a
page), then the role (403), then for anything that changes state the CSRF token (403): a form field
for pages, the `X-CSRF-Token` header for the JSON API. The rules themselves are in `auth`, the
fleet view in `fleet`, storage in `staff_store`, HTML (and the robot's examples file) in `staff_page`.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Protocol, get_args
from urllib.parse import parse_qs

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool

from lobby.schema import CommandName, RobotCommand, sign_payload
from lobby.settings import Settings
from queue_bridge import auth, fleet, staff_page
from queue_bridge.auth import LockoutPolicy, Role, Session
from queue_bridge.bridge import Bridge
from queue_bridge.staff_page import FloorImage, Poi
from queue_bridge.staff_store import StaffStore

log = logging.getLogger("lobby.staff")

STATIC = resources.files("queue_bridge").joinpath("static")
STAFF_CSS = STATIC.joinpath("staff.css").read_bytes()
STAFF_JS = STATIC.joinpath("staff.js").read_bytes()
LOGIN_CSRF_COOKIE = "lobby_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_FORM_BYTES = 8192
EVENT_KINDS = ("handoff", "unanswered", "conversation", "escort")  # the robot log staff see

#: Headers on every staff response: nothing cached, nothing framed, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class RobotPublisher(Protocol):
    def publish_command(self, command: RobotCommand) -> None: ...
    def publish_examples(self) -> None: ...


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: CommandName
    poi: str | None = None


class _LoginRequired(Exception):
    def __init__(self, lang: str) -> None:
        self.lang = lang


class _Refused(Exception):
    """A refusal rendered as JSON (API) or as a short page."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail


@dataclass
class _Maps:
    floors: list[FloorImage]
    pngs: dict[int, bytes]
    pois: list[Poi]
    poi_names: dict[str, dict[str, str]]


def _load_maps(settings: Settings) -> _Maps:
    """The building's floors as PNG images (converted once) and its POIs."""
    from PIL import Image

    from robot.navigation.maps import DEFAULT_BUILDING, load_building

    building = load_building(settings.building_file or DEFAULT_BUILDING)
    floors: list[FloorImage] = []
    pngs: dict[int, bytes] = {}
    for number in sorted(building.floors):
        fm = building.floors[number]
        height, width = fm.shape
        # Row 0 of the grid is the bottom of the map; row 0 of an image is its top.
        pixels = np.full((height, width), 255, dtype=np.uint8)
        pixels[fm.unknown[::-1]] = 205
        pixels[(fm.occupied & ~fm.unknown)[::-1]] = 40
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="PNG", optimize=True)
        pngs[number] = buf.getvalue()
        floors.append(FloorImage(number, width, height, fm.resolution, fm.origin))
    pois = sorted(building.pois.values(), key=lambda p: (p.floor, p.id))
    return _Maps(
        floors,
        pngs,
        [Poi(p.id, p.name_ja, p.floor) for p in pois],
        {p.id: {"ja": p.name_ja, "en": p.name_en} for p in pois},
    )


def add_staff_routes(app: FastAPI, bridge: Bridge, settings: Settings) -> None:
    """The dashboard and its API on `app`. Commands go through `app.state.mqtt` (set by the shells)."""
    if bridge.staff is None:
        raise ValueError("the staff dashboard needs a staff store on the bridge")
    store: StaffStore = bridge.staff
    maps = _load_maps(settings)
    policy = LockoutPolicy(settings.staff_lockout_failures, timedelta(minutes=settings.staff_lockout_minutes))
    session_ttl = timedelta(hours=settings.staff_session_hours)
    secure = settings.staff_cookie_secure
    # `__Host-` cookies are only accepted over HTTPS, only for this host and path /: use it when we can.
    cookie = "__Host-lobby_staff" if secure else "lobby_staff"
    offline_after = settings.robot_offline_after_s
    tz = bridge.site.tz
    targets = staff_page.teach_targets(bridge.site)  # what a visitor may have meant, by name

    # -- helpers --------------------------------------------------------------------------------
    def now() -> datetime:
        return datetime.now(UTC)

    def lang_of(request: Request) -> str:
        return staff_page.lang_of(request.query_params.get("lang"))

    def current(request: Request) -> tuple[str, Session] | None:
        token = request.cookies.get(cookie)
        if not token or len(token) > 128:
            return None
        session = store.session(token)
        if not auth.session_valid(session, now()):
            return None
        assert session is not None
        return token, session

    def check_origin(request: Request) -> None:
        if not auth.same_origin(
            request.headers.get("origin"), request.headers.get("host"), request.url.scheme
        ):
            raise _Refused(403, "cross-origin request refused")

    async def read_form(request: Request) -> dict[str, str]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise _Refused(415, "send the form as application/x-www-form-urlencoded")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise _Refused(413, "form too large")
        try:
            parsed = parse_qs(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=20, strict_parsing=False
            )
        except (UnicodeDecodeError, ValueError):
            raise _Refused(400, "malformed form") from None
        return {k: v[0] for k, v in parsed.items()}

    def guard_page(request: Request, need: Role) -> Session:
        found = current(request)
        if found is None:
            raise _LoginRequired(lang_of(request))
        if not auth.allows(found[1].role, need):
            raise _Refused(403, f"this page needs the {need.label} role")
        return found[1]

    async def guard_form(request: Request, need: Role) -> tuple[str, Session, dict[str, str]]:
        found = current(request)
        if found is None:
            raise _Refused(401, "sign in first")
        token, session = found
        if not auth.allows(session.role, need):
            raise _Refused(403, f"this needs the {need.label} role")
        check_origin(request)
        form = await read_form(request)
        if not auth.csrf_ok(session.csrf, form.get(staff_page.CSRF_FIELD)):
            raise _Refused(403, "missing or wrong CSRF token; reload the page and try again")
        return token, session, form

    def guard_api(request: Request, need: Role, *, changes: bool) -> Session:
        found = current(request)
        if found is None:
            raise _Refused(401, "sign in first: POST /staff/login, then send the session cookie")
        session = found[1]
        if not auth.allows(session.role, need):
            raise _Refused(403, f"this needs the {need.label} role")
        if changes:
            check_origin(request)
            if not auth.csrf_ok(session.csrf, request.headers.get(CSRF_HEADER)):
                raise _Refused(403, f"missing or wrong {CSRF_HEADER} header")
        return session

    def html(text: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
        return HTMLResponse(text, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})

    def robots_json() -> list[dict[str, Any]]:
        t = now()
        pending = store.pending_commands()
        return [
            {**fleet.summary(v, t, offline_after), "pending_commands": pending.get(v.robot, [])}
            for v in bridge.fleet.all()
        ]

    def live_html(lang: str, session: Session) -> str:
        return staff_page.render_live(
            lang,
            now(),
            tz,
            maps.floors,
            robots_json(),
            store.events(EVENT_KINDS),
            bridge.site,
            bridge.statuses(),
            session,
            targets,
            {x.text: x.target for x in reversed(store.examples())},  # the latest taught wins
        )

    def dashboard(lang: str, session: Session, note: str | None = None, error: str | None = None) -> str:
        robots = robots_json()
        pois = [Poi(p.id, maps.poi_names[p.id][lang], p.floor) for p in maps.pois]
        return staff_page.render_dashboard(
            lang,
            session,
            live_html(lang, session),
            staff_page.render_commands(lang, session, robots, pois),
            note,
            error,
            staff_page.render_taught(lang, session, store.examples(), targets, tz),
        )

    def issue_command(
        session: Session, robot: str, request_app: FastAPI, command: str, poi: str | None
    ) -> RobotCommand:
        """Validate, sign, record and publish one command; raise _Refused with one line otherwise."""
        view = bridge.fleet.get(robot)
        if view is None:
            raise _Refused(404, f"unknown robot {robot!r}")
        if command not in get_args(CommandName):
            raise _Refused(422, f"unknown command {command!r}; use go_home, pause, resume or guide_to")
        if command == "guide_to":
            if not poi:
                raise _Refused(422, "guide_to needs a poi")
            if poi not in maps.poi_names:
                raise _Refused(422, f"unknown POI {poi!r}")
        elif poi:
            raise _Refused(422, f"{command} takes no poi")
        if settings.command_secret is None:
            raise _Refused(
                503, "commands are disabled: the server has no command secret (set LOBBY_COMMAND_SECRET)"
            )
        t = now()
        if not fleet.is_online(view, t, offline_after):
            raise _Refused(409, f"{robot} is offline; the command was not sent")
        publisher: RobotPublisher | None = getattr(request_app.state, "mqtt", None)
        if publisher is None:
            raise _Refused(503, "no MQTT connection in this server; the command was not sent")
        cmd = RobotCommand(
            id=uuid.uuid4().hex,
            robot=robot,
            command=command,  # checked against CommandName above (pydantic validates it again)
            poi=poi or None,
            issued_by=session.username,
            issued_at=t,
        )
        signed = sign_payload(cmd, settings.command_secret.get_secret_value().encode("utf-8"))
        store.command_recorded(signed, "sent", t)  # before publishing: the reply may come at once
        try:
            publisher.publish_command(signed)
        except Exception as exc:
            store.set_command_status(signed.id, robot, "failed", now())
            log.warning("command %s to %s not sent: %s", signed.id, robot, exc)
            raise _Refused(503, f"the command was not sent: {exc}") from None
        log.info("command %s %s sent to %s by %s", signed.id, command, robot, session.username)
        return signed

    # -- error handling ---------------------------------------------------------------------------
    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _LoginRequired)
        return RedirectResponse(f"/staff/login?lang={exc.lang}", status_code=303, headers=SECURITY_HEADERS)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        headers = dict(SECURITY_HEADERS)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Cookie realm="staff"'
        if request.url.path.startswith("/api/") or request.url.path == "/staff/live":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)
        lang = lang_of(request)
        body = (
            f"<main><h1>{exc.status}</h1><p role='alert'>{staff_page._e(exc.detail)}</p>"
            f"<p><a href='/staff?lang={lang}'>{staff_page.T[lang]['dashboard']}</a></p></main>"
        )
        return HTMLResponse(
            staff_page._page(lang, str(exc.status), body), status_code=exc.status, headers=headers
        )

    app.add_exception_handler(_LoginRequired, login_required)
    app.add_exception_handler(_Refused, refused)

    # -- public: assets and the login form ------------------------------------------------------------
    @app.get("/static/staff.css", include_in_schema=False)
    def staff_css() -> Response:
        return Response(STAFF_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @app.get("/static/staff.js", include_in_schema=False)
    def staff_js() -> Response:
        return Response(STAFF_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})

    def login_page(lang: str, failed: bool, status: int = 200) -> Response:
        # Login CSRF: a random token in a cookie and in the form (double submit), so another site
        # cannot sign a browser in to an account of its choosing.
        token = auth.new_token()
        resp = html(
            staff_page.render_login(
                lang, token, failed, policy.max_failures, policy.lock_for.total_seconds() / 60
            ),
            status,
        )
        resp.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/staff/login",
        )
        return resp

    @app.get("/staff/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        return login_page(lang_of(request), failed=False)

    @app.post("/staff/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        check_origin(request)
        form = await read_form(request)
        lang = staff_page.lang_of(form.get("lang"))
        if not auth.csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get(staff_page.CSRF_FIELD)):
            raise _Refused(403, "the sign-in form has expired; reload it and try again")
        name = form.get("username", "").strip().lower()[:64]
        password = form.get("password", "")[: auth.MAX_PASSWORD_LENGTH + 1]
        session = await run_in_threadpool(attempt_login, name, password)
        if session is None:
            return login_page(lang, failed=True, status=401)
        token = session
        resp = RedirectResponse(f"/staff?lang={lang}", status_code=303, headers=SECURITY_HEADERS)
        resp.set_cookie(
            cookie,
            token,
            max_age=int(session_ttl.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )
        resp.delete_cookie(
            LOGIN_CSRF_COOKIE, path="/staff/login", secure=secure, httponly=True, samesite="strict"
        )
        return resp

    def attempt_login(name: str, password: str) -> str | None:
        """Check a password with the lockout rule; on success a new session's token."""
        t = now()
        user = store.user(name) if auth.username_problem(name) is None else None
        if user is not None and auth.is_locked(user.login, t):
            auth.verify_password(password, auth.DUMMY_HASH)  # same time as any other attempt
            store.audit(t, name, "login refused (locked)")
            log.warning("login refused for %s: account locked until %s", name, user.login.locked_until)
            return None
        ok = auth.verify_password(password, user.password_hash if user else auth.DUMMY_HASH)
        if user is None or not ok:
            if user is not None:
                record = auth.after_failure(user.login, t, policy)
                store.set_login_record(name, record)
                if auth.is_locked(record, t):
                    store.audit(t, name, "account locked", f"{record.failures} wrong passwords")
                    log.warning(
                        "account %s locked for %s after %d wrong passwords",
                        name,
                        policy.lock_for,
                        record.failures,
                    )
            store.audit(t, name if user else None, "login failed", "" if user else "unknown user")
            return None
        store.set_login_record(name, auth.after_success())
        token, csrf = auth.new_token(), auth.new_token()
        store.create_session(token, name, csrf, t, t + session_ttl)
        store.audit(t, name, "login", user.role.label)
        log.info("%s signed in (%s)", name, user.role.label)
        return token

    # -- viewer and up ----------------------------------------------------------------------------------
    @app.post("/staff/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        token, session, form = await guard_form(request, Role.VIEWER)
        store.delete_session(token)
        store.audit(now(), session.username, "logout")
        resp = RedirectResponse(
            f"/staff/login?lang={staff_page.lang_of(form.get('lang'))}",
            status_code=303,
            headers=SECURITY_HEADERS,
        )
        resp.delete_cookie(cookie, path="/", secure=secure, httponly=True, samesite="strict")
        return resp

    @app.get("/staff", include_in_schema=False)
    def staff_home(request: Request) -> Response:
        session = guard_page(request, Role.VIEWER)
        note = request.query_params.get("note")
        return html(dashboard(lang_of(request), session, note if note in staff_page.NOTES else None))

    @app.get("/staff/live", include_in_schema=False)
    def staff_live(request: Request) -> Response:
        """The live section of the dashboard alone (the script polls it)."""
        found = current(request)
        if found is None:
            raise _Refused(401, "sign in first")
        return html(live_html(lang_of(request), found[1]))

    @app.get("/staff/map/{floor}.png", include_in_schema=False)
    def floor_png(request: Request, floor: str) -> Response:
        guard_page(request, Role.VIEWER)
        png = maps.pngs.get(int(floor)) if floor.isdigit() and len(floor) < 4 else None
        if png is None:
            raise _Refused(404, f"no floor {floor}")
        return Response(
            png,
            media_type="image/png",
            headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=3600"},
        )

    @app.get("/staff/examples.yaml", include_in_schema=False)
    def examples_file(request: Request) -> Response:
        """The taught examples as a file for the robot (parameter `site_examples_file`)."""
        guard_page(request, Role.VIEWER)
        text = staff_page.examples_yaml(bridge.site.site, store.examples(), targets, now().astimezone(tz))
        return Response(
            text.encode("utf-8"),
            media_type="application/yaml; charset=utf-8",
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{bridge.site.site}-examples.yaml"',
            },
        )

    @app.get("/api/v1/robots", include_in_schema=False)
    def api_robots(request: Request) -> JSONResponse:
        guard_api(request, Role.VIEWER, changes=False)
        return JSONResponse(
            {"site": bridge.site.site, "offline_after_s": offline_after, "robots": robots_json()},
            headers=SECURITY_HEADERS,
        )

    @app.get("/api/v1/robots/{robot}", include_in_schema=False)
    def api_robot(request: Request, robot: str) -> JSONResponse:
        guard_api(request, Role.VIEWER, changes=False)
        found = [r for r in robots_json() if r["robot"] == robot]
        if not found:
            raise _Refused(404, f"unknown robot {robot!r}")
        return JSONResponse(found[0], headers=SECURITY_HEADERS)

    @app.get("/api/v1/commands/{command_id}", include_in_schema=False)
    def api_command(request: Request, command_id: str) -> JSONResponse:
        guard_api(request, Role.VIEWER, changes=False)
        status = store.command_status(command_id[:64])
        if status is None:
            raise _Refused(404, f"unknown command {command_id!r}")
        return JSONResponse({"id": command_id, "status": status}, headers=SECURITY_HEADERS)

    # -- operator ---------------------------------------------------------------------------------------
    @app.post("/api/v1/robots/{robot}/commands", include_in_schema=False)
    async def api_command_post(request: Request, robot: str) -> JSONResponse:
        session = guard_api(request, Role.OPERATOR, changes=True)
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise _Refused(413, "request too large")
        try:
            req = CommandRequest.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise _Refused(422, f"{where}: {first['msg']}") from None
        cmd = issue_command(session, robot, request.app, req.command, req.poi)
        return JSONResponse(
            {"id": cmd.id, "robot": robot, "command": cmd.command, "poi": cmd.poi, "status": "sent"},
            status_code=202,
            headers={**SECURITY_HEADERS, "Location": f"/api/v1/commands/{cmd.id}"},
        )

    @app.post("/staff/robots/{robot}/commands", include_in_schema=False)
    async def form_command(request: Request, robot: str) -> Response:
        _token, session, form = await guard_form(request, Role.OPERATOR)
        lang = staff_page.lang_of(form.get("lang"))
        try:
            issue_command(session, robot, request.app, form.get("command", ""), form.get("poi") or None)
        except _Refused as exc:
            return html(dashboard(lang, session, error=exc.detail), exc.status)
        return RedirectResponse(f"/staff?lang={lang}&note=sent", status_code=303, headers=SECURITY_HEADERS)

    # Teaching is an operator's job: it is part of running the robots day to day, like commanding
    # them. What is taught or removed reaches the robots at once (signed, retained MQTT) and is in
    # the audit log.
    def send_examples(request_app: FastAPI) -> None:
        publisher: RobotPublisher | None = getattr(request_app.state, "mqtt", None)
        if publisher is not None:  # a broker that is down gets them on reconnecting
            publisher.publish_examples()

    @app.post("/staff/examples", include_in_schema=False)
    async def teach(request: Request) -> Response:
        _token, session, form = await guard_form(request, Role.OPERATOR)
        lang = staff_page.lang_of(form.get("lang"))
        text = staff_page.clean_taught_text(form.get("text", ""))
        target = form.get("target", "")
        problem = staff_page.teach_problem(text, target, targets)
        if problem:
            return html(dashboard(lang, session, error=problem), 422)
        said = form.get("said_lang")
        said_lang = said if said in staff_page.SPOKEN_LANGS else None
        t = now()
        if not store.add_example(text, said_lang, target, session.username, t):
            return RedirectResponse(
                f"/staff?lang={lang}&note=taught_already", status_code=303, headers=SECURITY_HEADERS
            )
        store.audit(t, session.username, "example taught", f"{target}: {text}")
        send_examples(request.app)
        log.info("%s taught an example for %s", session.username, target)
        return RedirectResponse(f"/staff?lang={lang}&note=taught", status_code=303, headers=SECURITY_HEADERS)

    @app.post("/staff/examples/{example_id}/delete", include_in_schema=False)
    async def unteach(request: Request, example_id: str) -> Response:
        _token, session, form = await guard_form(request, Role.OPERATOR)
        lang = staff_page.lang_of(form.get("lang"))
        removed = (
            store.remove_example(int(example_id))
            if example_id.isascii() and example_id.isdigit() and len(example_id) < 12
            else None
        )
        if removed is None:
            return html(dashboard(lang, session, error=f"no taught example {example_id[:20]!r}"), 404)
        store.audit(now(), session.username, "example removed", f"{removed.target}: {removed.text}")
        send_examples(request.app)
        log.info("%s removed the example %d (%s)", session.username, removed.id, removed.target)
        return RedirectResponse(
            f"/staff?lang={lang}&note=example_removed", status_code=303, headers=SECURITY_HEADERS
        )

    @app.get("/staff/audit", include_in_schema=False)
    def audit_page(request: Request) -> Response:
        session = guard_page(request, Role.OPERATOR)
        return html(staff_page.render_audit(lang_of(request), session, store.audit_log(), tz))

    # -- admin --------------------------------------------------------------------------------------------
    @app.get("/staff/users", include_in_schema=False)
    def users_page(request: Request) -> Response:
        session = guard_page(request, Role.ADMIN)
        note = request.query_params.get("note")
        return html(
            staff_page.render_users(
                lang_of(request),
                session,
                store.users(),
                now(),
                note if note in staff_page.NOTES else None,
                None,
            )
        )

    def users_error(lang: str, session: Session, status: int, error: str) -> Response:
        return html(staff_page.render_users(lang, session, store.users(), now(), None, error), status)

    @app.post("/staff/users", include_in_schema=False)
    async def users_add(request: Request) -> Response:
        _token, session, form = await guard_form(request, Role.ADMIN)
        lang = staff_page.lang_of(form.get("lang"))
        name = form.get("username", "").strip().lower()
        password = form.get("password", "")
        try:
            role = Role.parse(form.get("role", ""))
        except ValueError as exc:
            return users_error(lang, session, 422, str(exc))
        problem = auth.username_problem(name) or auth.password_problem(name, password)
        if problem:
            return users_error(lang, session, 422, problem)
        hashed = await run_in_threadpool(auth.hash_password, password)
        if not store.add_user(name, role, hashed, now()):
            return users_error(lang, session, 409, f"the user {name!r} exists already")
        store.audit(now(), session.username, "user added", f"{name} ({role.label})")
        return RedirectResponse(
            f"/staff/users?lang={lang}&note=user_added", status_code=303, headers=SECURITY_HEADERS
        )

    @app.post("/staff/users/{name}/{action}", include_in_schema=False)
    async def users_change(request: Request, name: str, action: str) -> Response:
        _token, session, form = await guard_form(request, Role.ADMIN)
        lang = staff_page.lang_of(form.get("lang"))
        if action not in ("role", "unlock", "delete"):
            raise _Refused(404, f"no such action {action!r}")
        user = store.user(name)
        if user is None:
            return users_error(lang, session, 404, f"no user {name!r}")
        if name == session.username and action != "unlock":
            return users_error(lang, session, 409, "you cannot change or delete your own account here")
        if action == "role":
            try:
                role = Role.parse(form.get("role", ""))
            except ValueError as exc:
                return users_error(lang, session, 422, str(exc))
            store.set_role(name, role)
            store.audit(now(), session.username, "role changed", f"{name}: {user.role.label} → {role.label}")
        elif action == "unlock":
            store.set_login_record(name, auth.after_success())
            store.audit(now(), session.username, "account unlocked", name)
        else:
            store.delete_user(name)
            store.audit(now(), session.username, "user deleted", name)
        return RedirectResponse(
            f"/staff/users?lang={lang}&note=user_changed", status_code=303, headers=SECURITY_HEADERS
        )
