from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given

from kizuna.labels import (
    Label,
    Viewer,
    decide,
    dominates,
    format_banner,
    high_water_mark,
    parse_banner,
)

from .strategies import labels, viewers

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def hwm(*banners: str) -> str:
    return format_banner(high_water_mark(parse_banner(b) for b in banners))


def test_examples() -> None:
    assert hwm("SECRET//REL TO USA, JPN", "CONFIDENTIAL//REL TO USA, JPN, GBR") == (
        "SECRET//REL TO USA, JPN"
    )
    assert hwm("SECRET//REL TO USA, JPN", "JPN KIMITSU//REL TO JPN, USA") == (
        "TOP SECRET//REL TO USA, JPN"
    )
    assert hwm("SECRET//REL TO USA, FVEY", "SECRET//REL TO USA, FVEY") == "SECRET//REL TO USA, FVEY"
    assert hwm("SECRET//NOFORN", "CONFIDENTIAL//REL TO USA, JPN") == "SECRET//NOFORN"
    assert hwm("UNCLASSIFIED", "UNCLASSIFIED") == "UNCLASSIFIED"
    assert hwm("UNCLASSIFIED//REL TO JPN, USA", "UNCLASSIFIED") == "UNCLASSIFIED//REL TO USA, JPN"


def test_a_combination_nobody_may_see_is_representable_and_denies_everyone() -> None:
    top = high_water_mark([parse_banner("SECRET//NOFORN"), parse_banner("JPN GOKUHI")])
    assert parse_banner(format_banner(top)) == top
    for who in (
        {
            "nation": "USA",
            "clearance": "USA:TOP SECRET",
            "expires": "2030-01-01",
            "status": "active",
        },
        {"nation": "JPN", "clearance": "JPN:KIMITSU", "expires": "2030-01-01", "status": "active"},
    ):
        assert not decide(top, who, NOW).permit


def test_needs_an_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        high_water_mark([])


@given(labels(with_categories=True), labels(with_categories=True))
def test_commutative(a: Label, b: Label) -> None:
    assert high_water_mark([a, b]) == high_water_mark([b, a])


@given(labels(with_categories=True), labels(with_categories=True), labels(with_categories=True))
def test_associative(a: Label, b: Label, c: Label) -> None:
    left = high_water_mark([high_water_mark([a, b]), c])
    right = high_water_mark([a, high_water_mark([b, c])])
    assert left == right == high_water_mark([a, b, c])


@given(labels(with_categories=True))
def test_idempotent(a: Label) -> None:
    once = high_water_mark([a])
    assert high_water_mark([a, a]) == once
    assert high_water_mark([once]) == once


@given(labels(with_categories=True), labels(with_categories=True))
def test_dominates_both_inputs(a: Label, b: Label) -> None:
    top = high_water_mark([a, b])
    assert dominates(top, a)
    assert dominates(top, b)


@given(labels(with_categories=True), viewers())
def test_normalising_one_label_keeps_every_decision(a: Label, who: Viewer) -> None:
    assert decide(high_water_mark([a]), who, NOW).permit == decide(a, who, NOW).permit


@given(labels(with_categories=True), labels(with_categories=True), viewers())
def test_whoever_sees_the_combination_sees_every_input(a: Label, b: Label, who: Viewer) -> None:
    if decide(high_water_mark([a, b]), who, NOW).permit:
        assert decide(a, who, NOW).permit
        assert decide(b, who, NOW).permit
