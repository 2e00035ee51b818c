"""The access decision by a SPIF's rules, pinned by properties (issue 23 item 3).

The oracle below is the rule as the issue states it, written without the engine's code:
a clearance holds a set of classifications; each permissive tag of the label needs one
held value of that same tag; each restrictive tag needs all its values; informative tags
never decide. Generated SPIFs are real XML read by the real loader.
"""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.labels import (
    BatchDecider,
    CategoryType,
    Clearance,
    ClearanceStatus,
    Decision,
    PolicyLabel,
    PolicySet,
    Reason,
    SpifClearance,
    access,
    clearance_up_to,
    parse_spif,
    read_4774,
    shipped_policies,
    shipped_policy,
)
from kizuna.labels._acdf import BATCH_INSUFFICIENT, BATCH_MALFORMED, BATCH_MISSING_CATEGORY
from kizuna.labels._spif import Policy

KINDS = {"permissive": CategoryType.PERMISSIVE, "restrictive": CategoryType.RESTRICTIVE,
         "tagType7": CategoryType.INFORMATIVE}  # fmt: skip


@st.composite
def spifs(draw: st.DrawFn) -> Policy:
    n_classes = draw(st.integers(1, 4))
    classes = "".join(
        f'<securityClassification name="C{i}" lacv="{i}" hierarchy="{i}"/>'
        for i in range(n_classes)
    )
    sets = []
    for s in range(draw(st.integers(1, 4))):
        kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=3, unique=True))
        tags = []
        for kind in kinds:
            enum = draw(st.booleans()) and kind != "tagType7"
            kind_attr = f'tagType="enumerated" enumType="{kind}"' if enum else f'tagType="{kind}"'
            values = "".join(
                f'<tagCategory name="v{v}" lacv="{v}"/>' for v in range(draw(st.integers(1, 4)))
            )
            tags.append(
                f'<securityCategoryTag name="T{s}{kind}" {kind_attr}>{values}</securityCategoryTag>'
            )
        sets.append(
            f'<securityCategoryTagSet name="S{s}" id="2.25.9.{s}">{"".join(tags)}</securityCategoryTagSet>'  # noqa: E501
        )
    xml = (
        '<SPIF xmlns="http://www.xmlspif.org/spif"><securityPolicyId name="Gen" id="2.25.9"/>'
        f"<securityClassifications>{classes}</securityClassifications>"
        f"<securityCategoryTagSets>{''.join(sets)}</securityCategoryTagSets></SPIF>"
    )
    return parse_spif(xml, "generated.xml")


def all_values(p: Policy) -> list[tuple[str, CategoryType, str]]:
    return [(s.name, t.access, v.name) for s in p.tag_sets for t in s.tags for v in t.values]


@st.composite
def cases(draw: st.DrawFn) -> tuple[Policy, list[PolicyLabel], list[SpifClearance]]:
    p = draw(spifs())
    names = [c.name for c in p.classifications]
    values = all_values(p)
    labels = [
        PolicyLabel(
            p.id, draw(st.sampled_from(names)), frozenset(draw(st.sets(st.sampled_from(values))))
        )
        for _ in range(draw(st.integers(1, 6)))
    ]
    clearances = [
        SpifClearance(
            p.id,
            frozenset(draw(st.sets(st.sampled_from(names)))),
            frozenset(draw(st.sets(st.sampled_from(values)))),
        )
        for _ in range(draw(st.integers(1, 6)))
    ]
    return p, labels, clearances


def oracle(label: PolicyLabel, clearance: SpifClearance) -> set[Reason]:
    reasons = set()
    if label.classification not in clearance.classifications:
        reasons.add(Reason.DENY_INSUFFICIENT_CLEARANCE)
    tags: dict[tuple[str, CategoryType], set[str]] = {}
    for set_name, kind, value in label.categories:
        tags.setdefault((set_name, kind), set()).add(value)
    for (set_name, kind), wanted in tags.items():
        held = {v for s, k, v in clearance.categories if (s, k) == (set_name, kind)}
        if kind is CategoryType.RESTRICTIVE and not wanted <= held:
            reasons.add(Reason.DENY_MISSING_CATEGORY)
        if kind is CategoryType.PERMISSIVE and not wanted & held:
            reasons.add(Reason.DENY_MISSING_CATEGORY)
    return reasons


@settings(max_examples=300, deadline=None)
@given(cases())
def test_single_and_batch_decisions_follow_the_policys_rules(
    case: tuple[Policy, list[PolicyLabel], list[SpifClearance]],
) -> None:
    policy, labels, clearances = case
    policies = PolicySet([policy])
    batch = BatchDecider(policy).decide(labels, clearances)
    for i, lb in enumerate(labels):
        for j, cl in enumerate(clearances):
            want = oracle(lb, cl)
            got = access(lb, cl, policies)
            assert got.permit == (not want)
            assert set(got.reasons) == want
            bits = (BATCH_INSUFFICIENT if Reason.DENY_INSUFFICIENT_CLEARANCE in want else 0) | (
                BATCH_MISSING_CATEGORY if Reason.DENY_MISSING_CATEGORY in want else 0
            )
            assert int(batch[i, j]) == bits


