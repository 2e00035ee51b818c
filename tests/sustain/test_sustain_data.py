"""Shipped data loads and carries sources; bad input names its field and changes nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import yaml
from sustain_helpers import base_doc, one_per_day_line

from kizuna.errors import ConfigError, KizunaError, ParseError, ValidationError
from kizuna.sustain import (
    Excursion,
    StockAddition,
    Stockpile,
    StockSink,
    StockSource,
    UnknownMunitionError,
    apply_excursion,
    build_schedule,
    default_campaign,
    default_model,
    load_model,
    parse_campaign,
    parse_model,
)
from kizuna.sustain._data import shipped_text


def test_every_shipped_parameter_says_where_it_comes_from() -> None:
    doc = yaml.safe_load(shipped_text("model.yaml"))
    for section in ("munitions", "depots", "links", "suppliers", "components", "lines"):
        for item in doc[section]:
            assert str(item.get("source", "")).strip(), f"{section} entry lacks a source"
    for item in yaml.safe_load(shipped_text("campaign.yaml"))["consumption"]:
        assert item["source"]


def test_shipped_model_has_co_production_and_single_source_parts() -> None:
    model = default_model()
    assert {m.id for m in model.munitions} >= {"TOMAHAWK", "TYPE-12-UPG", "PAC-3-MSE", "SM-3-IIA"}
    mhi = next(ln for ln in model.lines if ln.id == "mhi-pac3")
    assert mhi.coproduction and mhi.nation == "JPN" and mhi.licensed_from == "USA"
    assert mhi.rate_per_month * 12 == pytest.approx(30)  # public figure, ~30/yr
    assert mhi.surge_rate_per_month * 12 == pytest.approx(60)  # potential ~60/yr
    assert "pac3-seeker" in model.single_source_components(mhi)


def _bad(mutate: Any) -> Exception:
    doc = base_doc()
    mutate(doc)
    with pytest.raises(KizunaError) as info:
        parse_model(doc)
    return info.value


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda d: d["depots"][1]["stock"].update(M1=-1), "depots[1].stock.M1", ">= 0"),
        (lambda d: d["depots"][1]["stock"].update(X9=3), "depots[1].stock.X9", "unknown munition"),
        (lambda d: d["lines"].append(one_per_day_line(rate_per_month=-2)),
         "lines[0].rate_per_month", ">= 0"),
        (lambda d: d["lines"].append(one_per_day_line(munition="NOPE")),
         "lines[0].munition", "unknown munition"),
        (lambda d: d["lines"].append(one_per_day_line(surge_rate_per_month=1)),
         "lines[0].surge_rate_per_month", "below the base rate"),
        (lambda d: d["lines"].append(one_per_day_line(ramp=[[2, 0.5], [1, 1]])),
         "lines[0].ramp[1]", "increase"),
        (lambda d: d["components"][0].update(inputs=["motor"]),
         "components[0].inputs", "cycle chem -> motor -> chem"),
        (lambda d: d["components"][2].update(inputs=["seeker"]),
         "components[2].inputs", "cycle seeker -> seeker"),
        (lambda d: d["depots"][2].update(capacity=5), "depots[2].stock", "exceeds capacity"),
        (lambda d: d["links"].append({"origin": "rear", "dest": "moon", "lift_per_day": 1,
                                      "delay_days": 1, "source": "t"}),
         "links[0].dest", "unknown depot"),
        (lambda d: d["munitions"][0].update(unit_cost_usd="lots"),
         "munitions[0].unit_cost_usd", "number"),
        (lambda d: d["munitions"][1].update(id="M1"), "munitions[1].id", "duplicate"),
        (lambda d: d["depots"][0].pop("source"), "depots[0].source", "required"),
    ],
)  # fmt: skip
def test_bad_model_input_names_the_field(mutate: Any, field: str, words: str) -> None:
    err = _bad(mutate)
    assert isinstance(err, ValidationError)
    assert err.field == field
    assert words in str(err)


def test_unknown_munition_errors_are_their_own_kind() -> None:
    err = _bad(lambda d: d["lines"].append(one_per_day_line(munition="NOPE")))
    assert isinstance(err, UnknownMunitionError)


def test_garbage_yaml_is_a_parse_error(tmp_path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("munitions: [unclosed\n")
    with pytest.raises(ParseError):
        load_model(bad)
    with pytest.raises(ConfigError, match="mapping"):
        parse_model(["not", "a", "mapping"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consumption": [{"munition": "ZZZ", "depot": "front", "per_day": 1, "source": "t"}]},
         "consumption[0].munition"),
        ({"consumption": [{"munition": "M1", "depot": "front", "per_day": -1, "source": "t"}]},
         "consumption[0].per_day"),
        ({"events": [{"kind": "meteor", "target": "front", "day": 1}]}, "events[0].kind"),
        ({"events": [{"kind": "supplier_lost", "target": "nobody", "day": 1}]},
         "events[0].target"),
        ({"excursions": [{"name": "x", "disable_lines": ["ghost"]}]},
         "excursions[0].disable_lines[0]"),
        ({"excursions": [{"name": "x", "add_stock": [{"depot": "jpn", "munition": "M1",
                                                      "quantity": 10_000}]}]}, "add_stock"),
        ({"days": 0}, "days"),
    ],
)  # fmt: skip
def test_bad_campaign_input_names_the_field(change: dict[str, Any], field: str) -> None:
    model = parse_model(base_doc())
    doc: dict[str, Any] = {"name": "t", "days": 5, "consumption": []} | change
    with pytest.raises(ValidationError) as info:
        parse_campaign(doc, model)
    assert info.value.field == field


def test_a_bad_excursion_applies_nothing() -> None:
    model = default_model()
    camp = default_campaign(model)
    snapshot = ([dict(d.stock) for d in model.depots], model.lines, camp.events)
    bad = Excursion(
        name="half good",
        add_stock=(
            StockAddition("jpn-southwest", "PAC-3-MSE", 5),  # fine on its own
            StockAddition("jpn-southwest", "NOT-A-TYPE", 5),
        ),
    )
    with pytest.raises(UnknownMunitionError) as info:
        apply_excursion(model, camp, bad)
    assert info.value.field == "add_stock[1].munition"
    assert ([dict(d.stock) for d in model.depots], model.lines, camp.events) == snapshot


# -- the port the coordination cell reads -------------------------------------------------


@pytest.fixture
def pile() -> Stockpile:
    model = parse_model(base_doc())
    camp = parse_campaign({"name": "t", "days": 3}, model)
    return Stockpile(model, build_schedule(model, camp))


def test_stockpile_is_a_stock_source_and_sink(pile: Stockpile) -> None:
    assert isinstance(pile, StockSource) and isinstance(pile, StockSink)
    assert pile.on_hand("USA", "M1") == 10
    assert pile.on_hand("JPN", "M1") == 4 and pile.on_hand("JPN", "M2") == 7
    assert pile.on_hand("KOR", "M1") == 0  # a nation with no depots holds nothing


def test_consume_is_all_or_nothing(pile: Stockpile) -> None:
    assert pile.consume("JPN", "M2", 7)
    assert pile.on_hand("JPN", "M2") == 0
    assert not pile.consume("USA", "M1", 11)
    assert pile.on_hand("USA", "M1") == 10 and pile.refused == 1
    assert not pile.consume("KOR", "M1")
    assert pile.ledger("M2").consumed == 7 and pile.ledger("M2").balanced


def test_consume_from_a_named_depot(pile: Stockpile) -> None:
    assert pile.consume("JPN", "M1", 3, depot="jpn")
    assert pile.on_hand_at("jpn", "M1") == 1
    assert not pile.consume("JPN", "M1", 2, depot="jpn")
    with pytest.raises(ValidationError) as info:
        pile.consume("JPN", "M1", 1, depot="front")  # a US depot
    assert info.value.field == "depot"
    assert pile.on_hand_at("front", "M1") == 10


def test_consume_draws_from_the_fullest_depot_first_and_spills_over() -> None:
    doc = base_doc()
    doc["depots"][0]["stock"] = {"M1": 12}  # rear 12, front 10
    model = parse_model(doc)
    pile = Stockpile.standing(model, days=1)
    assert pile.consume("USA", "M1", 4)
    assert (pile.on_hand_at("rear", "M1"), pile.on_hand_at("front", "M1")) == (8, 10)
    assert pile.consume("USA", "M1", 15)  # 8 from rear would not do: 10 front, then 5 rear
    assert (pile.on_hand_at("rear", "M1"), pile.on_hand_at("front", "M1")) == (3, 0)
    assert pile.ledger("M1").consumed == 19 and pile.ledger("M1").balanced


@pytest.mark.parametrize(
    ("args", "field"),
    [(("USA", "M9", 1), "munition_type"), (("USA", "M1", 0), "quantity"),
     (("USA", "M1", True), "quantity")],
)  # fmt: skip
def test_bad_consume_raises_and_changes_nothing(
    pile: Stockpile, args: tuple[Any, ...], field: str
) -> None:
    before = pile.stock.copy()
    with pytest.raises(ValidationError) as info:
        pile.consume(*args)
    assert info.value.field == field
    assert np.array_equal(pile.stock, before)
    with pytest.raises(UnknownMunitionError):
        pile.on_hand("USA", "M9")


def test_stepping_past_the_horizon_is_refused(pile: Stockpile) -> None:
    for _ in range(3):
        pile.step()
    with pytest.raises(ValidationError, match="ends after day 3"):
        pile.step()


def test_a_standing_stockpile_serves_a_simulation_without_a_campaign() -> None:
    pile = Stockpile.standing(default_model(), days=30)
    jpn, usa = pile.on_hand("JPN", "PAC-3-MSE"), pile.on_hand("USA", "PAC-3-MSE")
    assert (jpn, usa) == (170, 330)
    assert pile.consume("JPN", "PAC-3-MSE", 5)
    for _ in range(30):
        pile.step()
    # MHI at 2.5 a month makes 2 whole rounds in 30 days; the US line at 54.2 a month, 53
    assert pile.on_hand("JPN", "PAC-3-MSE") == 170 - 5 + 2
    assert pile.on_hand("USA", "PAC-3-MSE") == 330 + 53
    assert pile.ledger("PAC-3-MSE").balanced
