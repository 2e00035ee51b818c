from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings

from kizuna.cot import CotPolicy, Event, event_to_xml, parse_event
from kizuna.cot._xmlcodec import _time_of, label_xml, parse_time, write_event
from kizuna.errors import ParseError, ValidationError
from kizuna.labels import Label, default_table

from ._strategies import STANAG, events

GOOD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<event version="2.0" uid="A-1" type="a-f-G-U-C" time="2026-01-01T00:00:00Z" '
    b'start="2026-01-01T00:00:00.5Z" stale="2026-01-01T09:05:00+09:00" how="m-g">\n'
    b'  <point lat="35.1" lon="139.5" hae="10" ce="5" le="5"/>\n'
    b"  <detail>\n"
    b'    <contact endpoint="*:-1:stcp" callsign="ALPHA"/>\n'
    b'    <label banner="SECRET//REL TO USA, JPN"/>\n'
    b"  </detail>\n"
    b"</event>"
)


def make(point: str = 'lat="1" lon="2"', times: str = "", detail: str = "") -> bytes:
    times = times or (
        'time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z" stale="2026-01-01T00:01:00Z"'
    )
    return (
        f'<event version="2.0" uid="u" type="a-f-G" how="m-g" {times}>'
        f"<point {point}/>{detail}</event>"
    ).encode()


def test_parses_the_fields_and_the_label() -> None:
    e = parse_event(GOOD)
    assert (e.uid, e.type, e.how) == ("A-1", "a-f-G-U-C", "m-g")
    assert e.start == datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert e.stale == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)  # +09:00 taken into UTC
    assert (e.point.lat, e.point.lon, e.point.hae) == (35.1, 139.5, 10.0)
    assert e.label == Label("USA", "SECRET", frozenset({"USA", "JPN"}))
    assert e.detail == '<contact callsign="ALPHA" endpoint="*:-1:stcp"/>'


def test_canonical_form_is_exact() -> None:
    assert event_to_xml(parse_event(GOOD)) == (
        b'<event version="2.0" uid="A-1" type="a-f-G-U-C" time="2026-01-01T00:00:00.000Z" '
        b'start="2026-01-01T00:00:00.500Z" stale="2026-01-01T00:05:00.000Z" how="m-g">'
        b'<point lat="35.1" lon="139.5" hae="10.0" ce="5.0" le="5.0"/>'
        b'<detail><label banner="SECRET//REL TO USA, JPN"/>'
        b'<contact callsign="ALPHA" endpoint="*:-1:stcp"/></detail></event>'
    )


def test_embedded_stanag_label_is_read() -> None:
    e = parse_event(make(detail=f"<detail>{STANAG}</detail>"))
    assert e.label is not None and e.label.level == "SECRET" and e.label.categories


@settings(max_examples=200, deadline=None)
@given(events())
def test_xml_round_trip(event: Event) -> None:
    assert parse_event(event_to_xml(event)) == event


@settings(max_examples=100, deadline=None)
@given(events())
def test_canonical_form_is_a_fixed_point(event: Event) -> None:
    once = event_to_xml(event)
    assert event_to_xml(parse_event(once)) == once


def test_unknown_detail_kept_only_when_policy_allows() -> None:
    data = make(detail='<detail><remarks>hi</remarks><x-secret a="1"/></detail>')
    assert "x-secret" in parse_event(data).detail
    assert parse_event(data, CotPolicy(keep_unknown=False)).detail == "<remarks>hi</remarks>"


def test_unknown_detail_is_size_bounded() -> None:
    data = make(detail=f'<detail><x-big a="{"x" * 2000}"/></detail>')
    with pytest.raises(ValidationError) as err:
        parse_event(data, CotPolicy(max_unknown_bytes=1000))
    assert err.value.field == "detail"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<event version="2.0" uid="&lol2;" type="a" time="2026-01-01T00:00:00Z"
 start="2026-01-01T00:00:00Z" stale="2026-01-01T00:01:00Z" how="m-g"><point lat="1" lon="2"/>
</event>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<event version="2.0" uid="u" type="a" time="2026-01-01T00:00:00Z" start="2026-01-01T00:00:00Z"
 stale="2026-01-01T00:01:00Z" how="m-g"><point lat="1" lon="2"/><detail><remarks>&x;</remarks>
