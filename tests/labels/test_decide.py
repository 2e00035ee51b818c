from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.labels import (
    Category,
    CategoryType,
    Clearance,
    ClearanceStatus,
    Decider,
    Label,
    Reason,
    Viewer,
    decide,
    default_table,
    releasable_to,
)

from .strategies import AT, TABLE, labels, viewers

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
R = Reason


def viewer(
    nation: str = "JPN",
    clearance: str = "JPN:GOKUHI",
    expires: str = "2027-03-31",
    status: str = "active",
) -> dict[str, object]:
    return {"nation": nation, "clearance": clearance, "expires": expires, "status": status}


US_S = viewer("USA", "USA:SECRET")
JPN_G = viewer()


def reasons(label: object, who: object, at: datetime = NOW) -> set[Reason]:
    d = decide(label, who, at)
    assert d.permit == (not d.reasons)
    return set(d.reasons)


def test_the_issue_example_permits() -> None:
    assert decide("SECRET//REL TO USA, JPN", JPN_G, NOW).permit


@pytest.mark.parametrize("label", [None, "", "   ", "\t\n", "\r\x0b\x0c "])
def test_missing_labels(label: object) -> None:
    assert reasons(label, JPN_G) == {R.DENY_MISSING_LABEL}


@pytest.mark.parametrize(
    "label",
    [
        42,
        b"SECRET",
        ["SECRET"],
        {"banner": "SECRET"},
        "secret",
        "SECRET//REL TO",
        "\u00a0SECRET",
        "SECRET\u3000",
        "SECRET\x00",
        "SECRET//NOFORN//NOFORN",
        "SECRЕT",
        "X" * 10_000,
    ],
)
def test_malformed_labels(label: object) -> None:
    assert reasons(label, JPN_G) == {R.DENY_MALFORMED_LABEL}


@pytest.mark.parametrize(
    "label",
    [
        "SECRET//REL TO JPN",
        "SECRET//REL TO USA//NOFORN",
        "JPN HI//REL TO USA",
        "UNCLASSIFIED//NOFORN//REL TO USA",
        "SECRET//REL TO KOR, GBR",
    ],
)
def test_unsatisfiable_labels_deny_everyone(label: str) -> None:
    for who in (US_S, JPN_G, viewer("USA", "USA:TOP SECRET")):
        assert reasons(label, who) == {R.DENY_UNSATISFIABLE_LABEL}


def test_unclassified_permits_everyone_whatever_their_clearance() -> None:
    for who in (
        viewer("KOR", "KOR:SECRET"),
        viewer("JPN", status="revoked"),
        viewer("JPN", expires="2001-01-01"),
        viewer("PHL", clearance="garbage", status="??"),
        {"nation": "GBR"},
    ):
        assert decide("UNCLASSIFIED", who, NOW).permit


def test_unclassified_noforn_is_us_only_and_rel_to_need_not_name_usa() -> None:
    assert decide("UNCLASSIFIED//NOFORN", US_S, NOW).permit
    assert reasons("UNCLASSIFIED//NOFORN", JPN_G) == {R.DENY_NOT_RELEASABLE}
    assert decide("UNCLASSIFIED//REL TO JPN", JPN_G, NOW).permit
    assert reasons("UNCLASSIFIED//REL TO JPN", US_S) == {R.DENY_NOT_RELEASABLE}


def test_fvey_does_not_include_japan_or_korea() -> None:
    label = "SECRET//REL TO USA, FVEY"
    assert reasons(label, JPN_G) == {R.DENY_NOT_RELEASABLE}
    assert R.DENY_NOT_RELEASABLE in reasons(label, viewer("KOR", "KOR:SECRET"))
    gbr = reasons(label, viewer("GBR", "USA:SECRET"))
    assert R.DENY_NOT_RELEASABLE not in gbr  # releasable; GBR simply has no policy here
    assert decide("UNCLASSIFIED//REL TO FVEY", viewer("NZL", "x"), NOW).permit


def test_classified_without_rel_to_is_for_the_policy_nation_only() -> None:
    assert decide("SECRET", US_S, NOW).permit
    assert reasons("SECRET", JPN_G) == {R.DENY_NOT_RELEASABLE}
    assert decide("JPN GOKUHI", JPN_G, NOW).permit
    assert reasons("JPN GOKUHI", US_S) == {R.DENY_NOT_RELEASABLE}


