"""STANAG 4774 labels as coalitions write them, read against their SPIF (issue 23 items 2, 4).

The NATO vectors here are written for Kizuna from the public ADatP-4774 Table 17 shapes
(root forms, ``URL`` policy ids, Context and Releasable To categories), not copied from any
other project; the markings are what our NATO-style SPIF gives for them.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import KizunaError, ParseError
from kizuna.labels import (
    CategoryType,
    PolicyLabel,
    display_marking,
    from_xml,
    read_4774,
    shipped_policies,
    shipped_policy,
    translate,
    validate,
    write_4774,
)
from kizuna.labels._policylabel import read_4774_full

P = shipped_policies()
NATO = shipped_policy("nato.xml")
USA = shipped_policy("usa.xml")
JPN = shipped_policy("jpn.xml")
NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
PERM, RESTR, INFO = CategoryType.PERMISSIVE, CategoryType.RESTRICTIVE, CategoryType.INFORMATIVE


def label(
    cls: str,
    cats: dict[tuple[str, str], list[str]],
    *,
    root: str = "originatorConfidentialityLabel",
    pid: str = ' URL="urn:oid:1.3.26.1.3.1"',
    policy: str = "NATO",
) -> str:
    body = "".join(
        f'<Category TagName="{t}" Type="{k}">'
        + "".join(f"<GenericValue>{v}</GenericValue>" for v in vs)
        + "</Category>"
        for (t, k), vs in cats.items()
    )
    return (
        f'<{root} xmlns="{NS}"><ConfidentialityInformation>'
        f"<PolicyIdentifier{pid}>{policy}</PolicyIdentifier>"
        f"<Classification>{cls}</Classification>{body}"
        f"</ConfidentialityInformation></{root}>"
    )


CTX = ("Context", "PERMISSIVE")
REL = ("Releasable To", "PERMISSIVE")
T17_1 = label("UNCLASSIFIED", {CTX: ["NATO", "Releasable"], REL: ["NATO", "ISAF", "KFOR", "RESOLUTE SUPPORT"]})  # fmt: skip  # noqa: E501
T17_2 = label("UNCLASSIFIED", {CTX: ["NATO"]}, pid="")
T17_3 = label("UNCLASSIFIED", {CTX: ["NATO"], ("Administrative", "INFORMATIVE"): ["STAFF"]})
T17_4 = label("RESTRICTED", {CTX: ["NATO", "Releasable"], REL: ["JPN", "CHE", "UKR"]})
T17_5 = label("CONFIDENTIAL", {CTX: ["EAPC", "Releasable"], REL: ["EAPC", "ISAF"]}, pid="")
T17_6 = label("CONFIDENTIAL", {CTX: ["KFOR"], ("Only", "PERMISSIVE"): ["NATO", "IRL", "SWE", "UKR"]})  # fmt: skip  # noqa: E501
COSMIC = label("TOP SECRET", {CTX: ["NATO"]}, root="ConfidentialityLabel")


@pytest.mark.parametrize(
    ("text", "lang", "marking"),
    [
        (T17_1, None, "NATO UNCLASSIFIED Releasable to ISAF, KFOR, RESOLUTE SUPPORT"),
        (T17_1, "fr", "NATO SANS CLASSIFICATION Communicable a ISAF, KFOR, RESOLUTE SUPPORT"),
        (T17_1, "fr-CA", "NATO SANS CLASSIFICATION Communicable a ISAF, KFOR, RESOLUTE SUPPORT"),
        (T17_2, None, "NATO UNCLASSIFIED"),
        (T17_3, None, "NATO UNCLASSIFIED - STAFF"),
        (T17_4, "en-GB", "NATO RESTRICTED Releasable to Japan, Switzerland, Ukraine"),
        (T17_4, "en", "NATO RESTRICTED Releasable to Japan, Switzerland, Ukraine"),
        (T17_4, None, "NATO RESTRICTED Releasable to Japan, Switzerland, Ukraine"),
        (T17_6, None, "NATO/KFOR CONFIDENTIAL Ireland, Sweden, Ukraine, NATO ONLY"),
        (COSMIC, None, "COSMIC TOP SECRET"),
        (T17_4, "fr", "NATO DIFFUSION RESTREINTE Communicable a Japon, Suisse, Ukraine"),
    ],
)
def test_table_17_shapes_read_validate_and_show_in_the_asked_language(
    text: str, lang: str | None, marking: str
) -> None:
    lb = read_4774(text, P)
    assert lb.policy_id == NATO.id
    assert validate(lb, NATO) == ()
    assert display_marking(lb, NATO, lang) == marking


def test_17_5_our_reading_the_label_is_invalid_so_nothing_is_shown_or_released() -> None:
    # EAPC and ISAF releasability are excluded above RESTRICTED in the policy, and a Context
    # category cannot suppress a Releasable To block in XML-SPIF: the label breaks its policy.
    problems = validate(read_4774(T17_5, P), NATO)
    assert len(problems) == 2
    assert all("excluded at CONFIDENTIAL" in p for p in problems)


@pytest.mark.parametrize(
    "root", ["ConfidentialityLabel", "originatorConfidentialityLabel", "alternativeConfidentialityLabel"]  # noqa: E501
)  # fmt: skip
def test_all_three_root_forms_read_alike(root: str) -> None:
    text = label("SECRET", {REL: ["USA", "JPN"]}, root=root)
    want = frozenset({("Releasable To", PERM, "USA"), ("Releasable To", PERM, "JPN")})
    assert read_4774(text, P) == PolicyLabel(NATO.id, "SECRET", want)


def test_canonical_output_reads_back_to_the_same_label() -> None:
    for text in (T17_1, T17_3, T17_4, T17_6, COSMIC):
        lb = read_4774(text, P)
        out = write_4774(lb, P)
        assert out.startswith(f'<ConfidentialityLabel xmlns="{NS}">')
        assert 'URI="urn:oid:1.3.26.1.3.1"' in out
        assert read_4774(out, P) == lb
        assert write_4774(read_4774(out, P), P) == out


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (T17_1.replace("urn:oid:1.3.26.1.3.1", "urn:oid:1.3.26.1.3.9"), "unknown policy id"),
        (T17_1.replace(">NATO</PolicyIdentifier>", ">USA</PolicyIdentifier>"), "1.3.26.1.3.1 is 'NATO'"),  # noqa: E501
        (T17_1.replace("URL=", 'URI="urn:oid:1.2.3" URL='), "disagree"),
        (T17_2.replace(">NATO<", ">OTAN<", 1), "unknown policy 'OTAN'"),
        (label("NATO:UNCLASSIFIED", {}), "not a NATO classification"),
        (label("SECRET", {("Mission", "PERMISSIVE"): ["X"]}), "tag set 'Mission'"),
        (label("SECRET", {("Releasable To", "RESTRICTIVE"): ["USA"]}), "no RESTRICTIVE tag"),
        (label("SECRET", {("Releasable To", "MANDATORY"): ["USA"]}), "unknown Type"),
        (label("SECRET", {REL: ["ATLANTIS"]}), "'ATLANTIS' is not in the SPIF"),
        (label("SECRET", {REL: []}), "no GenericValue"),
        (label("SECRET", {REL: ["USA", "USA"]}), "appears twice"),
        (label("SECRET", {}).replace("<Classification>SECRET</Classification>", ""), "<Classification>"),  # noqa: E501
        (label("SECRET", {}).replace('<PolicyIdentifier URL="urn:oid:1.3.26.1.3.1">NATO</PolicyIdentifier>', ""), "<PolicyIdentifier>"),  # noqa: E501
        (label("SECRET", {}, root="confidentialityLabel"), "not a STANAG 4774 label root"),
        (label("SECRET", {}).replace(f' xmlns="{NS}"', ""), "namespace"),
        (label("SECRET", {}).replace("<ConfidentialityInformation>", "<ConfidentialityInformation><Colour/>"), "unknown <Colour>"),  # noqa: E501
        (label("SECRET", {}, pid=' URL="http://example.invalid/"'), "not an OID"),
    ],
)  # fmt: skip
def test_a_label_the_reader_cannot_fully_read_is_refused_naming_the_element(
    text: str, names: str
) -> None:
    with pytest.raises(ParseError) as info:
        read_4774(text, P)
    assert names in str(info.value)


def test_validation_names_excluded_classes_and_single_selection() -> None:
    lb = read_4774(label("UNCLASSIFIED", {("Additional Sensitivity", "RESTRICTIVE"): ["ATOMAL"]}), P)  # fmt: skip  # noqa: E501
    (problem,) = validate(lb, NATO)
    assert "'ATOMAL' is excluded at UNCLASSIFIED" in problem


ELEMENTS = st.sampled_from(
    ["ConfidentialityLabel", "originatorConfidentialityLabel", "ConfidentialityInformation",
     "PolicyIdentifier", "Classification", "Category", "GenericValue", "PrivacyMark"]
)  # fmt: skip


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(ELEMENTS)
    attrs = ""
    if draw(st.booleans()):
        attrs += f' TagName="{draw(st.sampled_from(["Context", "Releasable To", "", "Only"]))}"'
    if draw(st.booleans()):
        attrs += (
            f' Type="{draw(st.sampled_from(["PERMISSIVE", "RESTRICTIVE", "INFORMATIVE", "x"]))}"'
        )
    if draw(st.booleans()):
        attrs += f' URI="{draw(st.sampled_from(["urn:oid:1.3.26.1.3.1", "1.2", "urn:oid:", "x"]))}"'
    kids = draw(st.lists(trees(depth + 1), max_size=3)) if depth < 4 else []
    text = draw(st.sampled_from(["", "NATO", "SECRET", "UNCLASSIFIED", "USA", "  ", "NATO"]))
    return f"<{name}{attrs}>{text}{''.join(kids)}</{name}>"


@settings(max_examples=400, deadline=None)
@given(trees(), st.booleans())
def test_fuzzed_labels_are_refused_or_read_never_a_crash(tree: str, namespaced: bool) -> None:
    text = tree.replace(">", f' xmlns="{NS}">', 1) if namespaced else tree
    try:
        lb = read_4774(text, P)
    except ParseError:
        return
    policy = P.by_id(lb.policy_id)
    assert policy is not None
    validate(lb, policy)
    display_marking(lb, policy)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300), st.sampled_from([T17_1, T17_4, T17_6]))
def test_mangled_bytes_are_refused_never_a_crash(noise: bytes | str, base: str) -> None:
    cut = len(noise) % len(base)
    text = (
        (base[:cut] + noise + base[cut:]) if isinstance(noise, str) else base.encode()[:cut] + noise
    )
    with contextlib.suppress(KizunaError):
        read_4774(text, P)


def test_a_usa_label_shows_as_its_japanese_equivalent() -> None:
    usa = PolicyLabel(
        USA.id,
        "SECRET",
        frozenset({("Releasable To", PERM, "USA"), ("Releasable To", PERM, "JPN")}),
    )
    jpn = translate(usa, JPN, P)
    assert jpn is not None and jpn.classification == "GOKUHI"
    assert display_marking(usa, USA) == "SECRET//REL TO USA, JPN"
    assert display_marking(jpn, JPN) == "JPN GOKUHI//REL TO USA, JPN"
    assert display_marking(jpn, JPN, "ja") == "極秘//REL TO USA, JPN"
    assert translate(jpn, USA, P) == usa
    noforn = PolicyLabel(USA.id, "TOP SECRET", frozenset({("Dissemination", RESTR, "NOFORN")}))
    back = translate(noforn, JPN, P)
    assert back == PolicyLabel(JPN.id, "KIMITSU", frozenset({("Dissemination", RESTR, "NOFORN")}))


def test_a_label_with_no_equivalent_does_not_translate() -> None:
    nato = read_4774(T17_4, P)
    assert translate(nato, USA, P) is None  # the NATO SPIF declares no equivalent policies


WS = st.sampled_from(["", " ", "\n", "\r\n", "\t", "\u00a0", "\u2003"])
WORDS = st.sampled_from(
    ["NATO", "USA", "JPN", "ISAF", "KFOR", "Releasable", "RESTRICTED", "SECRET", "Context",
     "Releasable To", "Only", "STAFF", "", " USA ", "US&amp;A", "U]]>SA", "\u00a0USA", "PERMISSIVE",
     "INFORMATIVE", "Administrative", "1.3.26.1.3.1", "urn:oid:1.3.26.1.3.1", "Ukraine"]
)  # fmt: skip


@st.composite
def plain_shapes(draw: st.DrawFn) -> str:
    """Labels near the quick reader's shape, with the whitespace and text that tell apart."""
    w = draw(WS)
    root = draw(
        st.sampled_from(
            sorted(
                (
                    "ConfidentialityLabel",
                    "originatorConfidentialityLabel",
                    "alternativeConfidentialityLabel",
                )
            )
        )
    )
    attr = draw(st.sampled_from(["", " URI", " URL"]))
    pid = f'{attr}="{draw(WORDS)}"' if attr else ""
    cats = ""
    for _ in range(draw(st.integers(0, 3))):
        values = "".join(
            f"<GenericValue>{draw(WORDS)}</GenericValue>{draw(WS)}"
            for _ in range(draw(st.integers(1, 3)))
        )
        cats += f'<Category TagName="{draw(WORDS)}" Type="{draw(WORDS)}">{draw(WS)}{values}</Category>{draw(WS)}'  # noqa: E501
    return (
        f'<{root} xmlns="{NS}">{w}<ConfidentialityInformation>{draw(WS)}'
        f"<PolicyIdentifier{pid}>{draw(WS)}{draw(WORDS)}{draw(WS)}</PolicyIdentifier>{draw(WS)}"
        f"<Classification>{draw(WORDS)}</Classification>{draw(WS)}{cats}"
        f"</ConfidentialityInformation>{draw(WS)}</{root}>{draw(WS)}"
    )


