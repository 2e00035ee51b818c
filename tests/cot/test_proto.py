from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from takproto.proto import TakMessage as PeerMessage

from kizuna.cot import (
    Event,
    TakControl,
    TakMessage,
    decode_message,
    encode_message,
    event_to_xml,
    parse_event,
)
from kizuna.errors import ParseError, ValidationError

from ._strategies import EPOCH, events
from .test_xml import GOOD


@settings(max_examples=200, deadline=None)
@given(events())
def test_protobuf_round_trip(event: Event) -> None:
    assert decode_message(encode_message(event)).event == event


@settings(max_examples=100, deadline=None)
@given(events())
def test_protobuf_and_xml_carry_the_same_event(event: Event) -> None:
    via_proto = decode_message(encode_message(parse_event(event_to_xml(event)))).event
    assert via_proto is not None
    assert event_to_xml(via_proto) == event_to_xml(event)


@settings(max_examples=100, deadline=None)
@given(events())
def test_the_protobuf_library_reads_what_we_write(event: Event) -> None:
    peer = PeerMessage()
    peer.ParseFromString(encode_message(event))
    c = peer.cotEvent
    assert (c.uid, c.type, c.how) == (event.uid, event.type, event.how)
    assert c.sendTime == (event.time - EPOCH) // timedelta(milliseconds=1)
    assert c.staleTime == (event.stale - EPOCH) // timedelta(milliseconds=1)
    assert (c.lat, c.lon, c.hae) == (event.point.lat, event.point.lon, event.point.hae)
    assert c.detail.xmlDetail.endswith(event.detail)


def test_structured_detail_fields_from_a_peer_become_elements() -> None:
    peer = PeerMessage()
    peer.ParseFromString(encode_message(parse_event(GOOD)))
    peer.cotEvent.detail.xmlDetail = '<label banner="UNCLASSIFIED"/>'
    peer.cotEvent.detail.contact.callsign = "BRAVO"
    peer.cotEvent.detail.group.name = "Cyan"
    peer.cotEvent.detail.status.battery = 88
    peer.cotEvent.detail.track.speed = 3.5
    peer.cotEvent.detail.takv.platform = "ATAK-CIV"
    event = decode_message(peer.SerializeToString()).event
    assert event is not None
    assert event.detail == (
        '<contact callsign="BRAVO"/><__group name="Cyan"/><takv platform="ATAK-CIV"/>'
        '<status battery="88"/><track course="0.0" speed="3.5"/>'
    )
    assert event.label is not None and not event.label.classified


def test_control_message_round_trips() -> None:
    msg = TakMessage(control=TakControl(1, 1, "ANDROID-1"))
    assert decode_message(encode_message(msg)) == msg
    peer = PeerMessage()
    peer.ParseFromString(encode_message(msg))
    assert peer.takControl.contactUid == "ANDROID-1"


def test_unknown_fields_are_skipped() -> None:
    payload = encode_message(parse_event(GOOD)) + b"\xa0\x06\x01"  # field 100, varint 1
    assert decode_message(payload).event == parse_event(GOOD)


@pytest.mark.parametrize(
    "payload",
    [
        b"\x12\x05abc",  # length past the end
        b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # an eleven-byte varint
        b"\x13",  # wire type 3 (group)
        b"\x00\x01",  # field number 0
        b"\x12\x03\x2a\x01\xff",  # uid that is not UTF-8
        b"\x10\x01",  # cotEvent as a varint
    ],
)
def test_malformed_protobuf_is_a_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        decode_message(payload)


def test_protobuf_values_are_validated_like_xml() -> None:
    peer = PeerMessage()
    peer.ParseFromString(encode_message(parse_event(GOOD)))
    peer.cotEvent.lat = float("nan")
    with pytest.raises(ValidationError) as err:
        decode_message(peer.SerializeToString())
    assert err.value.field == "point.lat"


def test_protobuf_detail_xml_is_hardened() -> None:
    peer = PeerMessage()
    peer.ParseFromString(encode_message(parse_event(GOOD)))
    peer.cotEvent.detail.xmlDetail = '<!DOCTYPE x [<!ENTITY a "b">]><remarks>&a;</remarks>'
    with pytest.raises(ParseError):
        decode_message(peer.SerializeToString())
