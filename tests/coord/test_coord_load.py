from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from kizuna.coord import (
    Architecture,
    ArchitectureError,
    EdgeKind,
    load_architecture,
    parse_architecture,
    shipped_architectures,
)
from kizuna.errors import ConfigError
from tests.coord.helpers import NAMES


def _load(doc: dict[str, Any]) -> Architecture:
    return parse_architecture(yaml.safe_dump(doc), source="test.yaml")


def _problems(doc: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ArchitectureError) as info:
        _load(doc)
    return info.value.problems


def _node(doc: dict[str, Any], nid: str) -> dict[str, Any]:
    return next(n for n in doc["nodes"] if n["id"] == nid)


def test_the_three_shipped_architectures_load(shipped: dict[str, Architecture]) -> None:
    assert set(shipped_architectures()) == set(NAMES)
    assert shipped["parallel"].allocation == "acm"
    assert shipped["integrated"].allocation == "bcc"
    assert shipped["integrated+cfc"].targeting["JPN"] == "bcc"


def test_shipped_architectures_share_forces_and_national_data(
    shipped: dict[str, Architecture],
) -> None:
    """They differ in structure only, so their results are comparable."""
    base = shipped["parallel"]
    for arch in shipped.values():
        assert arch.shooters == base.shooters
        assert arch.target_types == base.target_types
        assert arch.approvals == base.approvals
        assert arch.gate_latency == base.gate_latency
        assert arch.bda == base.bda
        assert arch.sensors() == base.sensors()


def test_integrated_plus_cfc_only_adds_edges(shipped: dict[str, Architecture]) -> None:
    plain = {e.key for e in shipped["integrated"].edges}
    more = {e.key for e in shipped["integrated+cfc"].edges}
    assert plain < more
    assert {k.split(":")[0] for k in more - plain} == {"cfc->bcc"}


def test_every_latency_in_the_shipped_files_is_traced() -> None:
    """Each latency is a FACTS.md figure or is marked assumed, on its own line."""
    for name, text in shipped_architectures().items():
        for line in text.splitlines():
            code = line.split("#", 1)[0]
            if re.search(r"\{(median|min|constant)", code) and "*" not in code:
                comment = line.split("#", 1)[1] if "#" in line else ""
                assert "FACTS" in comment or "ASSUMED" in comment, (name, line)


def test_a_japanese_unit_under_us_command_is_refused(doc: dict[str, Any]) -> None:
    doc["edges"].append(
        {"from": "usfj_jfhq", "to": "jgsdf_ssm_1", "kind": "command",
         "latency": {"median": "2m", "p90": "10m"}}
    )  # fmt: skip
    problems = _problems(doc)
    assert any(
        p.startswith("edge usfj_jfhq->jgsdf_ssm_1 (command)")
        and "JPN unit (jgsdf_ssm_1) under USA command" in p
        for p in problems
    ), problems


def test_a_bilateral_cell_cannot_command_japanese_units_either(doc: dict[str, Any]) -> None:
    doc["edges"].append(
        {"from": "acm", "to": "jjoc", "kind": "command", "latency": {"constant": 0}}
    )
    assert any("under BILATERAL command (acm)" in p for p in _problems(doc))


def test_a_cycle_without_national_approval_is_refused(doc: dict[str, Any]) -> None:
    del doc["approvals"]["JPN"]
    problems = _problems(doc)
    assert any(
        p.startswith("approvals.JPN: missing: a cycle without national approval")
        and "jgsdf_ssm_1" in p
        for p in problems
    ), problems


def test_a_shooter_outside_its_national_chain_is_refused(doc: dict[str, Any]) -> None:
    doc["edges"] = [e for e in doc["edges"] if e["to"] != "jmsdf_ddg"]
    problems = _problems(doc)
    assert any(p.startswith("node jmsdf_ddg (shooter, JPN)") for p in problems), problems


def test_tasking_through_a_foreign_hub_is_refused(doc: dict[str, Any]) -> None:
    doc["roles"]["tasking"]["JPN"] = "usfj_jfhq"
    problems = _problems(doc)
    assert any(p.startswith("roles.tasking.JPN") and "own chain" in p for p in problems)