def _outcome(reader: object, text: str | bytes) -> object:
    assert callable(reader)
    try:
        return reader(text, P)
    except ParseError:
        return "refused"


@settings(max_examples=600, deadline=None)
@given(plain_shapes(), st.booleans())
def test_the_quick_reader_answers_as_the_hardened_reader(text: str, as_bytes: bool) -> None:
    data: str | bytes = text.encode() if as_bytes else text
    assert _outcome(read_4774, data) == _outcome(read_4774_full, data)


def test_the_kizuna_reader_takes_every_root_form_and_checks_the_policy_uri() -> None:
    usa = f"urn:oid:{USA.id}"
    for root in (
        "ConfidentialityLabel",
        "originatorConfidentialityLabel",
        "alternativeConfidentialityLabel",
    ):
        for attr in ("URI", "URL"):
            text = label("SECRET", {}, root=root, pid=f' {attr}="{usa}"', policy="USA")
            assert from_xml(text).level == "SECRET"
    with pytest.raises(ParseError, match="is not policy USA"):
        from_xml(label("SECRET", {}, pid=f' URI="urn:oid:{JPN.id}"', policy="USA"))
    with pytest.raises(ParseError, match="cannot be checked"):
        from_xml(label("UNCLASSIFIED", {}, pid=f' URI="{usa}"', policy="NONE"))
