"""Hypothesis strategies for CoT events in canonical form."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from kizuna.cot import Event, Point
from kizuna.cot._canon import canonical
from kizuna.labels import default_table, parse_banner
from kizuna.labels import from_xml as label_from_xml

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BANNERS = [
    "UNCLASSIFIED",
    "SECRET//REL TO USA, JPN",
    "JPN GOKUHI//REL TO JPN, USA",
    "TOP SECRET//NOFORN",
    "CONFIDENTIAL//REL TO USA, FVEY",
    "JPN HI",
]
STANAG = (
    '<ConfidentialityLabel xmlns="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">'
    "<ConfidentialityInformation><PolicyIdentifier>USA</PolicyIdentifier>"
    "<Classification>SECRET</Classification>"
    '<Category TagName="Releasable To" Type="PERMISSIVE"><GenericValue>USA</GenericValue>'
    "<GenericValue>JPN</GenericValue></Category>"
    '<Category TagName="SAP" Type="RESTRICTIVE"><GenericValue>KESTREL</GenericValue></Category>'
    "</ConfidentialityInformation></ConfidentialityLabel>"
)

xml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12,
)
names = st.sampled_from(["contact", "__group", "remarks", "track", "x-ext", "archive", "uid"])
attr_names = st.sampled_from(["callsign", "name", "role", "speed", "v", "endpoint"])


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    elem = ET.Element(draw(names), draw(st.dictionaries(attr_names, xml_text, max_size=3)))
    text = draw(xml_text)
    if text.strip():
        elem.text = text
    if depth < 2:
        for child in draw(st.lists(elements(depth + 1), max_size=2)):
            elem.append(child)
    return elem


details = st.lists(elements(), max_size=3).map(lambda els: "".join(canonical(e) for e in els))
labels = st.one_of(
    st.none(),
    st.sampled_from(BANNERS).map(lambda b: parse_banner(b, default_table())),
    st.just(label_from_xml(STANAG)),
)
times = st.integers(0, 4102444800000).map(lambda ms: EPOCH + timedelta(milliseconds=ms))
finite = st.floats(allow_nan=False, allow_infinity=False)
points = st.builds(
    Point,
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    hae=finite,
    ce=st.floats(0, 1e12),
    le=st.floats(0, 1e12),
)
uids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=40,
)
types = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,20}", fullmatch=True)


@st.composite
def events(draw: st.DrawFn) -> Event:
    start = draw(times)
    return Event(
        uid=draw(uids),
        type=draw(types),
        time=draw(times),
        start=start,
        stale=start + timedelta(milliseconds=draw(st.integers(0, 10**9))),
        point=draw(points),
        how=draw(st.sampled_from(["m-g", "h-e", "m-f", ""])),
        detail=draw(details),
        label=draw(labels),
        access=draw(st.sampled_from(["", "Unrestricted"])),
        qos=draw(st.sampled_from(["", "1-r-c"])),
        opex=draw(st.sampled_from(["", "e-demo"])),
    )