# The two bugs spiffing's own three access cases cannot catch, as fixed cases.
TWO = parse_spif(
    '<SPIF><securityPolicyId name="Two" id="2.25.8"/><securityClassifications>'
    '<securityClassification name="C" lacv="1" hierarchy="1"/></securityClassifications>'
    "<securityCategoryTagSets>"
    '<securityCategoryTagSet name="A" id="2.25.8.1"><securityCategoryTag name="A" tagType="permissive">'  # noqa: E501
    '<tagCategory name="a1" lacv="1"/><tagCategory name="a2" lacv="2"/></securityCategoryTag>'
    '<securityCategoryTag name="AR" tagType="restrictive"><tagCategory name="r1" lacv="1"/>'
    '<tagCategory name="r2" lacv="2"/></securityCategoryTag></securityCategoryTagSet>'
    '<securityCategoryTagSet name="B" id="2.25.8.2"><securityCategoryTag name="B" tagType="permissive">'  # noqa: E501
    '<tagCategory name="b1" lacv="1"/></securityCategoryTag></securityCategoryTagSet>'
    "</securityCategoryTagSets></SPIF>"
)
PERM, RESTR = CategoryType.PERMISSIVE, CategoryType.RESTRICTIVE


def _decide(
    label: frozenset[tuple[str, CategoryType, str]], held: frozenset[tuple[str, CategoryType, str]]
) -> Decision:
    return access(
        PolicyLabel(TWO.id, "C", label),
        SpifClearance(TWO.id, frozenset({"C"}), held),
        PolicySet([TWO]),
    )


def test_one_permissive_value_does_not_satisfy_another_permissive_tag() -> None:
    label = frozenset({("A", PERM, "a1"), ("B", PERM, "b1")})
    assert not _decide(label, frozenset({("A", PERM, "a1")})).permit
    assert _decide(label, frozenset({("A", PERM, "a1"), ("B", PERM, "b1")})).permit
    assert _decide(
        frozenset({("A", PERM, "a1"), ("A", PERM, "a2")}), frozenset({("A", PERM, "a2")})
    ).permit


def test_every_restrictive_value_is_checked() -> None:
    label = frozenset({("A", RESTR, "r1"), ("A", RESTR, "r2")})
    denied = _decide(label, frozenset({("A", RESTR, "r1")}))
    assert denied.reasons == (Reason.DENY_MISSING_CATEGORY,)
    assert _decide(label, frozenset({("A", RESTR, "r1"), ("A", RESTR, "r2")})).permit
    # a held permissive value of the same set and name is not the restrictive one
    assert not _decide(frozenset({("A", RESTR, "r1")}), frozenset({("A", PERM, "r1")})).permit


def test_a_clearance_is_a_set_of_classifications() -> None:
    usa = shipped_policy("usa.xml")
    secret = clearance_up_to(
        usa, Clearance("USA", "SECRET", ClearanceStatus.ACTIVE, date(2030, 1, 1))
    )
    assert secret.classifications == {"UNCLASSIFIED", "CONFIDENTIAL", "SECRET"}
    only_ts = SpifClearance(usa.id, frozenset({"TOP SECRET"}))
    p = shipped_policies()
    assert not access(PolicyLabel(usa.id, "SECRET"), only_ts, p).permit
    assert access(PolicyLabel(usa.id, "SECRET"), secret, p).permit


def test_a_clearance_under_an_equivalent_policy_goes_through_the_equivalence() -> None:
    p = shipped_policies()
    usa, jpn = shipped_policy("usa.xml"), shipped_policy("jpn.xml")
    rel = frozenset({("Releasable To", PERM, "JPN")})
    label = PolicyLabel(usa.id, "SECRET", rel)
    gokuhi = SpifClearance(jpn.id, frozenset({"UNCLASSIFIED", "HI", "GOKUHI"}), rel)
    hi = SpifClearance(jpn.id, frozenset({"UNCLASSIFIED", "HI"}), rel)
    assert access(label, gokuhi, p).permit
    assert access(label, hi, p).reasons == (Reason.DENY_INSUFFICIENT_CLEARANCE,)
    nato = read_4774(
        '<ConfidentialityLabel xmlns="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">'
        "<ConfidentialityInformation><PolicyIdentifier>NATO</PolicyIdentifier>"
        "<Classification>RESTRICTED</Classification></ConfidentialityInformation>"
        "</ConfidentialityLabel>",
        p,
    )
    denied = access(nato, gokuhi, p)
    assert denied.reasons == (Reason.DENY_NO_EQUIVALENCE,)
    assert "JPN" in denied.detail


def test_an_invalid_label_or_unknown_policy_fails_closed_with_the_reason_as_data() -> None:
    p = shipped_policies()
    nato = shipped_policy("nato.xml")
    bad = PolicyLabel(
        nato.id, "UNCLASSIFIED", frozenset({("Additional Sensitivity", RESTR, "ATOMAL")})
    )
    held = SpifClearance(nato.id, frozenset(c.name for c in nato.classifications), bad.categories)
    denied = access(bad, held, p)
    assert denied.reasons == (Reason.DENY_MALFORMED_LABEL,) and "ATOMAL" in denied.detail
    assert denied.to_json() == {"decision": "DENY", "reasons": ["DENY_MALFORMED_LABEL"]}
    assert access(PolicyLabel("2.25.404", "X"), held, p).reasons == (Reason.DENY_MALFORMED_LABEL,)
    stranger = SpifClearance("2.25.404", frozenset({"UNCLASSIFIED"}))
    ok = PolicyLabel(nato.id, "UNCLASSIFIED")
    assert access(ok, stranger, p).reasons == (Reason.DENY_MALFORMED_REQUEST,)
    out = BatchDecider(nato).decide([bad, ok], [held, stranger])
    assert out[0, 0] & BATCH_MALFORMED and out[1, 1] & BATCH_MALFORMED and out[1, 0] == 0
