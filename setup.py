"""ament_python-compatible setup: `colcon build` on a ROS 2 machine, `pip install .` anywhere else."""

import sys
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from robot.launch_spec import entry_points as node_entry_points  # stdlib only: safe at build time

PACKAGE = "lobby_guide"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="City-hall lobby guidance robot and live counter-queue status service",
    license="Apache-2.0",
    packages=find_packages(include=["lobby*", "queue_bridge*", "robot*", "perception*", "speech*"]),
    package_data={"queue_bridge": ["static/*", "sites/*.yaml"], "speech": ["examples.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py") + glob("launch/*.yaml")),
        (f"share/{PACKAGE}/maps", glob("maps/*.yaml") + glob("maps/*.pgm")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.conf")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    python_requires=">=3.10",
    # `lobby`, and one script per ROS node so that launch_ros's Node(executable=...) finds them.
    entry_points={"console_scripts": ["lobby = lobby.cli:main", *node_entry_points()]},
)
