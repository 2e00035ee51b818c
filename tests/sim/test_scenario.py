from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from kizuna.coord import load_architecture
from kizuna.sim import ScenarioError, load_scenario, parse_scenario, prepare
from kizuna.sim._scenario import check_references

SHIPPED = Path(__file__).parents[2] / "src/kizuna/scenarios/default.yaml"


def doc() -> dict[str, object]:
    loaded = yaml.safe_load(SHIPPED.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_default_scenario_is_valid_and_about_300_entities() -> None:
    sc = load_scenario()
    assert sc.hours == 24
    assert set(sc.architectures) == {"parallel", "integrated", "integrated+cfc"}
    assert 250 <= sc.entities <= 350
    assert all(source for _, _, source in sc.assumptions)


def test_every_problem_is_listed_with_its_path() -> None:
    d = doc()
    d["colour"] = "blue"
    d["hours"] = -3
    red = d["red"]
    assert isinstance(red, list)
    red[0]["speed_kmh"] = [-5, 20]
    red[1]["strength"] = 9
    sensors = d["sensors"]
    assert isinstance(sensors, dict)
    sensors["us_mq9"]["pd"] = 1.5
    sensors["jasdf_e2d"]["sigma_m"] = "far"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(d, "bad.yaml")
    paths = {p for p, _ in err.value.problems}
    assert {
        "colour",
        "hours",
        "red[0].speed_kmh",
        "red[1].strength",
        "sensors.us_mq9.pd",
        "sensors.jasdf_e2d.sigma_m",
    } <= paths
    assert "bad.yaml" in str(err.value)


def test_undefined_references_fail_before_running(tmp_path: Path) -> None:
    d = doc()
    sensors = d["sensors"]
    assert isinstance(sensors, dict)
    sensors["us_ghost"] = {"revisit_s": 600, "pd": 0.5, "sigma_m": 10}
    red = d["red"]
    assert isinstance(red, list)
    red.append({"name": "subs", "type": "submarine", "count": 3})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(ScenarioError) as err:
        prepare(path)
    paths = {p for p, _ in err.value.problems}
    assert "sensors.us_ghost" in paths
    assert f"red[{len(red) - 1}].type" in paths
    with pytest.raises(ScenarioError) as err:
        prepare(None, architectures=["parallel", "nowhere"], tiers=["T2", "T9"])
    paths = {p for p, _ in err.value.problems}
    assert paths == {"architectures[1]", "tiers[1]"}


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ScenarioError, match="yaml"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="file"):
        load_scenario(tmp_path / "absent.yaml")
    with pytest.raises(ScenarioError, match="mapping"):
        parse_scenario(["not", "a", "mapping"])


def test_an_unlabelled_sensor_is_refused() -> None:
    arch = load_architecture("integrated")
    nodes = dict(arch.nodes)
    nodes["us_mq9"] = replace(nodes["us_mq9"], label=None)
    bare = replace(arch, nodes=nodes)
    with pytest.raises(ScenarioError) as err:
        check_references(load_scenario(), {"integrated": bare})
    assert [p for p, _ in err.value.problems] == ["sensors.us_mq9"]
