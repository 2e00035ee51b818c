"""Issue 13, "one canonical date form": an expiry or assessment date is an RFC 3339
full-date, ``YYYY-MM-DD`` exactly, wherever it is read. ``date.fromisoformat`` alone took
``20270331`` and ``2027-W13-3`` as valid clearances, and YAML reads ``2027-3-31`` as a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.errors import ConfigError, ParseError
from kizuna.identity import load_registry
from kizuna.labels import Decider, Reason, parse_date
from kizuna.roadmap import load_assessments, load_catalogue

BAD = ["20270331", "2027-W13-3", "2027-3-31", "2027-03-31T00:00:00", "2027-03-31 ",
       " 2027-03-31", "2027-03-31\n", "2027-02-30", "+2027-03-31", "２０２７-03-31",
       "2027-090", "27-03-31", "0000-01-01", ""]  # fmt: skip
AT = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_one_parser_takes_only_the_full_date() -> None:
    assert parse_date("2027-03-31") == date(2027, 3, 31)
    for text in BAD:
        with pytest.raises(ParseError):
            parse_date(text)


@given(st.dates())
def test_every_date_written_as_a_full_date_reads_back(d: date) -> None:
    assert parse_date(d.isoformat()) == d


@given(st.text(max_size=14))
def test_whatever_it_accepts_is_the_full_date_of_what_it_returns(text: str) -> None:
    try:
        d = parse_date(text)
    except ParseError:
        return
    assert d.isoformat() == text


@pytest.mark.parametrize("expires", BAD)
def test_a_decision_request_with_another_form_is_malformed(expires: str) -> None:
    viewer = {"nation": "USA", "clearance": "USA:SECRET", "status": "active",
              "expires": expires}  # fmt: skip
    d = Decider().decide("SECRET//REL TO USA, JPN", viewer, AT)
    assert not d.permit and d.reasons == (Reason.DENY_MALFORMED_REQUEST,)
    good = dict(viewer, expires="2027-03-31")
    assert Decider().decide("SECRET//REL TO USA, JPN", good, AT).permit


REG_TOML = """
[[principal]]
id = "usa-secret"
nation = "USA"
clearance = "USA:SECRET"
expires = {expires}
"""
REG_YAML = """
principal:
  - id: usa-secret
    nation: USA
    clearance: "USA:SECRET"
    expires: {expires}
"""


@pytest.mark.parametrize("text", ["20270331", "2027-W13-3", "2027-3-31", "2027-02-30"])
@pytest.mark.parametrize(("suffix", "doc"), [(".toml", REG_TOML), (".yaml", REG_YAML)])
def test_the_registry_refuses_other_forms_naming_the_key(
    tmp_path: Path, text: str, suffix: str, doc: str
) -> None:
    path = tmp_path / f"registry{suffix}"
    for written in [f'"{text}"', text] if suffix == ".yaml" else [f'"{text}"']:
        path.write_text(doc.format(expires=written))
        with pytest.raises(ConfigError, match=r"principal\.usa-secret\.expires"):
            load_registry(path)


@pytest.mark.parametrize(("suffix", "doc"), [(".toml", REG_TOML), (".yaml", REG_YAML)])
def test_the_registry_reads_the_full_date_quoted_or_bare(
    tmp_path: Path, suffix: str, doc: str
) -> None:
    path = tmp_path / f"registry{suffix}"
    for written in ('"2027-03-31"', "2027-03-31"):
        path.write_text(doc.format(expires=written))
        (p,) = load_registry(path).principals
        assert p.clearance is not None and p.clearance.expires == date(2027, 3, 31)
    path.write_text(doc.format(expires="2027-03-31T00:00:00"))  # a time is not a date
    with pytest.raises(ConfigError, match="expires"):
        load_registry(path)


ASSESSMENT = """
[[assessment]]
partner = "JPN"
date = {date}
values = {{ PHY-1 = 95 }}
"""


@pytest.mark.parametrize("text", ['"20251001"', '"2025-W40-3"', '"2025-10-1"',
                                  "2025-10-01T00:00:00"])  # fmt: skip
def test_an_assessment_date_in_another_form_is_refused_naming_the_key(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "assessments.toml"
    path.write_text(ASSESSMENT.format(date=text))
    with pytest.raises(ConfigError, match=r"assessment\[0\]\.date"):
        load_assessments(load_catalogue(), path)
    path.write_text(ASSESSMENT.format(date='"2025-10-01"'))
    (a,) = load_assessments(load_catalogue(), path)
    assert a.on == date(2025, 10, 1)
