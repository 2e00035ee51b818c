"""TAK Server's label attributes (access, caveat, releaseableTo) in both codecs (issue 23)."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from takproto.proto import TakMessage as PeerMessage

from kizuna.cot import Event, decode_message, encode_message, event_to_xml, parse_event
from kizuna.errors import ValidationError

from ._strategies import events
from .test_xml import GOOD

LABEL_TEXT = st.sampled_from(["", "SECRET", "NOFORN", "USA,JPN", "USA, AUS, FVEY", "秘"])


@st.composite
def labelled(draw: st.DrawFn) -> Event:
    return msgspec.structs.replace(
        draw(events()),
        access=draw(LABEL_TEXT),
        caveat=draw(LABEL_TEXT),
        releasable_to=draw(LABEL_TEXT),
    )


@settings(max_examples=150, deadline=None)
@given(labelled())
def test_the_label_attributes_round_trip_through_both_codecs(event: Event) -> None:
    assert parse_event(event_to_xml(event)) == event
    assert decode_message(encode_message(event)).event == event
    via_proto = decode_message(encode_message(parse_event(event_to_xml(event)))).event
    assert via_proto == event


def test_tak_fields_16_and_17_are_caveat_and_releaseable_to() -> None:
    event = msgspec.structs.replace(
        parse_event(GOOD), access="SECRET", caveat="NOFORN", releasable_to="USA"
    )
    wire = encode_message(event)
    assert b"\x82\x01\x06NOFORN" in wire  # field 16, wire type 2: 16 << 3 | 2 = 0x82 0x01
    assert b"\x8a\x01\x03USA" in wire  # field 17
    peer = PeerMessage()
    peer.ParseFromString(wire)
    # takproto (ATAK's public proto) predates the two fields: it keeps them as unknown
    # fields, and a TAK Server reads them as caveat and releaseableTo.
    assert peer.cotEvent.access == "SECRET"


def test_xml_writes_releaseable_to_and_reads_both_spellings() -> None:
    event = msgspec.structs.replace(parse_event(GOOD), caveat="NOFORN", releasable_to="USA")
    xml = event_to_xml(event)
    assert b' caveat="NOFORN" releaseableTo="USA"' in xml
    spelt = xml.replace(b"releaseableTo=", b"releasableTo=")
    assert parse_event(spelt) == event
    both = xml.replace(b' releaseableTo="USA"', b' releaseableTo="USA" releasableTo="JPN"')
    with pytest.raises(ValidationError, match="disagree"):
        parse_event(both)


def test_a_control_character_in_caveat_is_refused() -> None:
    with pytest.raises(ValidationError, match="caveat"):
        msgspec.structs.replace(parse_event(GOOD), caveat="NO\x07FORN")
    with pytest.raises(ValidationError, match="releasable_to"):
        msgspec.structs.replace(parse_event(GOOD), releasable_to="x" * 300)
