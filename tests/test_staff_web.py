"""The staff dashboard and its API on the real `lobby server` process, a real mosquitto and a robot on
MQTT: security of every route, lockout, cookies, commands signed and acknowledged, offline detection."""

from __future__ import annotations

import html
import json
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from lobby.schema import (
    RobotCommand,
    SiteExamples,
    examples_topic,
    parse_payload,
    payload_is_signed,
    robot_topic,
)
from lobby.settings import Settings
from queue_bridge.server import build_app
from queue_bridge.site import load_site
from speech.examples import CLARIFY, HANDOFF, Example, load_examples, load_site_examples
from tests.support import (
    BridgeProcess,
    FakeRobot,
    Mosquitto,
    MqttProbe,
    StaffClient,
    add_staff_user,
    add_staff_user_fast,
    start_robot_process,
    wait_until,
)

# Digits: a hex token can spell "ada", and a password may not contain its user's name.
PASSWORDS = {name: f"pw-{secrets.randbits(80)}" for name in ("vera", "otto", "ada", "lock")}
ROLES = {"vera": "viewer", "otto": "operator", "ada": "admin", "lock": "viewer"}
OFFLINE_AFTER_S = 2.0
LOCKOUT = 3

#: Every route of the app that anyone may use without signing in. Anything else must refuse.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/static/live.js"),
    ("GET", "/static/staff.css"),
    ("GET", "/static/staff.js"),
    ("GET", "/api/v1/queues"),
    ("GET", "/api/v1/queues/{queue_id}"),
    ("GET", "/api/v1/tickets/{ticket}"),
    ("GET", "/api/v1/stream"),
    ("GET", "/opendata/"),
    ("GET", "/opendata/queue-status.json"),
    ("GET", "/opendata/waiting-times.csv"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/staff/login"),
    ("POST", "/staff/login"),
}
#: The role each protected route needs. A new route that is in neither table fails the test.
NEEDS = {
    ("GET", "/staff"): "viewer",
    ("GET", "/staff/live"): "viewer",
    ("GET", "/staff/map/{floor}.png"): "viewer",
    ("POST", "/staff/logout"): "viewer",
    ("GET", "/api/v1/robots"): "viewer",
    ("GET", "/api/v1/robots/{robot}"): "viewer",
    ("GET", "/api/v1/commands/{command_id}"): "viewer",
    ("POST", "/api/v1/robots/{robot}/commands"): "operator",
    ("POST", "/staff/robots/{robot}/commands"): "operator",
    ("GET", "/staff/examples.yaml"): "viewer",
    ("POST", "/staff/examples"): "operator",
    ("POST", "/staff/examples/{example_id}/delete"): "operator",
    ("GET", "/staff/audit"): "operator",
    ("GET", "/staff/users"): "admin",
    ("POST", "/staff/users"): "admin",
    ("POST", "/staff/users/{name}/{action}"): "admin",
}
RANK = {"viewer": 1, "operator": 2, "admin": 3}
PARAMS = {
    "floor": "1",
    "robot": "robot1",
    "command_id": "0" * 32,
    "name": "vera",
    "action": "unlock",
    "example_id": "1",
}


@dataclass
class Server:
    proc: BridgeProcess
    secret: str
    mqtt_port: int

    @property
    def url(self) -> str:
        return self.proc.url

    @property
    def site(self) -> str:
        return self.proc.site_id

    def client(self, name: str | None = None) -> StaffClient:
        c = StaffClient(self.url)
        if name:
            resp = c.login(name, PASSWORDS[name])
            assert resp.status_code == 303, resp.text
        return c


@pytest.fixture(scope="module")
def server(mosquitto: Mosquitto, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("staff")
    secret = secrets.token_hex(32)  # made up for this run; never written to a file
    proc = BridgeProcess(
        mqtt_port=mosquitto.port,
        workdir=workdir,
        extra_env={
            "LOBBY_COMMAND_SECRET": secret,
            "LOBBY_STAFF_COOKIE_SECURE": "false",  # plain http on loopback in tests
            "LOBBY_ROBOT_OFFLINE_AFTER_S": str(OFFLINE_AFTER_S),
            "LOBBY_STAFF_LOCKOUT_FAILURES": str(LOCKOUT),
        },
    )
    add_staff_user(proc.env, "ada", "admin", PASSWORDS["ada"])  # the real command, once
    for name, role in ROLES.items():
        if name != "ada":
            add_staff_user_fast(Path(proc.env["LOBBY_STAFF_DB_PATH"]), name, role, PASSWORDS[name])
    proc.start()
    yield Server(proc, secret, mosquitto.port)
    proc.stop()


@pytest.fixture
def robot(server: Server) -> Iterator[FakeRobot]:
    r = FakeRobot(server.mqtt_port, server.site, "robot1")
    r.state("idle")
    r.telemetry(26.0, 10.0)
    yield r
    r.close()


def _route_table() -> list[tuple[str, str]]:
    """Every (method, path) of the app as `lobby server` builds it."""
    app = build_app(Settings(db_path=Path(":memory:"), staff_db_path=Path(":memory:")))
    return sorted(
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) or hasattr(route, "methods")
        for method in (getattr(route, "methods", None) or set())
        if method != "HEAD"
    )


