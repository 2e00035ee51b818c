"""Property: whatever reserved detail a client writes, the node keeps exactly the same event as
for that item with every reserved element and attribute removed (issue 13 item 1)."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.cot import is_reserved, strip_reserved
from kizuna.cot._canon import canonical
from tests.cot._strategies import elements, xml_text

reserved_names = st.sampled_from(["__kizuna", "__kizuna_origin", "__KIZUNA", "__kizunaX"])


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, str, int]:
    """A clean detail, the same detail with reserved names slipped in, and how many."""
    clean = draw(st.lists(elements(), max_size=3))
    dirty = [copy.deepcopy(e) for e in clean]
    root = ET.Element("detail")
    root.extend(dirty)
    added = 0
    for parent in list(root.iter()):
        if parent is not root and draw(st.booleans()):
            parent.set(draw(reserved_names), draw(xml_text))
            added += 1
        if draw(st.booleans()):
            spot = draw(st.integers(0, len(parent)))
            junk = ET.Element(draw(reserved_names), {"origin": "USA", "category": "track"})
            if draw(st.booleans()):
                junk.append(ET.Element("contact", {"callsign": "inside"}))
            parent.insert(spot, junk)
            added += 1
    return (
        "".join(canonical(e) for e in clean),
        "".join(canonical(e) for e in root),
        added,
    )


@settings(max_examples=300, deadline=None)
@given(hostile())
def test_stripping_gives_the_item_without_its_reserved_names(case: tuple[str, str, int]) -> None:
    clean, dirty, added = case
    got, removed = strip_reserved(dirty)
    assert got == clean
    assert removed == added
    assert strip_reserved(got) == (got, 0)


def test_reserved_names_are_recognised_by_local_name_and_case() -> None:
    assert is_reserved("__kizuna") and is_reserved("{urn:x}__Kizuna_cat")
    assert not is_reserved("kizuna") and not is_reserved("_kizuna") and not is_reserved("contact")
