from __future__ import annotations

import pytest
from hypothesis import given

from kizuna.errors import ParseError
from kizuna.labels import Label, default_table, format_banner, parse_banner

from .strategies import labels

T = default_table()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UNCLASSIFIED", Label(None, "UNCLASSIFIED")),
        ("SECRET", Label("USA", "SECRET")),
        ("TOP SECRET//NOFORN", Label("USA", "TOP SECRET", None, True)),
        ("JPN GOKUHI//REL TO JPN, USA", Label("JPN", "GOKUHI", frozenset({"JPN", "USA"}))),
        (["NOFORN", "SECRET"][1], Label("USA", "SECRET")),
        ("SECRET//REL TO USA, FVEY", Label("USA", "SECRET", frozenset({"USA", "FVEY"}))),
        ("SECRET//NOFORN//REL TO USA", Label("USA", "SECRET", frozenset({"USA"}), True)),
        ("  SECRET//REL TO USA, JPN\t\n", Label("USA", "SECRET", frozenset({"USA", "JPN"}))),
        ("SECRET//REL TO USA, JPN, USA", Label("USA", "SECRET", frozenset({"USA", "JPN"}))),
    ],
)
def test_parses_the_grammar(text: str, expected: Label) -> None:
    assert parse_banner(text, T) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "secret",
        "Secret//REL TO USA",
        "SECRET//rel to USA",
        "SECRET//REL TO usa",
        "SECRET//REL TO",
        "SECRET//REL TO ",
        "SECRET//REL TO USA,JPN",
        "SECRET//REL TO USA,  JPN",
        "SECRET//REL TO USA , JPN",
        "SECRET//REL TO USA, JPN,",
        "SECRET// REL TO USA",
        "SECRET //NOFORN",
        "SECRET//NOFORN//NOFORN",
        "SECRET//REL TO USA//REL TO JPN",
        "SECRET//",
        "//SECRET",
        "SECRET////NOFORN",
        "TOP  SECRET",
        "TOPSECRET",
        "JPN SECRET",
        "GOKUHI",
        "JPN  HI",
        "SECRET//REL TO XYZ",
        "SECRET//ORCON",
        "SECRET/NOFORN",
        "\u00a0SECRET",
        "SECRET\u3000",
        "ＳＥＣＲＥＴ",
        "SECRЕT",  # Cyrillic Е
        "SECRET\x00",
        "SECRET//REL TO USA\x00, JPN",
        "UNCLASSIFIED//REL TO USA, " + ", ".join(["JPN"] * 2000) + "X",
    ],
)
def test_rejects_anything_else(text: str) -> None:
    with pytest.raises(ParseError):
        parse_banner(text, T)


def test_rejects_non_strings() -> None:
    with pytest.raises(ParseError):
        parse_banner(b"SECRET", T)  # type: ignore[arg-type]


def test_prints_canonically_home_first_then_trigraphs_then_tetragraphs() -> None:
    label = parse_banner("SECRET//REL TO FVEY, KOR, JPN, USA", T)
    assert format_banner(label, T) == "SECRET//REL TO USA, JPN, KOR, FVEY"
    jpn = parse_banner("JPN HI//REL TO USA, JPN", T)
    assert format_banner(jpn, T) == "JPN HI//REL TO JPN, USA"


@given(labels())
def test_banner_round_trips(label: Label) -> None:
    assert parse_banner(format_banner(label, T), T) == label


def test_empty_release_list_has_no_banner() -> None:
    with pytest.raises(ParseError):
        format_banner(Label("USA", "SECRET", frozenset()), T)
