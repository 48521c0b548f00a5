"""Teaching the robot in a real headless Chromium: an operator's choice in the robot log survives the
live section's updates (the script replaces it every second) and the form teaches it."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support import FakeRobot
from tests.test_staff_browser import _sign_in, browser  # noqa: F401 - the module's browser fixture
from tests.test_staff_web import Server, server  # noqa: F401 - the module's server fixture

pytestmark = pytest.mark.browser


def test_a_choice_in_the_live_robot_log_survives_the_updates_and_is_taught(
    server: Server,  # noqa: F811
    browser: Browser,  # noqa: F811
    artifacts: Path,
) -> None:
    robot = FakeRobot(server.mqtt_port, server.site, "robot1")
    robot.state("idle", 26.0, 10.0)
    robot.telemetry(26.0, 10.0)
    robot.keep_alive()
    question = f"Is the Sunflower Room open on Sundays ({secrets.token_hex(3)})?"
    robot.event("unanswered", text=question, lang="en")
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = ctx.new_page()
        _sign_in(page, server.url, "otto")
        row = page.locator("ul.events li", has_text=question)
        row.wait_for(timeout=10_000)
        meant = row.get_by_role("combobox", name="What the visitor meant")
        assert meant.input_value() == ""  # no guess: the operator must choose
        meant.select_option("restroom")
        # The operator looks elsewhere; the live section is replaced again (the robot moves) ...
        page.get_by_role("heading", name="Robot fleet dashboard").click()
        robot.telemetry(27.0, 10.0)
        page.wait_for_function(
            "() => document.querySelector(\"#map-1 [data-robot='robot1'] circle\").getAttribute('cx') === '540.0'",
            timeout=5000,
        )
        # ... and the choice is still there in the new rendering.
        assert meant.input_value() == "restroom"
        row.get_by_role("button", name="Teach").click()
        page.wait_for_url(f"{server.url}/staff?lang=en&note=taught")
        assert page.get_by_role("status").inner_text().startswith("Example taught.")
        taught = page.locator("table.taught tr", has_text=question)
        assert "restroom" in taught.inner_text() and "otto" in taught.inner_text()
        assert page.locator("ul.events li", has_text=question).get_by_text("Taught: restroom").is_visible()
        page.screenshot(path=str(artifacts / "staff-teach.png"), full_page=True)
        assert errors == []
    finally:
        ctx.close()
        robot.close()
