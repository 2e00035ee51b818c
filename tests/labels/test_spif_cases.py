"""Validity, access and translation cases in the shape of spiffing's food cases, on our own
kitchen and canteen SPIFs (issue 23 items 1-4, 6; written for Kizuna, not copied).
"""

from __future__ import annotations

from pathlib import Path

from kizuna.labels import (
    CategoryType,
    PolicyLabel,
    PolicySet,
    Reason,
    SpifClearance,
    access,
    display_marking,
    load_spif,
    translate,
    validate,
)

DATA = Path(__file__).parent / "data"
KITCHEN = load_spif(DATA / "kitchen-policy.xml")
CANTEEN = load_spif(DATA / "canteen-policy.xml")
BOTH = PolicySet([KITCHEN, CANTEEN])
R, P, INF = CategoryType.RESTRICTIVE, CategoryType.PERMISSIVE, CategoryType.INFORMATIVE
NUT, MILK = ("Diet", R, "Nut"), ("Diet", R, "Milk")
VEGAN, HALAL, SPICY = ("Diet", P, "Vegan"), ("Diet", P, "Halal"), ("Diet", INF, "Spicy")
DAY, NIGHT = ("Shift", P, "Day"), ("Shift", P, "Night")


def kitchen(cls: str, *cats: tuple[str, CategoryType, str]) -> PolicyLabel:
    return PolicyLabel(KITCHEN.id, cls, frozenset(cats))


def test_validity_excluded_class_excluded_category_required_category() -> None:
    assert validate(kitchen("STAFF", MILK, VEGAN, SPICY), KITCHEN) == ()
    (excluded,) = validate(kitchen("PUBLIC", MILK), KITCHEN)
    assert "'Milk' is excluded at PUBLIC" in excluded
    (clash,) = validate(kitchen("STAFF", MILK, HALAL), KITCHEN)
    assert "'Halal' excludes ['Milk']" in clash
    (needs,) = validate(kitchen("CHEF", VEGAN), KITCHEN)
    assert "CHEF needs categories (oneOrMore)" in needs
    assert validate(kitchen("CHEF", NUT), KITCHEN) == ()


def test_markings_follow_the_spif_qualifiers_and_languages() -> None:
    label = kitchen("PUBLIC", NUT, VEGAN, DAY, SPICY)
    assert display_marking(label, KITCHEN) == "[ Kitchen OPEN Contains Nut Vegan Spicy Day ]"
    assert display_marking(kitchen("STAFF"), KITCHEN, "fr") == "[ Kitchen PERSONNEL ]"
    assert (
        display_marking(kitchen("STAFF", NUT, MILK), KITCHEN)
        == "[ Kitchen STAFF Contains Nut+Milk ]"
    )


def test_access_cases() -> None:
    label = kitchen("STAFF", NUT, MILK, VEGAN, DAY, SPICY)
    everything = SpifClearance(
        KITCHEN.id, frozenset({"PUBLIC", "STAFF"}), frozenset({NUT, MILK, VEGAN, DAY})
    )
    assert access(label, everything, BOTH).permit
    lactose = SpifClearance(
        KITCHEN.id, frozenset({"PUBLIC", "STAFF"}), frozenset({NUT, VEGAN, HALAL, DAY, NIGHT})
    )
    assert access(label, lactose, BOTH).reasons == (Reason.DENY_MISSING_CATEGORY,)
    night = SpifClearance(KITCHEN.id, frozenset({"STAFF"}), frozenset({NUT, MILK, VEGAN, NIGHT}))
    assert access(label, night, BOTH).reasons == (Reason.DENY_MISSING_CATEGORY,)
    public = SpifClearance(KITCHEN.id, frozenset({"PUBLIC"}), frozenset({NUT, MILK, VEGAN, DAY}))
    assert access(label, public, BOTH).reasons == (Reason.DENY_INSUFFICIENT_CLEARANCE,)


def test_translation_both_ways_and_fail_closed() -> None:
    # encrypt on the kitchen side, decrypt on the canteen side, informative dropped
    assert translate(kitchen("STAFF", NUT, SPICY), CANTEEN, BOTH) == PolicyLabel(
        CANTEEN.id, "CREW", frozenset({("Warnings", R, "NUTS")})
    )
    assert translate(kitchen("CHEF", NUT), CANTEEN, BOTH) == PolicyLabel(
        CANTEEN.id, "COOK", frozenset({("Warnings", R, "NUTS")})
    )
    assert translate(kitchen("STAFF", MILK), CANTEEN, BOTH) is None  # Milk has no equivalent
    assert translate(kitchen("STAFF", DAY), CANTEEN, BOTH) is None  # nor has a permissive Day
    # CREW has no way back: the kitchen's STAFF equivalence is applied on encrypt only
    assert translate(PolicyLabel(CANTEEN.id, "CREW"), KITCHEN, BOTH) is None


def test_a_canteen_clearance_sees_a_kitchen_label_through_the_equivalence() -> None:
    crew = SpifClearance(
        CANTEEN.id, frozenset({"ANYONE", "CREW"}), frozenset({("Warnings", R, "NUTS")})
    )
    assert access(kitchen("STAFF", NUT), crew, BOTH).permit
    assert access(kitchen("CHEF", NUT), crew, BOTH).reasons == (Reason.DENY_INSUFFICIENT_CLEARANCE,)
    denied = access(kitchen("STAFF", MILK), crew, BOTH)
    assert denied.reasons == (Reason.DENY_NO_EQUIVALENCE,)
