"""The category of a CoT event comes from its type, through the shipped table."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.cot import category_of, default_categories, load_categories, parse_categories
from kizuna.errors import ConfigError
from kizuna.roadmap import load_catalogue


def test_every_category_the_tiers_and_rules_name_is_reachable_from_a_type() -> None:
    table = default_categories()
    named = {c for rule in load_catalogue().tiers.values() for c in rule.categories} - {"*"}
    named |= {"plan"}  # what the originators' rules hold
    reached = {}
    for prefix, category in table.prefixes.items():  # walk the table: each prefix is a type
        assert category_of(prefix) == category, prefix
        reached.setdefault(category, prefix)
    assert named <= set(reached), sorted(named - set(reached))
    assert {"liaison", "track", "unit", "sensor", "picture", "plan"} <= set(reached)


def test_real_cot_conventions_and_the_longest_prefix() -> None:
    cases = {
        "a-u-G": "track",  # what the exercise publishes
        "a-h-S": "track",
        "a-f-G": "track",
        "a-f-G-U-C": "unit",
        "a-f-G-U": "unit",
        "b-d": "sensor",
        "b-d-r": "sensor",
        "b-m-p-s-p-i": "sensor",
        "b-m-p": "picture",
        "b-dx": "picture",  # atom by atom: b-dx is not a detection
        "b-t-f": "liaison",
        "b-t-f-d": "liaison",
        "t-x-c": "plan",
        "u-d-r": "plan",
        "x-unknown": "plan",  # unknown: the most restrictive
        "": "plan",
    }
    assert {t: category_of(t) for t in cases} == cases


@given(st.text(max_size=80))
def test_any_type_has_a_category_and_the_same_one_twice(t: str) -> None:
    table = default_categories()
    assert category_of(t) == category_of(t) in table.categories


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"prefixes": {"a": "track"}}, "default"),
        ({"default": "plan", "prefixes": {}}, "prefixes"),
        ({"default": "plan", "prefixes": {"a--b": "track"}}, "prefixes.a--b"),
        ({"default": "plan", "prefixes": {"a": 3}}, "prefixes.a"),
        ({"default": "plan", "prefixes": {"a": "track"}, "extra": 1}, "unknown keys"),
    ],
)
def test_a_bad_table_is_refused_naming_the_key(doc: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_categories(doc)


def test_a_table_from_a_file(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('default = "liaison"\n[prefixes]\n"a" = "track"\n')
    t = load_categories(p)
    assert (t.of("a-f"), t.of("b")) == ("track", "liaison")
    with pytest.raises(ConfigError, match="cannot read"):
        load_categories(tmp_path / "missing.toml")