def _request(c: StaffClient, method: str, path: str, csrf: str | None) -> httpx.Response:
    url = path.format(**PARAMS)
    if method == "GET":
        return c.http.get(url)
    if path.startswith("/api/"):
        headers = {"X-CSRF-Token": csrf} if csrf else {}
        return c.http.post(url, json={"command": "pause"}, headers=headers)
    data = {"command": "pause", "role": "viewer", "username": "newbie", "password": "x" * 12}
    if csrf:
        data["csrf"] = csrf
    return c.http.post(url, data=data)


def _refused_without_session(resp: httpx.Response) -> bool:
    if resp.status_code in (401, 403):
        return True
    return resp.status_code == 303 and resp.headers["location"].startswith("/staff/login")


# -- every route -----------------------------------------------------------------------------------


def test_every_route_is_public_by_name_or_refused_without_a_session_and_for_the_wrong_role(
    server: Server,
) -> None:
    routes = _route_table()
    unknown = [r for r in routes if r not in PUBLIC and r not in NEEDS]
    assert unknown == [], f"routes neither public nor protected in this test's tables: {unknown}"
    assert set(NEEDS) <= set(routes), "a protected route listed here no longer exists"
    anon = server.client()
    clients = {role: server.client(name) for name, role in ROLES.items() if name != "lock"}
    try:
        for method, path in NEEDS:
            resp = _request(anon, method, path, csrf=None)
            assert _refused_without_session(resp), (method, path, resp.status_code)
            assert "robot1" not in resp.text and "26.0" not in resp.text
            # A forged cookie is no session either.
            anon.http.cookies.set("lobby_staff", "forged-" + secrets.token_urlsafe(32))
            assert _refused_without_session(_request(anon, method, path, csrf=None)), (method, path)
            anon.http.cookies.clear()
            for role, c in clients.items():
                if RANK[role] < RANK[NEEDS[(method, path)]]:
                    resp = _request(c, method, path, csrf=c.csrf)
                    assert resp.status_code == 403, (method, path, role, resp.status_code)
            if method == "POST":
                # The right role without the CSRF token, or with another session's token, is refused.
                admin = clients["admin"]
                assert _request(admin, method, path, csrf=None).status_code == 403, (method, path)
                other = clients["viewer"].csrf
                assert _request(admin, method, path, csrf=other).status_code == 403, (method, path)
    finally:
        anon.close()
        for c in clients.values():
            c.close()


def test_staff_pages_send_strict_security_headers(server: Server) -> None:
    c = server.client("vera")
    try:
        resp = c.http.get("/staff")
        assert resp.status_code == 200
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-frame-options"] == "DENY"
        assert "<script>" not in resp.text and " style=" not in resp.text  # nothing inline
    finally:
        c.close()


# -- login, lockout, cookies, logout ----------------------------------------------------------------


def test_session_cookie_is_httponly_samesite_strict_and_only_for_this_site(server: Server) -> None:
    c = StaffClient(server.url)
    try:
        form = c.http.get("/staff/login")
        token = re.search(r"name='csrf' value='([^']*)'", form.text)
        assert token
        resp = c.http.post(
            "/staff/login", data={"username": "vera", "password": PASSWORDS["vera"], "csrf": token.group(1)}
        )
        assert resp.status_code == 303
        cookie = next(v for k, v in resp.headers.multi_items() if k == "set-cookie" and "lobby_staff=" in v)
        attrs = [a.strip().lower() for a in cookie.split(";")]
        assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs
        assert not any(a.startswith("domain") for a in attrs)
        assert "secure" not in attrs  # this server was told LOBBY_STAFF_COOKIE_SECURE=false
    finally:
        c.close()


