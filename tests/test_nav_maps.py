"""The city hall's maps: committed files equal the generator's output, they load, their POIs agree
with the site file's guide, and broken maps are reported by file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from robot.navigation import mapgen
from robot.navigation.costmap import CostMap
from robot.navigation.maps import MAPS_DIR, Building, MapError, load_building, load_floor_map

SITE = Path(__file__).resolve().parent.parent / "queue_bridge" / "sites" / "demo.yaml"
REQUIRED = [
    "counter_shimin", "counter_koseki", "counter_mynumber", "counter_hoken_nenkin", "counter_kosodate",
    "counter_kaigo", "counter_zeimu", "restroom", "elevator", "information_desk", "exit", "dock",
]  # fmt: skip


@pytest.fixture(scope="module")
def building() -> Building:
    return load_building()


def test_committed_maps_are_exactly_what_the_generator_makes() -> None:
    for name, content in mapgen.generated_files().items():
        assert (MAPS_DIR / name).read_bytes() == content, (
            f"maps/{name} is stale: run python -m robot.navigation.mapgen"
        )


def test_each_floor_is_a_5cm_map_of_at_least_60_by_40_m(building: Building) -> None:
    assert sorted(building.floors) == [1, 2]
    for fmap in building.floors.values():
        assert fmap.resolution == pytest.approx(0.05)
        assert fmap.width_m >= 60 and fmap.height_m >= 40
        assert 0.02 < fmap.occupied.mean() < 0.5  # walls and furniture, but mostly floor


def test_the_pois_the_speech_knowledge_base_names_exist_on_the_floors_the_site_says(
    building: Building,
) -> None:
    for poi_id in REQUIRED:
        assert poi_id in building.pois
    guide = yaml.safe_load(SITE.read_text(encoding="utf-8"))["guide"]
    entries = [*guide["procedures"].values(), *guide["facilities"].values()]
    for entry in entries:
        poi = building.pois[entry["poi"]]
        assert poi.floor == entry["floor"], f"{poi.id}: map floor {poi.floor}, site says {entry['floor']}"
    for key, entry in guide["procedures"].items():
        assert key in building.pois[entry["poi"]].procedures, f"{entry['poi']} does not list {key}"


def test_every_site_window_is_a_numbered_window_poi_on_its_queues_floor(building: Building) -> None:
    site = yaml.safe_load(SITE.read_text(encoding="utf-8"))
    floor_of_queue = {q["id"]: q["floor"] for q in site["queues"]}
    for window in site["windows"]:
        number = window["id"].lstrip("W")
        poi = building.pois[f"window_{number}"]
        assert window["id"] in poi.windows
        assert {floor_of_queue[q] for q in window["queues"]} == {poi.floor}
        assert set(window["queues"]) == set(poi.queues)


def test_every_poi_is_reachable_clear_of_obstacles(building: Building) -> None:
    costmaps = {f: CostMap(m) for f, m in building.floors.items()}
    for poi in building.pois.values():
        cm = costmaps[poi.floor]
        assert cm.is_safe(poi.pose.x, poi.pose.y), poi.id


def test_the_elevator_connects_both_floors(building: Building) -> None:
    assert building.elevators == [{1: "elevator", 2: "elevator_2f"}]


# -- broken maps ---------------------------------------------------------------------------------


@pytest.fixture
def maps_copy(tmp_path: Path) -> Path:
    for f in MAPS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_a_missing_pgm_is_named(maps_copy: Path) -> None:
    (maps_copy / "floor2.pgm").unlink()
    with pytest.raises(MapError, match=r"floor2\.pgm: cannot read the map image"):
        load_building(maps_copy / "cityhall.yaml")


def test_bad_yaml_reports_the_file_and_line(maps_copy: Path) -> None:
    text = (maps_copy / "cityhall.yaml").read_text(encoding="utf-8").splitlines()
    text[11] = "  - floor: [1"  # line 12: an unclosed flow sequence
    (maps_copy / "cityhall.yaml").write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(MapError) as err:
        load_building(maps_copy / "cityhall.yaml")
    assert err.value.line is not None and 12 <= err.value.line <= 14
    assert str(err.value).startswith(f"{maps_copy / 'cityhall.yaml'}:{err.value.line}: not valid YAML")


def _edit_poi(path: Path, poi_id: str, **changes: object) -> int:
    """Change one POI in the building file; return its line number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"- id: {poi_id}")
    for key, value in changes.items():
        for i in range(start, len(lines)):
            if lines[i].strip().startswith(f"{key}:"):
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                lines[i] = f"{indent}{key}: {value}"
                break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return start + 1


def test_a_poi_inside_a_wall_is_reported_with_its_line(maps_copy: Path) -> None:
    line = _edit_poi(maps_copy / "cityhall.yaml", "restroom", y=38.0, x=31.0)  # inside an elevator shaft
    with pytest.raises(MapError, match=r"'restroom' at \(31\.0, 38\.0\) is inside a wall") as err:
        load_building(maps_copy / "cityhall.yaml")
    assert err.value.line == line


def test_a_poi_on_an_unknown_floor_is_reported(maps_copy: Path) -> None:
    line = _edit_poi(maps_copy / "cityhall.yaml", "dock", floor=3)
    with pytest.raises(MapError, match="floor 3 is not one of the building's floors") as err:
        load_building(maps_copy / "cityhall.yaml")
    assert err.value.line == line


def test_an_elevator_stop_that_is_not_a_poi_is_reported(maps_copy: Path) -> None:
    path = maps_copy / "cityhall.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("  - elevator_2f\n", "  - elevator_3f\n"), encoding="utf-8"
    )
    with pytest.raises(MapError, match="elevator stop 'elevator_3f' is not a POI"):
        load_building(path)


def test_an_unknown_poi_id_lists_the_known_ones(building: Building) -> None:
    with pytest.raises(KeyError, match=r"unknown point of interest 'counter_nowhere'.*counter_shimin"):
        building.poi("counter_nowhere")


def test_map_yaml_errors_name_the_key(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text("image: m.pgm\nresolution: fine\norigin: [0, 0, 0]\n")
    with pytest.raises(MapError, match=r"m\.yaml:1: 'resolution' must be a number"):
        load_floor_map(tmp_path / "m.yaml")
    (tmp_path / "m.yaml").write_text("image: m.pgm\nresolution: 0.05\n")
    with pytest.raises(MapError, match="missing 'origin'"):
        load_floor_map(tmp_path / "m.yaml")


def test_a_floor_map_reads_like_map_server(tmp_path: Path) -> None:
    """Dark is occupied, 205 is unknown, and image row 0 is the top (largest y)."""
    image = np.full((4, 6), 254, dtype=np.uint8)
    image[0, 5] = 0  # top-right pixel: cell (5, 3) in the grid
    image[3, 0] = 205  # bottom-left: unknown, so not free
    mapgen.write_pgm(tmp_path / "m.pgm", image)
    (tmp_path / "m.yaml").write_text(
        mapgen.map_yaml("m.pgm").replace("origin: [0.0, 0.0, 0.0]", "origin: [1.0, 2.0, 0.0]")
    )
    fmap = load_floor_map(tmp_path / "m.yaml")
    assert fmap.occupied[3, 5] and fmap.unknown[0, 0] and fmap.occupied[0, 0]
    assert int(fmap.occupied.sum()) == 2
    assert fmap.is_occupied(1.0 + 5.5 * 0.05, 2.0 + 3.5 * 0.05)
    assert not fmap.is_occupied(1.0 + 2.5 * 0.05, 2.0 + 1.5 * 0.05)
