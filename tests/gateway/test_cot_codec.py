"""The guard over CoT XML through kizuna.cot: strict parse, canonical output, sanitisation."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.cot import Event, Point, event_to_xml, parse_event
from kizuna.errors import ParseError
from kizuna.gateway import (
    CotItemCodec,
    GuardReason,
    Item,
    Outcome,
    Work,
    category_of,
    load_rules,
)
from kizuna.gateway import outbound_guard as make_guard
from kizuna.labels import Category, CategoryType, Decider, parse_banner
from kizuna.roadmap import Tier, load_catalogue
from tests.cot._strategies import events
from tests.cot.test_fast import EDITS, mutate

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
JST = timezone(timedelta(hours=9))
CODEC = CotItemCodec("USA")
GUARD = make_guard("USA", CODEC, Decider(), load_catalogue().tiers, load_rules())


def cot(label: str = "SECRET//REL TO USA, JPN", type_: str = "a-h-S", extra: str = "") -> bytes:
    detail = (
        f'<label banner="{label}"/><contact callsign="HAWK 1"/>'
        f'<sensor fov="30" model="APY-10"/><remarks>from P-8A</remarks>{extra}'
    )
    return (
        f'<event version="2.0" uid="trk-1" type="{type_}" time="2026-06-01T12:00:00.000Z" '
        f'start="2026-06-01T12:00:00.000Z" stale="2026-06-01T12:05:00.000Z" how="m-g">'
        f'<point lat="26.2123456" lon="127.6789012" hae="10.0" ce="25.0" le="9.0"/>'
        f"<detail>{detail}</detail></event>"
    ).encode()


def test_a_cot_event_passes_the_guard_and_leaves_canonical() -> None:
    v = GUARD.run(Work(cot(), "JPN", Tier.T2, T))
    assert v.outcome is Outcome.RELEASE
    out = parse_event(v.work.out)
    assert out.label == parse_banner("SECRET//REL TO USA, JPN", Decider().table)
    assert "__kizuna" not in out.detail and 'callsign="HAWK 1"' in out.detail
    assert v.work.item is not None and v.work.item.origin == "USA"
    assert CODEC.decode(v.work.out) == v.work.item


def test_a_sanitised_cot_sensor_report_loses_its_callsign_and_is_coarsened() -> None:
    sensor = cot(type_="b-d-r")  # a detection: a sensor report by its type
    v = GUARD.run(Work(sensor, "JPN", Tier.T2, T))
    assert v.outcome is Outcome.SANITISE and v.work.rule is not None
    out = parse_event(v.work.out)
    assert "contact" not in out.detail and "<sensor" not in out.detail
    assert "remarks" in out.detail  # not named by the rule, so kept
    assert out.point.ce == 5000.0 and out.point.lat != 26.2123456


def test_categories_come_from_the_cot_type_alone() -> None:
    assert [category_of(t) for t in ("a-f-G", "b-m-p", "t-x-c", "u-d-r", "b-t-f")] == [
        "track", "picture", "plan", "plan", "liaison",
    ]  # fmt: skip
    plan = GUARD.run(Work(cot(type_="t-x-c"), "JPN", Tier.T3, T))
    assert plan.outcome is Outcome.HOLD
    claimed = cot(type_="t-x-c", extra='<__kizuna category="track" origin="USA"/>')
    assert CODEC.decode(claimed) == CODEC.decode(cot(type_="t-x-c"))
    assert GUARD.run(Work(claimed, "JPN", Tier.T3, T)).outcome is Outcome.HOLD
    fresh = CotItemCodec("USA")
    fresh.decode(claimed)
    fresh.decode(cot(extra='<contact callsign="A" __kizuna_origin="JPN"/>'))
    assert fresh.reserved_stripped == 2  # counted where they were met


def test_hostile_or_broken_cot_is_denied_at_the_strict_parse() -> None:
    bombs = [
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa">]><event>&a;</event>',
        b"<event",
        cot().replace(b'lat="26.2123456"', b'lat="95"'),
        cot().replace(b'lat="26.2123456"', b'lat="nan"'),
        cot().replace(b"2026-06-01T12:05", b"2026-06-01T11:05"),  # stale before start
        b"<event>" + b"<a>" * 100 + b"</a>" * 100 + b"</event>",
        cot() + b"\x00",
    ]
    for data in bombs:
        v = GUARD.run(Work(data, "JPN", Tier.T2, T))
        assert v.outcome is Outcome.DENY and v.reasons == (GuardReason.DENY_PARSE,), data[:60]


@given(events())
@settings(max_examples=80, deadline=None)
def test_any_event_the_node_accepts_reads_back_unchanged_or_is_refused(e: Event) -> None:
    if e.label is not None and e.label.categories:
        with pytest.raises(ParseError, match="categories"):
            CODEC.decode(event_to_xml(e))
        return
    item = CODEC.decode(event_to_xml(e))
    assert CODEC.decode(CODEC.encode(item)) == item
    again = parse_event(CODEC.encode(item))
    assert CODEC.event_of(item) == again  # what the partner's node is handed is what it reads
    assert (again.uid, again.type, again.point, again.label) == (e.uid, e.type, e.point, e.label)


def test_a_label_with_categories_never_crosses() -> None:
    e = parse_event(cot())
    cat = Category("SAP", CategoryType.RESTRICTIVE, frozenset({"KESTREL"}))
    assert e.label is not None
    with_cat = msgspec.structs.replace(e, label=replace(e.label, categories=frozenset({cat})))
    v = GUARD.run(Work(event_to_xml(with_cat), "JPN", Tier.T3, T))
    assert v.outcome is Outcome.DENY and v.reasons == (GuardReason.DENY_PARSE,)
    assert "categories" in v.error


def test_the_bytes_never_say_the_origin() -> None:
    jpn = CotItemCodec("JPN")
    item = msgspec.structs.replace(CODEC.decode(cot()), time=T, stale=T + timedelta(minutes=5))
    assert b"__kizuna" not in CODEC.encode(item)
    assert jpn.decode(CODEC.encode(item)).origin == "JPN"  # the codec's home: the guard
    assert jpn.decode(cot(extra='<__kizuna origin="USA"/>')).origin == "JPN"  # sets the rest


SIMPLE_DETAILS = st.sampled_from(
    [
        None,  # the event's own detail
        "",
        '<contact callsign="A1"/>',
        '<__kizuna category="plan" origin="JPN"/>',
        '<contact callsign="B"/><__kizuna category="track" origin="USA"/>',
        '<track course="1.0" speed="2.0"/><__kizuna origin="KOR"/>',
    ]
)


@given(events(), events(), SIMPLE_DETAILS, st.sampled_from(["USA", "JPN"]), EDITS)
@settings(max_examples=300, deadline=None)
def test_the_quick_read_of_a_known_detail_gives_exactly_the_full_reads_item(
    first: Event,
    second: Event,
    detail: str | None,
    home: str,
    edits: list[tuple[int, str, str]],
) -> None:
    codec = CotItemCodec(home)
    if detail is not None:
        first = msgspec.structs.replace(first, detail=detail)
    with contextlib.suppress(ParseError):
        codec.decode(event_to_xml(first))  # learns first's detail, if it reads at all
    same_detail = msgspec.structs.replace(
        second, detail=first.detail, label=first.label, type=first.type
    )
    for data in (event_to_xml(same_detail), mutate(event_to_xml(same_detail), edits)):
        try:
            full: Item | str = codec._decode(data)
        except ParseError as exc:
            full = str(exc)
        try:  # a detail it has not seen is read the full way, refusal and all
            quick: Item | str | None = codec._quick(data)
        except ParseError as exc:
            quick = str(exc)
        assert quick is None or quick == full


@given(events(), events(), SIMPLE_DETAILS, st.sampled_from(["USA", "JPN"]))
@settings(max_examples=200, deadline=None)
def test_writing_an_item_whose_detail_was_written_before_gives_the_same_bytes(
    first: Event, second: Event, detail: str | None, home: str
) -> None:
    codec = CotItemCodec(home)
    if detail is not None:
        first = msgspec.structs.replace(first, detail=detail)
    try:
        a = codec.decode(event_to_xml(first))
    except ParseError:
        return
    b = msgspec.structs.replace(
        a, uid=second.uid, type=second.type, time=second.time, start=second.start,
        stale=second.stale, how=second.how, lat=second.point.lat, lon=second.point.lon,
        hae=second.point.hae, ce=second.point.ce, le=second.point.le,
    )  # fmt: skip
    for it in (a, b, a):  # the second write of each is the remembered way
        assert codec.encode(it) == event_to_xml(codec.event_of(it), codec.table)
    for bad in ({"lat": float("nan")}, {"type": 'a" x="'}, {"time": b.time.astimezone(JST)}):
        with pytest.raises(ParseError):  # the remembered way checks what an event would
            codec.encode(msgspec.structs.replace(b, **bad))  # type: ignore[arg-type]


def test_an_unknown_detail_is_refused_by_the_quick_read_as_by_the_full_one() -> None:
    codec = CotItemCodec("USA")
    e = Event("trk-1", "a-h-S", T, T, T, Point(26.2, 127.6), label=parse_banner("SECRET//NOFORN"))
    known = event_to_xml(e)
    codec.decode(known)  # its detail is remembered
    bad = known.replace(b'banner="SECRET', b'banner="ECRET')
    with pytest.raises(ParseError) as full:
        codec._decode(bad)
    with pytest.raises(ParseError) as quick:
        codec._quick(bad)
    assert str(quick.value) == str(full.value)


def test_a_big_detail_is_read_and_written_alike_but_not_remembered() -> None:
    codec = CotItemCodec("USA")
    big = "".join(f'<sensor model="M{i:04d}" fov="{"x" * 40}"/>' for i in range(90))
    e = Event("trk-1", "a-h-S", T, T, T, Point(26.2, 127.6), detail=big,
              label=parse_banner("SECRET//NOFORN"))  # fmt: skip
    data = event_to_xml(e)
    first, again = codec.decode(data), codec.decode(data)
    assert first == again == codec._decode(data)
    assert codec.encode(first) == codec.encode(again)
    assert not codec._details and not codec._inner
