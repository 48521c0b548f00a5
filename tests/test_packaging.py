"""A ROS user's `colcon build` builds the package, and what it installs runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLCON = Path(sys.executable).with_name("colcon")


def test_colcon_build_installs_a_working_ament_python_package(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(COLCON),
            "build",
            "--base-paths",
            str(ROOT),
            "--build-base",
            "build",
            "--install-base",
            "install",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    prefix = tmp_path / "install" / "lobby_guide"
    share = prefix / "share"
    assert (share / "ament_index/resource_index/packages/lobby_guide").exists()
    assert (share / "lobby_guide/package.xml").read_text() == (ROOT / "package.xml").read_text()
    site_packages = next(prefix.glob("lib/python3*/site-packages"))
    assert (site_packages / "queue_bridge/sites/demo.yaml").exists()
    assert (site_packages / "queue_bridge/static/live.js").exists()
    # The console script lands where `ros2 run lobby_guide lobby` looks for it, and runs.
    script = prefix / "lib/lobby_guide/lobby"
    env = {**os.environ, "PYTHONPATH": str(site_packages)}
    run = subprocess.run(
        [sys.executable, str(script), "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode == 0 and "demo" in run.stdout, run.stderr


def test_package_xml_is_format_3_ament_python() -> None:
    import xml.etree.ElementTree as ET

    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "lobby_guide"
    assert root.findtext("export/build_type") == "ament_python"
    assert "rclpy" in [d.text for d in root.findall("exec_depend")]
