"""The staff dashboard in a real headless Chromium: sign in, see the map and the robots, live updates,
a killed robot shown offline within 5 s, and the same page without JavaScript."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support import FakeRobot, start_robot_process, wait_until
from tests.test_browser import CHROMIUM_ARGS
from tests.test_staff_web import PASSWORDS, Server, server  # noqa: F401 - the module's server fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(f"{url}/staff?lang=en")
    assert "/staff/login" in page.url  # not signed in: sent to the login form
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORDS[name])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{url}/staff?lang=en")


def test_operator_signs_in_and_sees_the_live_map_and_a_killed_robot_go_offline(
    server: Server,  # noqa: F811
    browser: Browser,
    artifacts: Path,
) -> None:
    robot = FakeRobot(server.mqtt_port, server.site, "robot1")
    robot.state("escorting", 20.0, 10.0)
    robot.telemetry(20.0, 10.0)
    robot.keep_alive()
    victim = start_robot_process(server.mqtt_port, server.site, "victim")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    maps: list[int] = []
    try:
        page = ctx.new_page()
        page.on("response", lambda r: maps.append(r.status) if "/staff/map/" in r.url else None)
        _sign_in(page, server.url, "otto")
        assert page.get_by_role("heading", name="Floor map").is_visible()
        floor1 = page.get_by_role("img", name="Map of floor 1", exact=False)
        assert floor1.is_visible()
        page.locator("#map-1 [data-robot='robot1']").wait_for()
        wait_until(lambda: maps and all(s == 200 for s in maps), what="map images loaded")
        natural = page.evaluate(
            "() => new Promise(ok => { const i = new Image(); i.onload = () => ok(i.naturalWidth); "
            "i.onerror = () => ok(0); i.src = '/staff/map/1.png'; })"
        )
        assert natural == 1280
        row = page.locator("#robot-robot1")
        assert row.locator("[data-f=mode]").inner_text() == "escorting"
        before = page.locator("#map-1 [data-robot='robot1'] circle").get_attribute("cx")
        assert before == "400.0"
        # The robot moves: the marker follows without a reload (the script polls the live section).
        robot.telemetry(30.0, 10.0)
        page.wait_for_function(
            "() => document.querySelector(\"#map-1 [data-robot='robot1'] circle\").getAttribute('cx') === '600.0'",
            timeout=5000,
        )
        page.locator("#robot-victim.on").wait_for(timeout=5000)
        victim.send_signal(signal.SIGKILL)
        victim.wait(5)
        killed = time.monotonic()
        page.locator("#robot-victim.off").wait_for(timeout=5000)
        assert time.monotonic() - killed < 5
        assert page.locator("#robot-victim [data-f=mode]").inner_text() == "offline"
        page.screenshot(path=str(artifacts / "staff-dashboard.png"), full_page=True)
        # Operators have the command forms, and they are keyboard-reachable buttons.
        assert page.get_by_role("button", name="Pause").first.is_visible()
        assert page.get_by_role("combobox", name="Destination").first.is_visible()
        assert errors == []
    finally:
        ctx.close()
        robot.close()
        if victim.poll() is None:
            victim.kill()
            victim.wait()


def test_dashboard_works_without_javascript(server: Server, browser: Browser, artifacts: Path) -> None:  # noqa: F811
    robot = FakeRobot(server.mqtt_port, server.site, "robot1")
    robot.state("idle", 26.0, 10.0)
    robot.telemetry(26.0, 10.0)
    robot.keep_alive()
    ctx = browser.new_context(java_script_enabled=False, locale="ja-JP")
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/staff/login")
        page.get_by_label("ユーザー名").fill("vera")
        page.get_by_label("パスワード").fill(PASSWORDS["vera"])
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(f"{server.url}/staff?lang=ja")
        assert page.get_by_role("heading", name="フロアマップ").is_visible()
        assert page.locator("#map-1 [data-robot='robot1']").count() == 1
        assert page.locator("#robot-robot1 [data-f=mode]").inner_text() == "待機中"
        assert page.get_by_role("link", name="最新の状態に更新").is_visible()
        assert page.get_by_role("button", name="一時停止").count() == 0  # a viewer has no commands
        page.screenshot(path=str(artifacts / "staff-dashboard-nojs.png"), full_page=True)
    finally:
        ctx.close()
        robot.close()


def test_login_form_is_keyboard_operable(server: Server, browser: Browser) -> None:  # noqa: F811
    ctx = browser.new_context(locale="en-US")
    try:
        page = ctx.new_page()
        page.goto(f"{server.url}/staff/login?lang=en")
        order = []
        for _ in range(5):
            page.keyboard.press("Tab")
            order.append(
                page.evaluate("() => document.activeElement.id || document.activeElement.textContent")
            )
        assert order.index("username") < order.index("password") < order.index("Sign in")
    finally:
        ctx.close()