</detail></event>"""


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (BILLION_LAUGHS, "document type"),
        (EXTERNAL, "document type"),
        (make(detail="<detail><remarks>&ent;</remarks></detail>"), "malformed|entit"),
        (make(detail="<detail>" + "<a>" * 40 + "</a>" * 40 + "</detail>"), "deeper"),
        (make(detail=f"<detail><remarks>{'x' * 70000}</remarks></detail>"), "larger"),
        (make()[:-3], "malformed"),
        (make().replace(b'uid="u"', b'uid="\xff\xfe"'), "malformed"),
        (make().replace(b'uid="u"', b'uid="u\x00"'), "NUL"),
        (b"\x8f\x00garbage" * 10, "NUL|malformed"),
        (b"<notevent/>", "root element"),
    ],
)
def test_bad_xml_is_refused_with_a_reason(data: bytes, match: str) -> None:
    with pytest.raises((ParseError, ValidationError), match=match):
        parse_event(data)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (make('lat="91" lon="0"'), "point.lat"),
        (make('lat="0" lon="-180.5"'), "point.lon"),
        (make('lat="NaN" lon="0"'), "point.lat"),
        (make('lat="1" lon="inf"'), "point.lon"),
        (make('lat="1_0" lon="0"'), "point.lat"),
        (make('lon="0"'), "point.lat"),
        (make('lat="0" lon="0" ce="-1"'), "point.ce"),
        (make('lat="0" lon="0" hae="1e400"'), "point.hae"),
        (
            make(
                times='time="2026-01-01T00:00:00Z" start="2026-01-01T00:10:00Z" '
                'stale="2026-01-01T00:01:00Z"'
            ),
            "stale",
        ),
        (
            make(
                times='time="yesterday" start="2026-01-01T00:10:00Z" stale="2026-01-01T00:11:00Z"'
            ),
            "time",
        ),
        (
            make(
                times='time="2026-02-30T00:00:00Z" start="2026-01-01T00:10:00Z" '
                'stale="2026-01-01T00:11:00Z"'
            ),
            "time",
        ),
        (make().replace(b'type="a-f-G"', b'type="a f"'), "type"),
        (make().replace(b'uid="u" ', b""), "uid"),
        (make().replace(b'uid="u"', b'uid="a&#9;b"'), "uid"),
        (make(detail='<detail><label banner="SECRET//REL TO MARS"/></detail>'), "detail.label"),
        (
            make(detail='<detail><label banner="SECRET"/><label banner="SECRET"/></detail>'),
            "detail.label",
        ),
        (make(detail="<detail/><detail/>"), "event"),
        (make(detail='<point lat="1" lon="1"/>'), "point"),
        (make(detail='<detail><x-ns xmlns:p="urn:p" p:a="1"/></detail>'), "detail"),
    ],
)
def test_invalid_fields_are_named(data: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_event(data)
    assert err.value.field == field


def test_external_entity_content_never_appears() -> None:
    with pytest.raises(ParseError) as err:
        parse_event(EXTERNAL)
    assert "root:" not in str(err.value)


def test_decimal_numbers_with_exponents_are_numbers() -> None:
    e = parse_event(make('lat="1.5e1" lon="-2E-3" hae=".5"'))
    assert (e.point.lat, e.point.lon, e.point.hae) == (15.0, -0.002, 0.5)
    assert not math.isnan(e.point.ce)


@given(events())
@settings(max_examples=60, deadline=None)
def test_a_label_is_written_the_same_whether_remembered_or_not(e: Event) -> None:
    table = default_table()
    inner = (label_xml(e.label, table) if e.label is not None else "") + e.detail
    extra = "".join(
        f' {n}="{v}"' for n, v in (("access", e.access), ("qos", e.qos), ("opex", e.opex)) if v
    )
    if any(c in extra for c in '&<>"\t\n\r'):
        return  # the escaping of these is another test's business
    written = write_event(
        e.uid, e.type, e.how, e.point,
        time=e.time, start=e.start, stale=e.stale, inner=inner, extra=extra,
    )  # fmt: skip
    assert event_to_xml(e) == event_to_xml(e) == event_to_xml(e, table) == written


def test_a_long_text_is_refused_as_a_time_without_being_remembered() -> None:
    longest = "2026-01-01T00:00:00.123456789+09:00"
    assert parse_time(longest, "time") == datetime(2025, 12, 31, 15, 0, 0, 123000, tzinfo=UTC)
    before = _time_of.cache_info().currsize
    for i in range(50):
        with pytest.raises(ValidationError, match="not an ISO 8601 time"):
            parse_time(longest + "0" * (i + 1), "time")
    assert _time_of.cache_info().currsize == before
