from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.cot import (
    Event,
    FramingError,
    Message,
    StreamDecoder,
    WireFormat,
    encode_message,
    event_to_xml,
    frame,
)

from ._strategies import events


def _wire(evs: list[Event], forms: list[bool]) -> tuple[bytes, list[Message]]:
    chunks, expected = [], []
    for event, proto in zip(evs, forms, strict=False):
        if proto:
            payload = encode_message(event)
            chunks.append(frame(payload))
            expected.append(Message(WireFormat.PROTO, payload))
        else:
            xml = event_to_xml(event)
            chunks.append(b"\n" + xml)
            expected.append(Message(WireFormat.XML, xml))
    return b"".join(chunks), expected


@settings(max_examples=100, deadline=None)
@given(st.lists(events(), max_size=5), st.lists(st.booleans(), min_size=5), st.data())
def test_any_chunking_yields_the_same_messages(
    evs: list[Event], forms: list[bool], data: st.DataObject
) -> None:
    wire, expected = _wire(evs, forms)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    decoder = StreamDecoder()
    got: list[Message] = []
    last = 0
    for cut in [*cuts, len(wire)]:
        got += decoder.feed(wire[last:cut])
        last = cut
    assert got == expected
    assert decoder.pending == 0


def test_frame_header_is_magic_then_varint() -> None:
    assert frame(b"x" * 300)[:3] == b"\xbf\xac\x02"


def test_absurd_frame_length_is_refused_before_buffering() -> None:
    decoder = StreamDecoder()
    with pytest.raises(FramingError, match="exceeds"):
        decoder.feed(b"\xbf\xff\xff\xff\xff\xff\xff\xff\xff\x7f")


def test_overlong_varint_is_refused() -> None:
    with pytest.raises(FramingError, match="ten bytes"):
        StreamDecoder().feed(b"\xbf" + b"\xff" * 12)


def test_garbage_is_refused() -> None:
    with pytest.raises(FramingError, match="0x8f"):
        StreamDecoder().feed(b"\x8fhello")


def test_xml_without_end_is_bounded() -> None:
    decoder = StreamDecoder(max_message_bytes=1024)
    decoder.feed(b"<event " + b"a" * 1000)
    with pytest.raises(FramingError, match="without </event>"):
        decoder.feed(b"b" * 100)


def test_partial_message_is_held() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b"<event>") == []
    assert decoder.pending == 7
    assert decoder.feed(b"</event>") == [Message(WireFormat.XML, b"<event></event>")]