def test_cookie_is_secure_by_default_and_commands_need_a_secret(mosquitto: Mosquitto, tmp_path: Path) -> None:
    proc = BridgeProcess(mqtt_port=mosquitto.port, workdir=tmp_path)  # defaults: no secret, Secure cookies
    add_staff_user_fast(Path(proc.env["LOBBY_STAFF_DB_PATH"]), "otto", "operator", PASSWORDS["otto"])
    proc.start()
    robot = FakeRobot(mosquitto.port, proc.site_id, "robot1")
    try:
        http = httpx.Client(base_url=proc.url, follow_redirects=False)
        form = http.get("/staff/login")
        token = re.search(r"name='csrf' value='([^']*)'", form.text)
        assert token and "secure" in form.headers["set-cookie"].lower()
        http.cookies.set("lobby_login_csrf", token.group(1))  # Secure: httpx keeps it off plain http
        resp = http.post(
            "/staff/login", data={"username": "otto", "password": PASSWORDS["otto"], "csrf": token.group(1)}
        )
        assert resp.status_code == 303
        cookie = resp.headers["set-cookie"]
        assert cookie.startswith("__Host-lobby_staff=")
        assert "secure" in [a.strip().lower() for a in cookie.split(";")]
        session = cookie.split(";")[0]
        # httpx (rightly) keeps a Secure cookie off plain http; send it by hand to reach the API.
        headers = {"Cookie": session}
        page = http.get("/staff", headers=headers)
        csrf = re.search(r"name='csrf' value='([^']*)'", page.text)
        assert page.status_code == 200 and csrf
        robot.state("idle")
        robot.telemetry(26.0, 10.0)
        wait_until(lambda: http.get("/api/v1/robots", headers=headers).json()["robots"], what="robot seen")
        resp = http.post(
            "/api/v1/robots/robot1/commands",
            json={"command": "pause"},
            headers={**headers, "X-CSRF-Token": csrf.group(1)},
        )
        assert resp.status_code == 503
        assert "LOBBY_COMMAND_SECRET" in resp.json()["detail"]
        with pytest.raises(Exception):  # noqa: B017 - nothing at all arrives
            robot.next_command(timeout=1)
        http.close()
    finally:
        robot.close()
        proc.stop()


def test_login_form_is_protected_against_cross_site_posts(server: Server) -> None:
    http = httpx.Client(base_url=server.url, follow_redirects=False)
    try:
        data = {"username": "vera", "password": PASSWORDS["vera"], "csrf": "guessed"}
        assert http.post("/staff/login", data=data).status_code == 403  # no login-CSRF cookie
        form = http.get("/staff/login")
        token = re.search(r"name='csrf' value='([^']*)'", form.text)
        assert token
        data["csrf"] = token.group(1)
        resp = http.post("/staff/login", data=data, headers={"Origin": "https://evil.example"})
        assert resp.status_code == 403
        assert http.post("/staff/login", data=data).status_code == 303  # the same form, same site
    finally:
        http.close()


def test_wrong_passwords_lock_the_account_and_an_admin_can_unlock_it(server: Server) -> None:
    c = StaffClient(server.url)
    try:
        for _ in range(LOCKOUT):
            resp = c.login("lock", "not-the-password!")
            assert resp.status_code == 401 and "lobby_staff" not in resp.headers.get("set-cookie", "")
        # Now even the right password is refused, with the same answer.
        resp = c.login("lock", PASSWORDS["lock"])
        assert resp.status_code == 401 and "lobby_staff=" not in resp.headers.get("set-cookie", "")
        assert "lock" in server.proc.log_tail().lower()
        # Another account is not affected.
        assert c.login("vera", PASSWORDS["vera"]).status_code == 303
        admin = server.client("ada")
        page = admin.http.get("/staff/users")
        assert "ロック中" in page.text
        unlock = admin.http.post("/staff/users/lock/unlock", data={"csrf": admin.csrf})
        assert unlock.status_code == 303
        audit = admin.http.get("/staff/audit").text
        assert "account locked" in audit and "account unlocked" in audit and "login failed" in audit
        admin.close()
        assert StaffClient(server.url).login("lock", PASSWORDS["lock"]).status_code == 303
    finally:
        c.close()


def test_unknown_user_and_wrong_password_look_the_same(server: Server) -> None:
    c = StaffClient(server.url)
    try:
        a = c.login("nobody", "whatever-password")
        b = c.login("vera", "whatever-password")
        assert a.status_code == b.status_code == 401
        strip = lambda t: re.sub(r"value='[^']*'", "", t)  # noqa: E731
        assert strip(a.text) == strip(b.text)
    finally:
        c.close()
        # vera's one failure must not add up with later tests: a success resets it
        StaffClient(server.url).login("vera", PASSWORDS["vera"])


