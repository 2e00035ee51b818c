"""CotItemCodec reads each event once: what it hands the guard is what reading the event and
then re-reading its canonical detail gave, and the limits and bad labels still refuse."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from hypothesis import given, settings

from kizuna._xml import parse_xml
from kizuna.cot import CotPolicy, Event, event_to_xml, parse_event
from kizuna.cot._canon import canonical
from kizuna.errors import ParseError
from kizuna.gateway import CotItemCodec, category_of
from kizuna.labels import default_table
from tests.cot._strategies import events

CODEC = CotItemCodec("USA")
HEAD = (
    '<event version="2.0" uid="trk-1" type="a-h-S" time="2026-06-01T12:00:00Z" '
    'start="2026-06-01T12:00:00Z" stale="2026-06-01T12:05:00Z" how="m-g">'
    '<point lat="26.5" lon="127.5" hae="10" ce="25" le="9"/>'
)


def reread(codec: CotItemCodec, data: bytes) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """Origin, category, callsign and detail as read by parsing the canonical detail again:
    the home nation, the type's category, and nothing reserved (``__kizuna*``) kept."""
    event = parse_event(data, codec.policy, codec.table)
    root = parse_xml(f"<detail>{event.detail}</detail>") if event.detail else None
    origin, category, callsign = codec.home, category_of(event.type), ""
    detail = []
    for child in list(root) if root is not None else []:
        if child.tag.rpartition("}")[2].startswith("__kizuna"):
            continue
        for e in child.iter():
            for k in [k for k in e.attrib if k.startswith("__kizuna")]:
                del e.attrib[k]
            for c in [c for c in e if c.tag.rpartition("}")[2].startswith("__kizuna")]:
                e.remove(c)
        if child.tag == "contact":
            callsign = child.get("callsign", "")
        detail.append((child.tag, canonical(child)))
    return origin, category, callsign, tuple(detail)


def read(codec: CotItemCodec, data: bytes) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    item = codec.decode(data)
    return item.origin, item.category, item.callsign, item.detail


@given(events())
@settings(max_examples=60, deadline=None)
def test_decode_gives_what_rereading_the_canonical_detail_gives(e: Event) -> None:
    if e.label is not None and e.label.categories:
        return
    tagged = msgspec.structs.replace(
        e, detail=e.detail + '<__kizuna category="sensor" origin="JPN"/>'
    )
    for ev in (e, tagged):
        data = event_to_xml(ev)
        assert read(CODEC, data) == reread(CODEC, data)


@pytest.mark.parametrize(
    "detail",
    [
        '<detail>\n  <contact  role="x"\tcallsign="HAWK &amp; 1"/>\n'
        "  <remarks>a<b/> tail </remarks>\n</detail>",
        '<detail><x:track xmlns:x="urn:a" speed="3"><x:v>1</x:v></x:track></detail>',
        '<detail><remarks v="a&#9;b&#10;c">x<![CDATA[<y>]]>z&#13;</remarks></detail>',
        '<detail><label banner="SECRET//REL TO USA, JPN"/>'
        '<__kizuna origin="JPN" category="sensor"/><contact callsign=""/></detail>',
        '<detail><contact callsign="A" __kizuna_origin="JPN"/>'
        '<remarks>x<__kizuna category="liaison"/>y</remarks><__kizunax/></detail>',
    ],
)
def test_decode_of_layout_and_namespaces_matches_rereading(detail: str) -> None:
    data = f"{HEAD}{detail}</event>".encode()
    assert read(CODEC, data) == reread(CODEC, data)


def test_a_detail_whose_canonical_form_outgrows_the_size_limit_is_still_refused() -> None:
    codec = CotItemCodec("USA", policy=CotPolicy(max_event_bytes=700))
    data = f'{HEAD}<detail><remarks v="{">" * 200}"/></detail></event>'.encode()
    assert len(data) <= 700  # the event fits; its canonical detail (&gt; for >) does not
    with pytest.raises(ParseError, match="larger than 700 bytes"):
        codec.decode(data)
    small = f'{HEAD}<detail><remarks v="{">" * 20}"/></detail></event>'.encode()
    assert codec.decode(small).detail == (("remarks", f'<remarks v="{"&gt;" * 20}"/>'),)


def test_a_bad_banner_is_refused_every_time_and_a_good_one_reads_the_same() -> None:
    codec = CotItemCodec("USA")
    bad = f'{HEAD}<detail><label banner="SECRET//REL TO USA, XXX"/></detail></event>'.encode()
    for _ in range(2):
        with pytest.raises(ParseError, match="XXX"):
            codec.decode(bad)
    good = f'{HEAD}<detail><label banner="SECRET//REL TO JPN, USA"/></detail></event>'.encode()
    first, second = codec.decode(good), codec.decode(good)
    assert first == second and first.label == "SECRET//REL TO USA, JPN"
    other = CotItemCodec("USA", table=replace(default_table()))
    assert other.decode(good) == first