LEVEL_PAIRS = {"CONFIDENTIAL": "HI", "SECRET": "GOKUHI", "TOP SECRET": "KIMITSU"}
US_LEVELS = ["NONE", "CONFIDENTIAL", "SECRET", "TOP SECRET"]
JP_LEVELS = ["NONE", "HI", "GOKUHI", "KIMITSU"]


@pytest.mark.parametrize(("label_level", "held"), list(product(US_LEVELS[1:], JP_LEVELS)))
def test_every_us_level_against_every_japanese_clearance(label_level: str, held: str) -> None:
    permit = JP_LEVELS.index(held) >= US_LEVELS.index(label_level)
    d = decide(f"{label_level}//REL TO USA, JPN", viewer("JPN", f"JPN:{held}"), NOW)
    assert d.permit == permit
    assert permit or d.reasons == (R.DENY_INSUFFICIENT_CLEARANCE,)


@pytest.mark.parametrize(("label_level", "held"), list(product(JP_LEVELS[1:], US_LEVELS)))
def test_every_japanese_level_against_every_us_clearance(label_level: str, held: str) -> None:
    permit = US_LEVELS.index(held) >= JP_LEVELS.index(label_level)
    d = decide(f"JPN {label_level}//REL TO JPN, USA", viewer("USA", f"USA:{held}"), NOW)
    assert d.permit == permit
    assert permit or d.reasons == (R.DENY_INSUFFICIENT_CLEARANCE,)


def test_expiry_is_valid_through_the_end_of_the_day_utc() -> None:
    who = viewer(expires="2026-06-01")
    label = "SECRET//REL TO USA, JPN"
    assert decide(label, who, datetime(2026, 6, 1, 23, 59, 59, 999999, tzinfo=UTC)).permit
    assert reasons(label, who, datetime(2026, 6, 2, tzinfo=UTC)) == {R.DENY_CLEARANCE_EXPIRED}
    # 08:00 on 2 June in Tokyo is still 1 June in UTC
    tokyo = timezone(timedelta(hours=9))
    assert decide(label, who, datetime(2026, 6, 2, 8, tzinfo=tokyo)).permit
    assert not decide(label, who, datetime(2026, 6, 2, 9, tzinfo=tokyo)).permit
    # 20:00 on 1 June in Hawaii is already 2 June in UTC
    hawaii = timezone(timedelta(hours=-10))
    assert not decide(label, who, datetime(2026, 6, 1, 20, tzinfo=hawaii)).permit


def test_status_and_every_applicable_reason_is_reported() -> None:
    label = "TOP SECRET//REL TO USA, JPN"
    assert reasons(label, viewer(status="suspended")) == {
        R.DENY_CLEARANCE_SUSPENDED,
        R.DENY_INSUFFICIENT_CLEARANCE,
    }
    assert reasons(label, viewer(status="revoked", expires="2020-01-01")) == {
        R.DENY_CLEARANCE_REVOKED,
        R.DENY_CLEARANCE_EXPIRED,
        R.DENY_INSUFFICIENT_CLEARANCE,
    }
    assert reasons("SECRET//NOFORN", viewer(status="revoked")) == {
        R.DENY_NOT_RELEASABLE,
        R.DENY_CLEARANCE_REVOKED,
    }


def test_clearance_must_be_under_the_viewers_own_policy() -> None:
    assert reasons("SECRET//REL TO USA, JPN", viewer("JPN", "USA:TOP SECRET")) == {
        R.DENY_NO_EQUIVALENCE
    }
    assert reasons("SECRET//REL TO USA, JPN", viewer("USA", "JPN:KIMITSU")) == {
        R.DENY_NO_EQUIVALENCE
    }


@pytest.mark.parametrize(
    "who",
    [
        viewer("XYZ"),
        viewer("jpn"),
        viewer("KOR", "KOR:SECRET"),
        viewer(clearance="JPN:SECRET"),
        viewer(clearance="JPN:gokuhi"),
        viewer(clearance="JPN GOKUHI"),
        viewer(clearance="GOKUHI"),
        viewer(expires="2027-02-30"),
        viewer(expires="next year"),
        viewer(status="Active"),
        viewer(status="expired"),
        {"nation": "JPN", "clearance": "JPN:GOKUHI", "status": "active"},
        {"nation": "JPN", "expires": "2027-03-31", "status": "active"},
        {"clearance": "JPN:GOKUHI", "expires": "2027-03-31", "status": "active"},
        {"nation": 392, "clearance": "JPN:GOKUHI", "expires": "2027-03-31", "status": "active"},
        None,
        "JPN",
        ["JPN"],
    ],
)
def test_malformed_viewers(who: object) -> None:
    assert R.DENY_MALFORMED_REQUEST in reasons("SECRET//REL TO USA, JPN", who)