def test_logout_ends_the_session_on_the_server(server: Server) -> None:
    c = server.client("vera")
    try:
        stolen = c.http.cookies.get("lobby_staff")
        assert c.http.get("/api/v1/robots").status_code == 200
        assert c.http.post("/staff/logout", data={"csrf": c.csrf}).status_code == 303
        replay = httpx.get(f"{server.url}/api/v1/robots", cookies={"lobby_staff": stolen or ""})
        assert replay.status_code == 401
    finally:
        c.close()


# -- robots, commands, acknowledgements ----------------------------------------------------------------


def test_robot_is_listed_and_a_signed_command_reaches_it_and_is_acknowledged(
    server: Server, robot: FakeRobot
) -> None:
    otto = server.client("otto")
    try:
        seen = wait_until(lambda: otto.robots().get("robot1"), what="robot1 listed")
        assert (
            seen["online"] and seen["mode"] == "idle" and seen["pose"]["x"] == 26.0 and seen["battery"] == 0.8
        )
        resp = otto.command("robot1", {"command": "guide_to", "poi": "information_desk"})
        assert resp.status_code == 202, resp.text
        cid = resp.json()["id"]
        received = robot.next_command()
        cmd = RobotCommand.model_validate(received)
        assert cmd.id == cid and cmd.command == "guide_to" and cmd.poi == "information_desk"
        assert cmd.issued_by == "otto"
        assert payload_is_signed(cmd, server.secret.encode())
        assert not payload_is_signed(cmd, b"another secret")
        assert otto.robots()["robot1"]["pending_commands"][0]["id"] == cid
        assert otto.http.get(f"/api/v1/commands/{cid}").json()["status"] == "sent"
        robot.event("command_ack", command_id=cid, accepted=True)
        wait_until(
            lambda: otto.http.get(f"/api/v1/commands/{cid}").json()["status"] == "acknowledged", what="ack"
        )
        assert otto.robots()["robot1"]["pending_commands"] == []
        # A refusal is recorded as such, and a second answer to the same command changes nothing.
        cid2 = otto.command("robot1", {"command": "pause"}).json()["id"]
        assert robot.next_command()["id"] == cid2
        robot.event("command_ack", command_id=cid2, accepted=False)
        robot.event("command_ack", command_id=cid2, accepted=True)
        wait_until(
            lambda: otto.http.get(f"/api/v1/commands/{cid2}").json()["status"] == "refused", what="refusal"
        )
        time.sleep(0.3)
        assert otto.http.get(f"/api/v1/commands/{cid2}").json()["status"] == "refused"
        audit = otto.http.get("/staff/audit").text
        assert cid in audit and cid2 in audit and "otto" in audit
    finally:
        otto.close()


def test_command_errors_are_one_line_and_nothing_is_sent(server: Server, robot: FakeRobot) -> None:
    otto = server.client("otto")
    try:
        wait_until(lambda: otto.robots().get("robot1", {}).get("online"), what="robot1 online")
        resp = otto.command("robot9", {"command": "pause"})
        assert resp.status_code == 404 and "robot9" in resp.json()["detail"]
        resp = otto.command("robot1", {"command": "guide_to", "poi": "moon_base"})
        assert resp.status_code == 422 and resp.json()["detail"] == "unknown POI 'moon_base'"
        for bad in (
            {"command": "self_destruct"},
            {"command": "guide_to"},
            {"command": "pause", "poi": "exit"},
            {},
        ):
            resp = otto.command("robot1", bad)
            assert resp.status_code == 422, bad
            assert "\n" not in resp.json()["detail"]
        assert otto.command("robot1", {"command": "pause"}, csrf=None).status_code == 403
        with pytest.raises(Exception):  # noqa: B017 - the queue stays empty
            robot.next_command(timeout=1)
        # A viewer's command through the page form is refused too.
        vera = server.client("vera")
        resp = vera.http.post("/staff/robots/robot1/commands", data={"csrf": vera.csrf, "command": "pause"})
        assert resp.status_code == 403
        vera.close()
    finally:
        otto.close()


def test_dashboard_form_sends_a_command(server: Server, robot: FakeRobot) -> None:
    otto = server.client("otto")
    try:
        wait_until(lambda: otto.robots().get("robot1", {}).get("online"), what="robot1 online")
        page = otto.http.get("/staff?lang=en").text
        assert "action='/staff/robots/robot1/commands'" in page and "Go home" in page
        resp = otto.http.post(
            "/staff/robots/robot1/commands", data={"csrf": otto.csrf, "command": "go_home", "lang": "en"}
        )
        assert resp.status_code == 303 and resp.headers["location"] == "/staff?lang=en&note=sent"
        assert robot.next_command()["command"] == "go_home"
        # The viewer sees the dashboard but no command forms.
        vera = server.client("vera")
        assert "/commands'" not in vera.http.get("/staff").text
        vera.close()
    finally:
        otto.close()


