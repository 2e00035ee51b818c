"""The XML-SPIF loader: the shipped SPIFs, the table view, and every refusal (issue 23 item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import PolicyError
from kizuna.labels import CategoryType, Policy, default_table, load_table, table_from_policies
from kizuna.labels._spif import MAX_SPIF_BYTES, SpifError, load_spif, parse_spif
from kizuna.labels._table import shipped_policy

DATA = Path(__file__).parent / "data"
KITCHEN = (DATA / "kitchen-policy.xml").read_text(encoding="utf-8")
NATO_TEXT = (Path(__file__).parents[2] / "src/kizuna/labels/data/spif/nato.xml").read_text(
    encoding="utf-8"
)
TOML = Path(__file__).parents[2] / "src/kizuna/labels/data/policies.toml"


def test_the_kitchen_policy_loads_into_one_frozen_model() -> None:
    p = parse_spif(KITCHEN, "kitchen.xml")
    assert (p.name, p.id) == ("Kitchen", "2.25.1001")
    assert [c.name for c in p.classifications] == ["PUBLIC", "STAFF", "CHEF"]
    assert p.equivalent_policies["Canteen"] == "2.25.1002"
    diet = p.tag_set("Diet")
    assert diet is not None
    assert [t.access for t in diet.tags] == [
        CategoryType.RESTRICTIVE,
        CategoryType.PERMISSIVE,
        CategoryType.INFORMATIVE,
    ]
    milk = diet.tags[0].value("Milk")
    assert milk is not None and milk.excluded_classes == {"PUBLIC"}
    assert p.classifications[2].required[0].operation == "oneOrMore"
    assert {q.code for q in p.qualifiers} == {"prefix", "suffix"}
    with pytest.raises(AttributeError):
        p.name = "x"  # type: ignore[misc]


def test_shipped_spifs_load_and_the_toml_table_is_their_view() -> None:
    for name in ("usa.xml", "jpn.xml", "nato.xml"):
        assert shipped_policy(name).classifications
    assert shipped_policy("nato.xml").id == "1.3.26.1.3.1"
    table = default_table()
    assert set(table.policies) == {"USA", "JPN"}
    assert load_table(TOML) == table


def _problems(text: str) -> tuple[str, ...]:
    with pytest.raises(SpifError) as info:
        parse_spif(text, "p.xml")
    return info.value.problems


def test_a_misspelt_closing_tag_is_one_error_naming_file_line_and_element() -> None:
    broken = KITCHEN.replace("</securityCategoryTagSet>\n  </securityCategoryTagSets>",
                             "</securityCategiryTagSet>\n  </securityCategoryTagSets>")  # fmt: skip
    (line,) = _problems(broken)
    assert line.startswith("p.xml:51: <securityCategoryTagSet>:"), line
    assert "mismatched tag" in line


def test_a_duplicate_excluded_class_is_refused() -> None:
    broken = KITCHEN.replace(
        "<excludedClass>PUBLIC</excludedClass>",
        "<excludedClass>PUBLIC</excludedClass><excludedClass>PUBLIC</excludedClass>",
    )
    (line,) = _problems(broken)
    assert line.startswith("p.xml:30: <excludedClass>:")
    assert "duplicate excluded classification 'PUBLIC'" in line


def test_dangling_references_are_one_line_each() -> None:
    broken = (
        KITCHEN.replace('policyRef="Canteen" lacv="2"', 'policyRef="Diner" lacv="2"')
        .replace('tagType="restrictive" lacv="2"', 'tagType="restrictive" lacv="9"')
        .replace("<excludedClass>PUBLIC</excludedClass>", "<excludedClass>SECRET</excludedClass>")
        .replace('"Diet" tagType="restrictive" all', '"Dessert" tagType="restrictive" all')
    )  # fmt: skip
    problems = _problems(broken)
    assert len(problems) == 4, problems
    text = "\n".join(problems)
    assert "unknown policy 'Diner'" in text
    assert "no value with lacv '9'" in text
    assert "excludes unknown class 'SECRET'" in text
    assert "unknown tag set 'Dessert'" in text
    assert all(p.startswith("p.xml:") for p in problems)


def test_duplicates_and_bad_attributes_are_refused() -> None:
    broken = KITCHEN.replace('name="CHEF" lacv="12"', 'name="STAFF" lacv="11"').replace(
        'enumType="permissive"', 'enumType="sometimes"'
    )
    text = "\n".join(_problems(broken))
    assert "classification 'STAFF' is defined twice" in text
    assert "lacv 11 is used by two classifications" in text
    assert "enumType='sometimes'" in text


@pytest.mark.parametrize(
    "prefix",
    [
        '<!DOCTYPE SPIF [<!ENTITY x "y">]>',
        '<!DOCTYPE SPIF SYSTEM "http://example.invalid/spif.dtd">',
    ],
)
def test_a_dtd_or_entities_are_refused(prefix: str) -> None:
    text = KITCHEN.replace('<?xml version="1.0" encoding="UTF-8"?>', prefix)
    (line,) = _problems(text)
    assert line.startswith("p.xml:1:") and "document type" in line


def test_an_oversized_spif_is_refused_before_parsing(tmp_path: Path) -> None:
    big = KITCHEN.replace("<!--", "<!--" + "x" * MAX_SPIF_BYTES)
    (line,) = _problems(big)
    assert f"{MAX_SPIF_BYTES}-byte bound" in line
    path = tmp_path / "big.xml"
    path.write_text(big)
    with pytest.raises(SpifError, match=r"big\.xml: larger"):
        load_spif(path)
    with pytest.raises(SpifError, match="cannot read"):
        load_spif(tmp_path / "absent.xml")


def test_a_file_that_is_not_a_spif_is_refused() -> None:
    (line,) = _problems("<policy/>")
    assert "not an XML-SPIF" in line


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_a_mangled_spif_is_refused_with_problems_never_a_crash(data: st.DataObject) -> None:
    text = NATO_TEXT if data.draw(st.booleans()) else KITCHEN
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 200)))
    noise = data.draw(
        st.sampled_from(["", "<", ">", '"', "x", "</SPIF>", '<tagCategory name="v" lacv="1"/>',
                         'hierarchy="a"', 'lacv="1"', "<excludedClass>Z</excludedClass>",
                         '<categoryGroup tagSetRef="Nope" tagType="permissive" lacv="1"/>'])
    )  # fmt: skip
    mangled = text[:start] + noise + text[end:]
    try:
        policy = parse_spif(mangled, "m.xml")
    except SpifError as exc:
        assert exc.problems and all(p.startswith("m.xml:") for p in exc.problems)
        return
    assert policy.classifications


def _korea() -> Policy:
    jpn = (Path(__file__).parents[2] / "src/kizuna/labels/data/spif/jpn.xml").read_text("utf-8")
    text = (
        jpn.replace(
            'name="JPN" id="2.25.112405303167271336601237518577475206136"',
            'name="KOR" id="2.25.77"',
        )
        .replace('"JPN HI"', '"KOR 3"')
        .replace('"JPN GOKUHI"', '"KOR 2"')
        .replace('"JPN KIMITSU"', '"KOR 1"')
        .replace('name="HI"', 'name="III"')
        .replace('name="GOKUHI"', 'name="II"')
        .replace('name="KIMITSU"', 'name="I"')
    )
    return parse_spif(text, "kor.xml")


def test_a_partners_spif_joins_the_table_through_its_equivalences() -> None:
    table = table_from_policies([shipped_policy("usa.xml"), shipped_policy("jpn.xml"), _korea()])
    assert table.levels["KOR"] == ("III", "II", "I")
    assert table.banner_of[("KOR", "II")] == "KOR 2"
    assert table.equivalent("KOR", "II", "JPN") == "GOKUHI"
    assert table.equivalent("JPN", "KIMITSU", "KOR") == "I"


def test_a_table_needs_one_unclassified_home_and_agreeing_groups() -> None:
    with pytest.raises(PolicyError, match="exactly one SPIF must be the unclassified home"):
        table_from_policies([shipped_policy("jpn.xml")])
    usa = (Path(__file__).parents[2] / "src/kizuna/labels/data/spif/usa.xml").read_text("utf-8")
    odd = parse_spif(usa.replace('members="USA AUS CAN GBR NZL"', 'members="USA GBR"'), "u.xml")
    with pytest.raises(PolicyError, match="group FVEY has different members"):
        table_from_policies([odd, shipped_policy("jpn.xml")])
