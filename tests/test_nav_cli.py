"""`lobby plan`: JSON out, one-line errors and a non-zero exit on bad input."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

from robot.navigation.maps import MAPS_DIR

#: What the installed `lobby` script runs. (`python -m lobby.cli` would load lobby.cli twice, as
#: __main__ and as lobby.cli, so a CliError raised by a subcommand module is not the one caught.)
ENTRY = "import sys; from lobby.cli import main; sys.exit(main(sys.argv[1:]))"


def lobby_plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, "plan", *args], capture_output=True, text=True, timeout=60
    )


def test_plan_between_points_prints_the_path_as_json() -> None:
    out = lobby_plan("--map", str(MAPS_DIR / "floor1.yaml"), "--from", "32,5", "--to", "11,28.5", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    path = result["path"]
    assert path[0] == [32.0, 5.0] and path[-1] == [11.0, 28.5] and len(path) >= 2
    length = sum(math.dist(a, b) for a, b in itertools.pairwise(path))
    assert abs(result["length_m"] - length) < 0.01
    assert result["planning_ms"] > 0 and result["floor"] == 1


def test_plan_to_a_poi_on_another_floor_has_two_legs() -> None:
    out = lobby_plan("--from-poi", "information_desk", "--to-poi", "counter_kosodate", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [leg["floor"] for leg in result["legs"]] == [1, 2]
    assert result["legs"][0]["via"] == "elevator" and "2階" in result["legs"][0]["then"]["ja"]
    assert result["path"] == result["legs"][0]["path"]
    assert result["legs"][1]["path"][-1] == [15.0, 10.5]


def test_an_unreachable_goal_is_a_one_line_error() -> None:
    out = lobby_plan("--from", "32,5", "--to", "10,36", "--json")
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.startswith("lobby: error: ") and "cannot be reached" in out.stderr
    assert out.stderr.count("\n") == 1


def test_unknown_poi_and_bad_point_are_errors() -> None:
    out = lobby_plan("--from-poi", "exit", "--to-poi", "counter_nowhere")
    assert out.returncode != 0 and "unknown point of interest 'counter_nowhere'" in out.stderr
    out = lobby_plan("--from", "32;5", "--to", "1,1")
    assert out.returncode != 0 and "not a point X,Y" in out.stderr


def test_a_bad_map_is_an_error_naming_the_file(tmp_path: Path) -> None:
    shutil.copy(MAPS_DIR / "floor1.yaml", tmp_path / "floor1.yaml")  # without its PGM
    out = lobby_plan("--map", str(tmp_path / "floor1.yaml"), "--from", "32,5", "--to", "20,20")
    assert out.returncode != 0 and "floor1.pgm: cannot read the map image" in out.stderr
    out = lobby_plan("--map", str(tmp_path / "missing.yaml"), "--from", "32,5", "--to", "20,20")
    assert out.returncode != 0 and "missing.yaml: cannot read" in out.stderr


def test_pois_need_the_building_file() -> None:
    out = lobby_plan("--map", str(MAPS_DIR / "floor1.yaml"), "--from-poi", "exit", "--to", "20,20")
    assert out.returncode != 0 and "no points of interest" in out.stderr