def test_a_nominating_nation_with_no_path_to_a_shooter_is_named(doc: dict[str, Any]) -> None:
    doc["edges"] = [e for e in doc["edges"] if "cfc" not in (e["from"], e["to"])
                    or e["from"] in ("usfk_isr", "rok_isr")]  # fmt: skip
    problems = _problems(doc)
    assert any(
        p.startswith("node rok_isr (sensor, KOR)")
        and "nominating nation KOR has no path to a shooter" in p
        for p in problems
    )


def test_unknown_target_types_are_named(doc: dict[str, Any]) -> None:
    _node(doc, "us_mdtf")["can_engage"].append("submarine")
    doc["approvals"]["JPN"]["permitted_target_types"] = ["tel", "bunker"]
    problems = _problems(doc)
    assert any(
        "nodes[" in p and "(us_mdtf).can_engage[4]" in p and "'submarine'" in p for p in problems
    ), problems
    assert any(p.startswith("approvals.JPN.permitted_target_types[1]") for p in problems)


def test_negative_and_missing_latencies_are_named(doc: dict[str, Any]) -> None:
    doc["edges"][0]["latency"] = {"median": "-5m", "p90": "10m"}
    del doc["edges"][1]["latency"]
    doc["approvals"]["USA"]["latency"] = None
    problems = _problems(doc)
    joined = "\n".join(problems)
    assert "edges[0](jasdf_e2d->jjoc).latency.median: negative latency" in joined
    assert "edges[1](jmsdf_p1->jjoc).latency: latency distribution missing" in joined
    assert "approvals.USA.latency: latency distribution missing" in joined


def test_every_problem_is_reported_at_once(doc: dict[str, Any]) -> None:
    doc["bogus"] = 1
    doc["board"]["interval"] = "-2m"
    doc["gates"][1]["max_tier"] = 9
    _node(doc, "jgsdf_ssm_2")["pk"] = 1.5
    doc["nodes"].append({"id": "x", "kind": "battleship", "nation": "USA"})
    problems = _problems(doc)
    assert len(problems) >= 5
    assert any(p.startswith("bogus: unknown key") for p in problems)
    assert any(p.startswith("board.interval") for p in problems)
    assert any(p.startswith("gates[1](cde).max_tier") for p in problems)
    assert any("(jgsdf_ssm_2).pk" in p for p in problems)
    assert any("(x).kind: unknown kind 'battleship'" in p for p in problems)


def test_bad_labels_and_edges_to_nowhere(doc: dict[str, Any]) -> None:
    _node(doc, "us_mq9")["label"] = "SECRET//REL TO MARS"
    doc["edges"].append({"from": "jjoc", "to": "ghost", "kind": "data",
                         "latency": {"constant": 1}})  # fmt: skip
    problems = _problems(doc)
    assert any("(us_mq9).label" in p for p in problems)
    assert any(p.endswith("to: unknown node 'ghost'") for p in problems)


@pytest.mark.parametrize("text", ["just a string", "[1, 2]", "a: [unclosed", ""])
def test_documents_that_are_not_architectures(text: str) -> None:
    with pytest.raises(ArchitectureError, match=r"invalid architecture test\.yaml"):
        parse_architecture(text, source="test.yaml")


def test_loading_is_all_or_nothing(doc: dict[str, Any], tmp_path: Any) -> None:
    """A broken file yields no architecture; a later good load is unaffected."""
    path = tmp_path / "broken.yaml"
    del doc["approvals"]["JPN"]
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_architecture(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_architecture(tmp_path / "absent.yaml")
    good = load_architecture("parallel")
    assert "JPN" in good.approvals


def test_a_user_architecture_round_trips_through_yaml(doc: dict[str, Any]) -> None:
    doc["name"] = "mine"
    arch = _load(doc)
    assert arch.name == "mine"
    assert sum(e.kind is EdgeKind.COMMAND for e in arch.edges) == 8
