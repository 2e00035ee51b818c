"""The CoT XML codec: strict parsing through the hardened reader, canonical output."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from kizuna._xml import parse_xml
from kizuna.cot._canon import attr, canonical
from kizuna.cot._fast import canonical_tree, element_count
from kizuna.cot._model import Event, Point
from kizuna.errors import ParseError, ValidationError
from kizuna.labels import (
    STANAG_4774_NS,
    Label,
    PolicyTable,
    default_table,
    format_banner,
    parse_banner,
)
from kizuna.labels import from_element as label_from_element
from kizuna.labels import to_element as label_to_element

__all__ = [
    "KNOWN_DETAIL",
    "CotPolicy",
    "event_to_xml",
    "format_time",
    "label_xml",
    "parse_event",
    "parse_event_children",
    "parse_time",
    "read_detail",
    "write_event",
]

KNOWN_DETAIL = frozenset(
    {
        "contact", "__group", "precisionlocation", "status", "takv", "track", "remarks",
        "link", "usericon", "color", "uid", "_flow-tags_", "archive", "strokeColor",
        "strokeWeight", "fillColor", "labels_on", "height", "shape", "__chat", "chatgrp",
        "marti", "dest", "sensor", "emergency", "__video", "fileshare", "ackrequest",
        "__serverdestination", "creator", "__geofence", "bullseye", "TakControl",
    }
)  # fmt: skip
_LABEL = "label"
_STANAG = f"{{{STANAG_4774_NS}}}ConfidentialityLabel"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?\Z")
_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)?\Z"
)
_TIME_MAX = 35  # the longest text _TIME can match: date, time, nine digits and an offset
_EVENT_ATTRS = ("version", "uid", "type", "time", "start", "stale", "how")
_POINT_ATTRS = ("lat", "lon", "hae", "ce", "le")
BannerReader = Callable[[str, PolicyTable], Label]


@dataclass(frozen=True, slots=True)
class CotPolicy:
    """What the node accepts: sizes, depth, and which detail elements it keeps.

    Detail elements outside ``known`` are kept as opaque XML only when ``keep_unknown``
    is set, and then only up to ``max_unknown_bytes`` per event; otherwise they are dropped.
    """

    max_event_bytes: int = 64 * 1024
    max_depth: int = 16
    max_elements: int = 1024
    keep_unknown: bool = True
    max_unknown_bytes: int = 8 * 1024
    known: frozenset[str] = field(default=KNOWN_DETAIL)

    def reads_canonical(self, size: int) -> bool:
        """Whether a canonical event of ``size`` bytes may skip the general reader: it fits,
        and the depth limit admits its three levels (event, detail, child)."""
        return size <= self.max_event_bytes and self.max_depth >= 3


def parse_time(value: str, name: str) -> datetime:
    """An xs:dateTime as CoT writes it; no offset means UTC; kept to the millisecond."""
    # Only what could be a time is remembered: a longer text, which cannot match, must not
    # let a sender fill the memory with its own strings.
    got = _time_of(value) if len(value) <= _TIME_MAX else _time_of.__wrapped__(value)
    if isinstance(got, str):
        raise ValidationError(got, field=name)
    return got


# Times repeat: every event of a scan, and an event's time, start and often stale, carry the
# same few stamps. Both conversions are pure, so they are remembered (errors included).
@lru_cache(maxsize=4096)
def _time_of(value: str) -> datetime | str:
    m = _TIME.match(value)
    if not m:
        return f"{value[:40]!r} is not an ISO 8601 time"
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((frac or "0")[:3].ljust(3, "0")) * 1000,
            tzinfo=UTC if zone in (None, "Z") else datetime.strptime(zone, "%z").tzinfo,
        )  # fmt: skip
    except ValueError as exc:
        return f"{value[:40]!r} is not a valid time: {exc}"
    return stamp.astimezone(UTC)


def format_time(value: datetime) -> str:
    # equal datetimes in other zones hash alike, so only UTC ones are remembered
    return _utc_text(value) if value.tzinfo is UTC else _text(value)


def _text(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_utc_text = lru_cache(maxsize=4096)(_text)


def _number(value: str | None, name: str, default: float | None = None) -> float:
    if value is None:
        if default is None:
            raise ValidationError("is required", field=name)
        return default
    value = value.strip()
    if not _NUMBER.match(value):
        raise ValidationError(f"{value[:40]!r} is not a decimal number", field=name)
    return float(value)


def _label_of(elem: ET.Element, table: PolicyTable, banners: BannerReader) -> Label:
    try:
        if elem.tag == _STANAG:
            return label_from_element(elem, table)
        banner = elem.get("banner")
        inner = list(elem)
        if banner is not None and not inner:
            return banners(banner, table)
        if banner is None and len(inner) == 1 and inner[0].tag == _STANAG:
            return label_from_element(inner[0], table)
    except ParseError as exc:
        raise ValidationError(str(exc), field="detail.label") from exc
    raise ValidationError("needs a banner or one STANAG 4774 label", field="detail.label")


def read_detail(
    detail: ET.Element | None, policy: CotPolicy, table: PolicyTable
) -> tuple[str, Label | None]:
    """Split a <detail> into canonical XML of its children and the label it carries."""
    parts, _, label = _read_detail(detail, policy, table, parse_banner)
    return "".join(parts), label


def _read_detail(
    detail: ET.Element | None, policy: CotPolicy, table: PolicyTable, banners: BannerReader
) -> tuple[list[str], list[tuple[ET.Element, str]], Label | None]:
    """The canonical XML of each kept child, each kept child with it, and the label."""
    if detail is None:
        return [], [], None
    label: Label | None = None
    parts: list[str] = []
    kept: list[tuple[ET.Element, str]] = []
    unknown = 0
    for child in detail:
        if child.tag in (_LABEL, _STANAG):
            if label is not None:
                raise ValidationError("carries more than one label", field="detail.label")
            label = _label_of(child, table, banners)
            continue
        xml = canonical(child)
        if child.tag not in policy.known:
            if not policy.keep_unknown:
                continue
            unknown += len(xml)
            if unknown > policy.max_unknown_bytes:
                raise ValidationError(
                    f"unknown elements exceed {policy.max_unknown_bytes} bytes", field="detail"
                )
        parts.append(xml)
        kept.append((child, xml))
    return parts, kept, label


def _event_of(root: ET.Element, policy: CotPolicy, table: PolicyTable) -> Event:
    return _event_and_children(root, policy, table, parse_banner)[0]


def _event_and_children(
    root: ET.Element, policy: CotPolicy, table: PolicyTable, banners: BannerReader
) -> tuple[Event, list[tuple[ET.Element, str]]]:
    if root.tag != "event":
        raise ParseError(f"root element is {root.tag[:40]!r}, not 'event'")
    a = root.attrib
    for name in _EVENT_ATTRS[1:]:
        if name not in a:
            raise ValidationError("is required", field=name)
    points = [c for c in root if c.tag == "point"]
    details = [c for c in root if c.tag == "detail"]
    others = [c.tag for c in root if c.tag not in ("point", "detail")]
    if len(points) != 1:
        raise ValidationError(f"an event needs one point, found {len(points)}", field="point")
    if len(details) > 1 or others:
        raise ValidationError("an event holds one point and at most one detail", field="event")
    p = points[0].attrib
    point = Point(
        _number(p.get("lat"), "point.lat"),
        _number(p.get("lon"), "point.lon"),
        *(_number(p.get(n), f"point.{n}", 9999999.0) for n in _POINT_ATTRS[2:]),
    )
    parts, kept, label = _read_detail(details[0] if details else None, policy, table, banners)
    # start is often the event time itself: the same text reads as the same time
    time = parse_time(a["time"], "time")
    start = time if a["start"] == a["time"] else parse_time(a["start"], "start")
    event = Event(
        uid=a["uid"],
        type=a["type"],
        time=time,
        start=start,
        stale=parse_time(a["stale"], "stale"),
        point=point,
        how=a["how"],
        detail="".join(parts),
        label=label,
        access=a.get("access", ""),
        qos=a.get("qos", ""),
        opex=a.get("opex", ""),
        caveat=a.get("caveat", ""),
        releasable_to=_releasable_to(a),
    )
    return event, kept


def _releasable_to(a: dict[str, str]) -> str:
    """TAK Server writes ``releaseableTo``; the spelling in its documents is also read."""
    written, spelt = a.get("releaseableTo"), a.get("releasableTo")
    if written is not None and spelt is not None and written != spelt:
        raise ValidationError("releaseableTo and releasableTo disagree", field="releasable_to")
    return written if written is not None else spelt or ""


def parse_event(
    data: bytes | str, policy: CotPolicy | None = None, table: PolicyTable | None = None
) -> Event:
    """Parse one CoT <event>; ParseError for bad XML, ValidationError naming a bad field."""
    policy = policy or _DEFAULT_POLICY
    return _event_of(_read(data, policy), policy, table or default_table())


def parse_event_children(
    data: bytes | str,
    policy: CotPolicy,
    table: PolicyTable,
    banners: BannerReader = parse_banner,
) -> tuple[Event, list[tuple[ET.Element, str]]]:
    """``parse_event`` that also hands back each detail child it kept (label excluded) with
    its canonical XML, so that a caller needing the elements need not parse ``event.detail``
    a second time. ``banners`` reads a banner label as ``parse_banner`` does (a cache of it)."""
    return _event_and_children(_read(data, policy), policy, table, banners)


def _read(data: bytes | str, policy: CotPolicy) -> ET.Element:
    """The event's element tree: canonical events the quick way, all others (and every
    refusal) through the hardened reader."""
    if isinstance(data, bytes) and policy.reads_canonical(len(data)):
        root = canonical_tree(data)
        if root is not None and element_count(root) <= policy.max_elements:
            return root
    return parse_xml(
        data,
        max_bytes=policy.max_event_bytes,
        max_depth=policy.max_depth,
        max_elements=policy.max_elements,
    )


def label_xml(label: Label, table: PolicyTable) -> str:
    """A label as a detail child: the banner when it has one, else STANAG 4774 XML."""
    if not label.categories and (label.rel_to is None or label.rel_to):
        return f'<label banner="{attr(format_banner(label, table))}"/>'
    return canonical(label_to_element(label, table))


# Labels repeat (a sensor's tracks share one) and are frozen values: under the shipped table,
# each one's XML is written once.
@lru_cache(maxsize=1024)
def _default_label_xml(label: Label) -> str:
    return label_xml(label, default_table())


def event_to_xml(event: Event, table: PolicyTable | None = None) -> bytes:
    """The canonical XML form: fixed attribute order, shortest round-trip numbers."""
    e = event
    extra = ""
    if e.access or e.qos or e.opex or e.caveat or e.releasable_to:
        extra = "".join(
            f' {n}="{attr(v)}"'
            for n, v in (
                ("access", e.access),
                ("qos", e.qos),
                ("opex", e.opex),
                ("caveat", e.caveat),
                ("releaseableTo", e.releasable_to),
            )
            if v
        )
    inner = e.detail
    if e.label is not None:
        if table is None or table is default_table():
            inner = _default_label_xml(e.label) + inner
        else:
            inner = label_xml(e.label, table) + inner
    return write_event(
        e.uid, e.type, e.how, e.point,
        time=e.time, start=e.start, stale=e.stale, inner=inner, extra=extra,
    )  # fmt: skip


def write_event(
    uid: str,
    type_: str,
    how: str,
    p: Point,
    *,
    time: datetime,
    start: datetime,
    stale: datetime,
    inner: str,
    extra: str = "",
) -> bytes:
    """``event_to_xml`` from the fields themselves: ``inner`` is the detail's canonical
    content (label first), ``extra`` the optional attributes as written. Nothing is checked,
    but every text is escaped."""
    time_s = format_time(time)
    start_s = time_s if start == time else format_time(start)  # both UTC: same text
    detail = f"<detail>{inner}</detail>" if inner else ""
    return (
        f'<event version="2.0" uid="{attr(uid)}" type="{attr(type_)}" time="{time_s}" '
        f'start="{start_s}" stale="{format_time(stale)}" how="{attr(how)}"{extra}>'
        f'<point lat="{p.lat!r}" lon="{p.lon!r}" hae="{p.hae!r}" ce="{p.ce!r}" le="{p.le!r}"/>'
        f"{detail}</event>"
    ).encode()


_DEFAULT_POLICY = CotPolicy()
