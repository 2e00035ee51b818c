"""The canonical-form reader against the hardened reader: whenever it answers, it builds the
tree the hardened reader builds; it declines everything outside the canonical shape."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna._xml import parse_xml
from kizuna.cot import Event, event_to_xml, parse_event
from kizuna.cot._fast import canonical_tree
from kizuna.cot._xmlcodec import CotPolicy, _event_of
from kizuna.errors import KizunaError
from kizuna.labels import default_table
from tests.cot._strategies import events

Shape = tuple[str, tuple[tuple[str, str], ...], str, str, tuple["Shape", ...]]


def shape(e: ET.Element) -> Shape:
    return (
        e.tag,
        tuple(sorted(e.attrib.items())),
        (e.text or "").strip(),
        (e.tail or "").strip(),
        tuple(shape(c) for c in e),
    )


def plain(e: Event) -> bool:
    return not (e.access or e.qos or e.opex)


@given(events())
@settings(max_examples=200, deadline=None)
def test_a_canonical_event_is_read_the_quick_way_into_the_same_tree(e: Event) -> None:
    data = event_to_xml(e)
    quick = canonical_tree(data)
    if quick is None:  # detail with text, namespaces or non-ASCII, or the optional attributes
        inner = data.partition(b"<detail>")[2].rpartition(b"</detail>")[0]
        simple = b"</" not in inner and b"xmlns" not in inner and b"&" not in data
        assert not (data.isascii() and plain(e) and simple)
        return
    assert shape(quick) == shape(parse_xml(data))
    slow = _event_of(parse_xml(data), CotPolicy(), default_table())
    assert parse_event(data) == slow == e


EDITS = st.lists(
    st.tuples(
        st.integers(0, 400),
        st.sampled_from(["del", "ins", "set"]),
        st.sampled_from(
            [*"<>&\"'= /!?-;\x00\n\t\r", "\u00e9", "&amp;", "&#60;", "<!--", "<!DOCTYPE x>", "a"]
        ),
    ),
    min_size=1,
    max_size=4,
)


def mutate(data: bytes, edits: list[tuple[int, str, str]]) -> bytes:
    b = bytearray(data)
    for at, op, s in edits:
        i = at % (len(b) + 1)
        if op == "del" and i < len(b):
            del b[i]
        elif op == "ins":
            b[i:i] = s.encode()
        elif i < len(b):
            b[i : i + 1] = s.encode()
    return bytes(b)


@given(events(), EDITS)
@settings(max_examples=400, deadline=None)
def test_whatever_the_quick_reader_accepts_the_hardened_reader_reads_alike(
    e: Event, edits: list[tuple[int, str, str]]
) -> None:
    data = mutate(event_to_xml(e), edits)
    quick = canonical_tree(data)
    if quick is None:
        return
    assert shape(quick) == shape(parse_xml(data))


BASE = (
    b'<event version="2.0" uid="u" type="a-f-G" time="2027-01-01T00:00:00.000Z" '
    b'start="2027-01-01T00:00:00.000Z" stale="2027-01-01T00:10:00.000Z" how="m-g">'
    b'<point lat="1.0" lon="2.0" hae="0.0" ce="5.0" le="5.0"/><detail>'
)


@pytest.mark.parametrize(
    "detail",
    [
        b'<contact callsign="a &amp; b"/>',  # a reference
        b"<!-- c --><contact/>",
        b'<contact callsign="x" callsign="y"/>',  # repeated attribute: an error, said slowly
        b'<contact xmlns="urn:x"/>',
        b'<xmlthing a="1"/>',
        b"<remarks>text</remarks>",
        b" <contact/>",
        '<contact callsign="\u00e9"/>'.encode(),
        b'<contact callsign="a\x00"/>',
        b"<contact/",
    ],
)
def test_anything_outside_the_canonical_shape_is_declined(detail: bytes) -> None:
    data = BASE + detail + b"</detail></event>"
    assert canonical_tree(data) is None
    try:
        parsed = parse_event(data)
    except KizunaError:
        return
    assert parsed == _event_of(parse_xml(data), CotPolicy(), default_table())


def test_the_refusals_stay_the_hardened_readers() -> None:
    deep = CotPolicy(max_depth=2)
    data = BASE + b"<contact/></detail></event>"
    with pytest.raises(KizunaError, match="deeper"):
        parse_event(data, deep)
    with pytest.raises(KizunaError, match="elements"):
        parse_event(data, CotPolicy(max_elements=3))
    assert parse_event(data).detail == "<contact/>"
