"""``kizuna sustain run`` and ``kizuna sustain hns`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.sustain._data import shipped_text

runner = CliRunner()


def test_run_prints_tables_and_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    campaign = tmp_path / "c.yaml"
    campaign.write_text(shipped_text("campaign.yaml"))
    result = runner.invoke(app, ["sustain", "run", "--campaign", str(campaign), "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert "Days of full supply by munition type" in result.output
    assert "PAC-3-MSE" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_json_reports_every_excursion(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sustain", "run", "--json", "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    names = [r["name"] for r in doc["runs"]]
    assert "No co-production in Japan" in names and len(names) == 8
    assert doc["runs"][0]["days_to_exhaustion"]["JASSM-ER"] < 7


def test_run_with_a_bad_campaign_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    doc = yaml.safe_load(shipped_text("campaign.yaml"))
    doc["consumption"][2]["munition"] = "PHASER"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    out = tmp_path / "p.png"
    result = runner.invoke(app, ["sustain", "run", "--campaign", str(bad), "--plot", str(out)])
    assert result.exit_code == 1
    assert "consumption[2].munition" in result.output
    assert "PHASER" in result.output
    assert not out.exists()


def test_run_with_a_missing_file_fails_cleanly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sustain", "run", "--campaign", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "error" in result.output and "Traceback" not in result.output


def test_run_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "p.png"
    result = runner.invoke(app, ["sustain", "run", "--plot", str(out)])
    assert result.exit_code == 1
    assert "cannot write the plot" in " ".join(result.output.split())


def test_hns_prints_the_plan_and_shadow_prices() -> None:
    result = runner.invoke(
        app, ["sustain", "hns", "--objective", "stocks", "--budget-yen", "211e9"]
    )
    assert result.exit_code == 0, result.output
    assert "Binding constraints and their shadow prices" in result.output
    assert "stockpile" in result.output and "labour_floor" in result.output
    assert "each further ¥1 bn of budget adds" in " ".join(result.output.split())


def test_hns_json_is_a_consistent_plan() -> None:
    result = runner.invoke(
        app, ["sustain", "hns", "--objective", "weighted", "--budget-yen", "211e9", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["status"] == "optimal" and doc["objective"] == "weighted"
    assert sum(a["planned_yen"] for a in doc["allocations"]) <= 211e9 * (1 + 1e-9)
    assert any(c["binding"] and c["id"] == "budget" for c in doc["constraints"])


def test_hns_below_the_floor_explains_instead_of_dumping() -> None:
    result = runner.invoke(app, ["sustain", "hns", "--budget-yen", "100e9", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["status"] == "infeasible" and doc["field"] == "budget_yen"
    assert "labour_floor" in doc["conflict"]
    assert "mandatory floor" in doc["explanation"]
    human = runner.invoke(app, ["sustain", "hns", "--budget-yen", "100e9"])
    assert human.exit_code == 1 and "mandatory floor" in human.output


def test_hns_rejects_an_unknown_objective() -> None:
    result = runner.invoke(app, ["sustain", "hns", "--objective", "glory"])
    assert result.exit_code == 2