def test_unknown_viewer_nation_is_malformed_even_for_unclassified_rel_to() -> None:
    assert reasons("UNCLASSIFIED//REL TO USA", viewer("XYZ")) == {R.DENY_MALFORMED_REQUEST}


def test_categories_restrict_and_permit() -> None:
    base = Label("USA", "SECRET", frozenset({"USA", "JPN"}))
    restrictive = Label(
        base.policy,
        base.level,
        base.rel_to,
        False,
        frozenset({Category("SIGINT", CategoryType.RESTRICTIVE, frozenset({"A", "B"}))}),
    )
    permissive = Label(
        base.policy,
        base.level,
        base.rel_to,
        False,
        frozenset({Category("OP", CategoryType.PERMISSIVE, frozenset({"A", "B"}))}),
    )
    informative = Label(
        base.policy,
        base.level,
        base.rel_to,
        False,
        frozenset({Category("NOTE", CategoryType.INFORMATIVE, frozenset({"X"}))}),
    )
    cl = Clearance("JPN", "GOKUHI", ClearanceStatus.ACTIVE, date(2027, 1, 1))
    none = Viewer("JPN", cl)
    one = Viewer("JPN", cl, frozenset({("SIGINT", "A"), ("OP", "B")}))
    both = Viewer("JPN", cl, frozenset({("SIGINT", "A"), ("SIGINT", "B")}))
    assert decide(restrictive, none, NOW).reasons == (R.DENY_MISSING_CATEGORY,)
    assert decide(restrictive, one, NOW).reasons == (R.DENY_MISSING_CATEGORY,)
    assert decide(restrictive, both, NOW).permit
    assert not decide(permissive, none, NOW).permit
    assert decide(permissive, one, NOW).permit
    assert decide(informative, none, NOW).permit


def test_naive_time_is_taken_as_utc() -> None:
    who = viewer(expires="2026-06-01")
    assert decide("SECRET//REL TO USA, JPN", who, datetime(2026, 6, 1, 23)).permit
    assert not decide("SECRET//REL TO USA, JPN", who, datetime(2026, 6, 2, 0)).permit


@given(labels(with_categories=True), viewers())
def test_decider_agrees_with_decide(label: Label, who: Viewer) -> None:
    decider = Decider(cache_size=8)
    at = datetime(AT.year, AT.month, AT.day, 12, tzinfo=UTC)
    expected = decide(label, who, at)
    assert decider.decide(label, who, at) == expected
    assert decider.decide(label, who, at) == expected  # from the cache


def _raise_level(label: Label) -> Label | None:
    if label.policy is None:
        return Label("USA", "CONFIDENTIAL", label.rel_to, label.noforn, label.categories)
    levels = TABLE.levels[label.policy]
    i = levels.index(label.level)
    if i + 1 == len(levels):
        return None
    return Label(label.policy, levels[i + 1], label.rel_to, label.noforn, label.categories)


@given(labels(with_categories=True), viewers())
def test_raising_the_level_never_turns_a_deny_into_a_permit(label: Label, who: Viewer) -> None:
    higher = _raise_level(label)
    if higher is not None and not decide(label, who, NOW).permit:
        assert not decide(higher, who, NOW).permit


@given(labels(with_categories=True), viewers(), st.data())
def test_removing_a_nation_never_turns_a_deny_into_a_permit(
    label: Label, who: Viewer, data: st.DataObject
) -> None:
    if not label.rel_to or len(label.rel_to) < 2:
        return
    drop = data.draw(st.sampled_from(sorted(label.rel_to)))
    fewer = Label(label.policy, label.level, label.rel_to - {drop}, label.noforn, label.categories)
    if not decide(label, who, NOW).permit:
        assert not decide(fewer, who, NOW).permit


def test_releasable_to_expands_tetragraphs() -> None:
    t = default_table()
    assert releasable_to(Label("USA", "SECRET", frozenset({"USA", "FVEY"})), t) == {
        "USA",
        "AUS",
        "CAN",
        "GBR",
        "NZL",
    }
    assert releasable_to(Label(None, "UNCLASSIFIED"), t) is None