def test_silent_robot_goes_offline_and_commands_to_it_are_refused(server: Server) -> None:
    quiet = FakeRobot(server.mqtt_port, server.site, "quiet")
    c = server.client("otto")
    try:
        quiet.state("idle")
        quiet.telemetry(10.0, 10.0)
        assert wait_until(lambda: c.robots().get("quiet", {}).get("online"), what="online")
        start = time.monotonic()
        wait_until(
            lambda: c.robots()["quiet"]["online"] is False, timeout=OFFLINE_AFTER_S + 5, what="offline"
        )
        assert time.monotonic() - start >= OFFLINE_AFTER_S - 0.5  # not before the time is up
        assert c.robots()["quiet"]["mode"] == "offline" and c.robots()["quiet"]["reported_mode"] == "idle"
        resp = c.command("quiet", {"command": "pause"})
        assert resp.status_code == 409 and "offline" in resp.json()["detail"]
        quiet.telemetry(11.0, 10.0)  # speaks again: back
        wait_until(lambda: c.robots()["quiet"]["online"], what="back online")
    finally:
        c.close()
        quiet.close()


def test_killed_robot_process_is_offline_within_five_seconds_by_its_last_will(server: Server) -> None:
    c = server.client("vera")
    proc = start_robot_process(server.mqtt_port, server.site, "victim")
    try:
        wait_until(lambda: c.robots().get("victim", {}).get("online"), what="victim online")
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        killed = time.monotonic()
        # The last will (retained state "offline") arrives as soon as the broker sees the socket close.
        wait_until(lambda: c.robots()["victim"]["reported_mode"] == "offline", timeout=5, what="last will")
        assert c.robots()["victim"]["online"] is False
        assert time.monotonic() - killed < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        c.close()


def test_malformed_robot_messages_are_counted_and_change_nothing(server: Server) -> None:
    probe = MqttProbe(server.mqtt_port)
    c = server.client("vera")
    try:
        before = server.proc.counters().get("rejected_robot_payload", 0)
        bad: list[bytes | str] = [
            b"\xff\xfe not json",
            "[]",
            json.dumps(
                {"version": 1, "robot": "other", "mode": "idle", "updated_at": "2026-04-01T09:00:00+09:00"}
            ),
            json.dumps(
                {"version": 1, "robot": "ghost", "mode": "flying", "updated_at": "2026-04-01T09:00:00+09:00"}
            ),
            json.dumps(
                {"version": 2, "robot": "ghost", "mode": "idle", "updated_at": "2026-04-01T09:00:00+09:00"}
            ),
            "x" * 5000,
        ]
        for payload in bad:
            probe.publish(robot_topic(server.site, "ghost", "state"), payload)
        probe.publish(
            robot_topic(server.site, "ghost", "events"), json.dumps({"version": 1, "robot": "ghost"})
        )
        wait_until(
            lambda: server.proc.counters().get("rejected_robot_payload", 0) - before == len(bad) + 1,
            what="every bad message counted",
        )
        assert "ghost" not in c.robots() and "other" not in c.robots()
        assert server.proc.health()["ok"]
    finally:
        probe.client.publish(
            robot_topic(server.site, "ghost", "state"), b"", qos=1, retain=True
        ).wait_for_publish(5)
        probe.close()
        c.close()


def test_handoffs_unanswered_questions_and_conversations_are_listed_newest_first(
    server: Server, robot: FakeRobot
) -> None:
    robot.event("conversation", text="住民票: 市民課へご案内")
    robot.event("handoff", text="相続の手続きについて相談したい", lang="ja")
    robot.event("unanswered", text="Where can I park my bicycle?", lang="en")
    robot.event("alert", text="not for the log")
    c = server.client("vera")
    try:

        def listed() -> bool:
            html = c.http.get("/staff/live").text
            return "Where can I park my bicycle?" in html and "相続の手続き" in html

        wait_until(listed, what="events on the dashboard")
        html = c.http.get("/staff").text
        assert (
            html.index("Where can I park my bicycle?")
            < html.index("相続の手続き")
            < html.index("住民票: 市民課")
        )
        assert "<span class='kind'>会話</span> " in html and "not for the log" not in html
        assert "<script" not in html.split("Where can I park")[1].split("</li>")[0]
    finally:
        c.close()


def test_dashboard_draws_the_robot_on_the_floor_map_and_serves_the_map_image(
    server: Server, robot: FakeRobot
) -> None:
    robot.telemetry(32.0, 4.0, battery=0.42)
    c = server.client("vera")
    try:
        wait_until(lambda: c.robots()["robot1"]["pose"]["x"] == 32.0, what="robot moved")
        html = c.http.get("/staff?lang=en").text
        # 32 m, 4 m on a 0.05 m/px map 840 px high → (640, 760) px.
        marker = re.search(r"data-robot='robot1'><circle cx='([\d.]+)' cy='([\d.]+)'", html)
        assert marker and (float(marker.group(1)), float(marker.group(2))) == (640.0, 760.0)
        assert "42%" in html
        assert "<noscript><meta http-equiv='refresh'" in html  # complete and fresh without JavaScript
        png = c.http.get("/staff/map/1.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG") and len(png.content) > 500
        assert c.http.get("/staff/map/9.png").status_code == 404
        # The queue overview reuses the bridge's statuses: every queue of the site, by name.
        overview = html.split("id='h-queues'")[1]
        for queue in load_site().queues:
            assert queue.name.en in overview
    finally:
        c.close()


def test_users_cli_reads_passwords_only_from_stdin_or_a_terminal(server: Server) -> None:
    env = server.proc.env
    base = [sys.executable, "-m", "lobby.cli", "users"]
    r = subprocess.run(
        [*base, "add", "eve", "--role", "viewer", "--password", "x"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2  # there is no --password option
    r = subprocess.run(
        [*base, "add", "eve", "--role", "viewer"], env=env, capture_output=True, text=True, input=""
    )
    assert r.returncode == 2 and "--password-stdin" in r.stderr
    r = subprocess.run(
        [*base, "add", "eve", "--role", "viewer", "--password-stdin"],
        env=env,
        capture_output=True,
        text=True,
        input="short\n",
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "at least" in r.stderr
    r = subprocess.run([*base, "list", "--json"], env=env, capture_output=True, text=True)
    listed = {u["name"]: u["role"] for u in json.loads(r.stdout)}
    assert listed["ada"] == "admin" and listed["otto"] == "operator" and "eve" not in listed
    assert PASSWORDS["ada"] not in Path(env["LOBBY_STAFF_DB_PATH"]).read_bytes().decode("latin-1")


# -- teaching the robot from its unanswered questions ---------------------------------------------------

#: The demo site's guide (the test site is a copy): every procedure and facility, by id and names.
GUIDE = load_site().guide or {}
PLACES = {k: v["name"] for group in ("procedures", "facilities") for k, v in GUIDE[group].items()}
KNOWN = {*PLACES, HANDOFF, CLARIFY}


def _teach_form(page: str, text: str) -> tuple[dict[str, str], dict[str, str], str | None]:
    """The teach form under the robot-log row of `text`: its hidden fields, its options (value →
    label) and the option preselected."""
    row = next(li for li in page.split("<li>") if f"<q>{html.escape(text, quote=True)}</q>" in li)
    form = re.search(r"<form method='post' action='/staff/examples' class='teach'>(.*?)</form>", row)
    assert form, f"no teach form in the row of {text!r}"
    hidden = {
        k: html.unescape(v)
        for k, v in re.findall(r"type='hidden' name='([^']*)' value='([^']*)'", form.group(1))
    }
    options = {
        v: html.unescape(label)
        for v, label in re.findall(r"<option value='([^']*)'[^>]*>([^<]*)<", form.group(1))
    }
    chosen = re.search(r"<option value='([^']*)' selected>", form.group(1))
    return hidden, options, chosen.group(1) if chosen else None


def _teach(c: StaffClient, text: str, target: str, **extra: str) -> httpx.Response:
    data = {"csrf": c.csrf or "", "text": text, "target": target, **extra}
    return c.http.post("/staff/examples", data=data)


def _download(c: StaffClient, tmp_path: Path) -> list[Example]:
    resp = c.http.get("/staff/examples.yaml")
    assert resp.status_code == 200, resp.text
    path = tmp_path / "site-examples.yaml"
    path.write_bytes(resp.content)
    return load_examples(path)


def test_an_operator_teaches_the_robot_what_an_unanswered_question_meant(
    server: Server, robot: FakeRobot
) -> None:
    question = "ひだまり窓口はどちらでしょうか"  # this city's name for its long-term care counter
    robot.event("unanswered", text=question, lang="ja", procedure="pension")  # the robot guessed pension
    otto = server.client("otto")
    try:
        wait_until(lambda: question in otto.http.get("/staff/live").text, what="question in the robot log")
        hidden, options, guess = _teach_form(otto.http.get("/staff").text, question)
        # Every procedure and facility of the site by name, hand-off and clarify; the guess preselected.
        assert set(options) == {"", *KNOWN}
        assert all(options[k] == PLACES[k]["ja"] for k in PLACES if k != "pension")
        assert options["pension"] == PLACES["pension"]["ja"] + "（ロボットの推測）" and guess == "pension"
        assert options[HANDOFF] == "職員に引き継ぐ" and options[CLARIFY].startswith("聞き返す")
        assert hidden["text"] == question and hidden["said_lang"] == "ja" and hidden["csrf"] == otto.csrf
        # The operator corrects the guess, as a browser would send the form.
        resp = otto.http.post("/staff/examples", data={**hidden, "target": "nursing_care"})
        assert resp.status_code == 303 and resp.headers["location"] == "/staff?lang=ja&note=taught"
        page = otto.http.get(resp.headers["location"]).text
        assert "例文を教えました" in page
        taught = page.split("id='h-taught'")[1]
        row = next(r for r in taught.split("<tr ") if question in r)
        assert "介護保険" in row and "otto" in row and "<button type='submit'>削除</button>" in row
        assert "href='/staff/examples.yaml'" in taught
        # The row of the robot log now says what it was taught as, instead of offering the form again.
        live = otto.http.get("/staff/live").text
        item = next(li for li in live.split("<li>") if question in li)
        assert "教えました: 介護保険" in item and "<form" not in item
        # In English too.
        en = otto.http.get("/staff?lang=en").text.split("id='h-taught'")[1]
        assert "Taught examples" in en and "long-term care insurance" in en
        audit = otto.http.get("/staff/audit").text
        assert "example taught" in audit and f"nursing_care: {question}" in audit
        # A viewer sees the list and the download, but no teach or remove forms.
        vera = server.client("vera")
        viewer_page = vera.http.get("/staff").text
        assert question in viewer_page.split("id='h-taught'")[1] and "/staff/examples.yaml" in viewer_page
        assert "class='teach'" not in viewer_page and "/delete'" not in viewer_page
        vera.close()
    finally:
        otto.close()


def _retained_examples(server: Server) -> SiteExamples:
    """The taught examples a robot connecting now would get first: the retained message."""
    topic = examples_topic(server.site)
    probe = MqttProbe(server.mqtt_port)
    try:
        probe.subscribe(topic)
        return parse_payload(SiteExamples, json.dumps(probe.next_json(topic, 10)))
    finally:
        probe.close()


def test_what_is_taught_or_removed_is_sent_to_the_robots_signed_and_retained(server: Server) -> None:
    words = f"ぽかぽか広場はどこ {secrets.token_hex(3)}"
    otto = server.client("otto")

    def taught() -> list[str]:
        return _retained_examples(server).examples.get("information_desk", [])

    try:
        assert _teach(otto, words, "information_desk").status_code == 303
        wait_until(lambda: words in taught(), 10, "the taught example on the broker")
        sent = _retained_examples(server)
        assert sent.site == server.site and payload_is_signed(sent, server.secret.encode())
        assert not payload_is_signed(sent, b"another secret")
        page = otto.http.get("/staff").text.split("id='h-taught'")[1]
        row = re.search(rf"<tr id='example-(\d+)'>(?:(?!</tr>).)*{re.escape(words)}", page)
        assert row
        resp = otto.http.post(f"/staff/examples/{row.group(1)}/delete", data={"csrf": otto.csrf or ""})
        assert resp.status_code == 303
        wait_until(lambda: words not in taught(), 10, "the removal on the broker")
        gone = _retained_examples(server)
        assert payload_is_signed(gone, server.secret.encode()) and gone.updated_at >= sent.updated_at
    finally:
        otto.close()


def test_taught_examples_download_as_a_file_the_robot_reads(server: Server, tmp_path: Path) -> None:
    otto, vera, anon = server.client("otto"), server.client("vera"), server.client()
    try:
        taught = [
            Example("Where is the Sunflower Room?", "restroom"),
            Example("ぽかぽか広場に行きたい", "information_desk"),
            Example("駐輪場の定期券を買いたい", HANDOFF),
        ]
        for e in taught:
            assert _teach(otto, e.text, e.target).status_code == 303
        resp = vera.http.get("/staff/examples.yaml")  # a viewer may download
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/yaml")
        assert resp.headers["content-disposition"] == f'attachment; filename="{server.site}-examples.yaml"'
        assert resp.headers["cache-control"] == "no-store"
        text = resp.text
        assert text.startswith("# ") and "site_examples_file" in text and server.site in text.split("\n")[0]
        # What the robot loads (speech/examples.py), with every taught text under its intent id.
        examples = _download(vera, tmp_path)
        for e in taught:
            assert e in examples
        assert load_site_examples(tmp_path / "site-examples.yaml", KNOWN) == examples  # ids the site has
        # Not signed in: sent to the sign-in page, like every staff page; nothing is given away.
        resp = anon.http.get("/staff/examples.yaml")
        assert resp.status_code == 303 and resp.headers["location"].startswith("/staff/login")
        assert "Sunflower" not in resp.text
    finally:
        for c in (otto, vera, anon):
            c.close()


def test_teaching_is_refused_to_viewers_without_csrf_and_for_an_unknown_intent(
    server: Server, tmp_path: Path
) -> None:
    words = f"refused-{secrets.token_hex(4)}"
    otto, vera = server.client("otto"), server.client("vera")
    try:
        assert _teach(vera, words, "restroom").status_code == 403  # a viewer only looks
        assert (
            otto.http.post("/staff/examples", data={"text": words, "target": "restroom"}).status_code == 403
        )
        assert _teach(otto, words, "restroom", csrf=vera.csrf or "").status_code == 403  # another session's
        evil = otto.http.post(
            "/staff/examples",
            data={"csrf": otto.csrf or "", "text": words, "target": "restroom"},
            headers={"Origin": "https://evil.example"},
        )
        assert evil.status_code == 403
        for target, error in (
            ("moon_base", "unknown intent 'moon_base'"),
            ("", "choose what the visitor meant"),
            ("pension<script>", "unknown intent"),
        ):
            resp = _teach(otto, words, target)
            assert resp.status_code == 422, target
            alert = re.search(r"<p class='error' role='alert'>([^<]*)</p>", resp.text)
            assert alert and error in html.unescape(alert.group(1)), resp.text
            assert "<script>" not in resp.text
        resp = _teach(otto, words + "x" * 500, "restroom")
        assert resp.status_code == 422 and "too long" in resp.text
        assert _teach(otto, " \n\t ", "restroom").status_code == 422  # no words at all
        assert all(words not in e.text for e in _download(otto, tmp_path))  # nothing was stored
        assert words not in otto.http.get("/staff").text
    finally:
        otto.close()
        vera.close()


def test_a_duplicate_is_taught_once_and_an_example_can_be_removed(server: Server, tmp_path: Path) -> None:
    words = f"where do I pay the dog tax {secrets.token_hex(3)}"
    otto, vera = server.client("otto"), server.client("vera")
    try:
        assert _teach(otto, words, "tax_certificate").headers["location"].endswith("note=taught")
        again = _teach(otto, f"  {words.replace(' ', '  ')}\n", "tax_certificate")  # the same words
        assert again.status_code == 303 and again.headers["location"].endswith("note=taught_already")
        assert "同じ意味ですでに教えてあります" in otto.http.get(again.headers["location"]).text
        assert _teach(otto, words, HANDOFF).headers["location"].endswith("note=taught")  # another meaning
        examples = _download(otto, tmp_path)
        assert examples.count(Example(words, "tax_certificate")) == 1 and Example(words, HANDOFF) in examples
        page = otto.http.get("/staff").text.split("id='h-taught'")[1]
        ids = [int(i) for i, row in re.findall(r"<tr id='example-(\d+)'>(.*?)</tr>", page) if words in row]
        assert len(ids) == 2 and ids[0] > ids[1]  # newest first
        newest = ids[0]
        resp = vera.http.post(f"/staff/examples/{newest}/delete", data={"csrf": vera.csrf or ""})
        assert resp.status_code == 403  # a viewer cannot remove
        assert otto.http.post(f"/staff/examples/{newest}/delete", data={"lang": "ja"}).status_code == 403
        resp = otto.http.post(f"/staff/examples/{newest}/delete", data={"csrf": otto.csrf or ""})
        assert resp.status_code == 303 and resp.headers["location"].endswith("note=example_removed")
        examples = _download(otto, tmp_path)
        assert Example(words, HANDOFF) not in examples and Example(words, "tax_certificate") in examples
        resp = otto.http.post(f"/staff/examples/{newest}/delete", data={"csrf": otto.csrf or ""})
        assert resp.status_code == 404 and f"no taught example '{newest}'" in html.unescape(resp.text)
        assert otto.http.post("/staff/examples/¹/delete", data={"csrf": otto.csrf or ""}).status_code == 404
        audit = otto.http.get("/staff/audit").text
        assert f"example removed</td><td></td><td></td><td class='detail'>{HANDOFF}: {words}" in audit
    finally:
        otto.close()
        vera.close()
