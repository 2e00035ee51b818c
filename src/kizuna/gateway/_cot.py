"""CoT XML as the guard's item: strict parsing and canonical output through ``kizuna.cot``.

Two things the guard needs are not CoT fields: the originating nation and the item's
category. Neither is ever read from the event. The category is the CoT type's, through the
table in ``kizuna.cot`` (``category_of``); the origin is the home nation's here (the node
feed offers only our nation's records), and the guard sets it from the signed envelope's
sender for what a partner sends. Between gateways such metadata travels in the signed
envelope, never in the CoT detail.

Every detail element or attribute whose name starts with ``__kizuna`` is reserved for what
the node or gateway itself writes: it is stripped on decode, at any depth, and never written
into the bytes the guard releases. So nothing a client puts in its own event can steer the
guard, and what the guard releases is what the same event without those names would give.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from kizuna.cot import CategoryTable, CotPolicy, Event, Point, category_of, default_categories
from kizuna.cot._canon import canonical
from kizuna.cot._fast import canonical_parts
from kizuna.cot._model import check_event, check_point
from kizuna.cot._xmlcodec import (
    label_xml,
    parse_event_children,
    parse_time,
    write_event,
)
from kizuna.errors import ParseError, ValidationError
from kizuna.gateway._item import Item
from kizuna.labels import Label, PolicyTable, default_table, format_banner, parse_banner

__all__ = ["CotItemCodec", "category_of"]

RESERVED = "__kizuna"  # the prefix of every detail element or attribute name we write


def _reserved(name: str) -> bool:
    return name.rpartition("}")[2].startswith(RESERVED)


def _has_reserved(elem: ET.Element) -> bool:
    return any(_reserved(e.tag) or any(_reserved(k) for k in e.attrib) for e in elem.iter())


def _without_reserved(elem: ET.Element) -> ET.Element:
    """A copy of ``elem`` with every reserved child (at any depth) and attribute left out."""
    out = ET.Element(elem.tag, {k: v for k, v in elem.attrib.items() if not _reserved(k)})
    out.text = elem.text
    for child in elem:
        if _reserved(child.tag):
            continue
        kept = _without_reserved(child)
        kept.tail = child.tail
        out.append(kept)
    return out


class _Banners:
    """``parse_banner`` and ``format_banner`` for one table, remembered: the banners an
    exercise carries are few and repeat, and labels are frozen values. Only successful
    parses are kept, so a bad banner fails each time exactly as it would uncached."""

    _MAX = 4096

    def __init__(self, table: PolicyTable) -> None:
        self.table = table
        self._labels: dict[str, Label] = {}
        self._texts: dict[Label, str] = {}

    def parse(self, text: str, table: PolicyTable) -> Label:
        if table is not self.table:
            return parse_banner(text, table)
        label = self._labels.get(text)
        if label is None:
            label = parse_banner(text, table)
            if len(self._labels) >= self._MAX:
                self._labels.clear()
            self._labels[text] = label
        return label

    def format(self, label: Label) -> str:
        text = self._texts.get(label)
        if text is None:
            text = format_banner(label, self.table)
            if len(self._texts) >= self._MAX:
                self._texts.clear()
            self._texts[label] = text
        return text


_Detail = tuple[str, tuple[tuple[str, str], ...], str]


class CotItemCodec:
    """``home``: the nation of the node this gateway stands beside; every item this codec
    reads is given that origin (the guard sets an inbound item's origin from its envelope).
    ``categories``: the CoT type table (the shipped one by default)."""

    _MAX_DETAILS = 4096
    _MAX_DETAIL_TEXT = 4096  # characters of detail worth remembering; longer ones are read anew

    def __init__(
        self,
        home: str,
        table: PolicyTable | None = None,
        policy: CotPolicy | None = None,
        categories: CategoryTable | None = None,
    ) -> None:
        self.home = home
        self.table = table or default_table()
        self.policy = policy or CotPolicy()
        self.categories = categories or default_categories()
        self._banners = _Banners(self.table)
        self._details: dict[str | None, _Detail] = {}
        self._inner: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        # reserved names met in what was read (a detail read once counts once): a number an
        # operator can watch, and no per-item log line a sender could use to fill a disk
        self.reserved_stripped = 0

    def decode(self, data: bytes) -> Item:
        quick = self._quick(data)
        return quick if quick is not None else self._decode(data)

    def _quick(self, data: bytes) -> Item | None:
        """The item ``_decode`` gives, for a canonical event whose detail this codec has
        read before; None to go the full way, which also gives every refusal its reason.

        Everything the full way takes from the detail (callsign, label, the kept children,
        the size and label checks) depends on the detail's text alone, so it is remembered
        by it; the attributes are checked afresh each time by the same constructors."""
        if not self.policy.reads_canonical(len(data)):
            return None
        parts = canonical_parts(data)
        if parts is None:
            return None
        (uid, type_, time_s, start_s, stale_s, how, lat, lon, hae, ce, le), detail = parts
        known = self._details.get(detail)
        if known is None:
            item = self._decode(data)
            known = (item.callsign, item.detail, item.label)
            self._remember(self._details, detail, known, len(detail or ""))
            return item
        callsign, kept, label = known
        try:
            x, y, h, c, e = float(lat), float(lon), float(hae), float(ce), float(le)
            check_point(x, y, h, c, e)
            time = parse_time(time_s, "time")
            start = time if start_s == time_s else parse_time(start_s, "start")
            stale = parse_time(stale_s, "stale")
            check_event(uid, type_, how, time=time, start=start, stale=stale)
        except ValidationError:
            return None
        return Item(
            uid=uid, type=type_, origin=self.home, time=time, lat=x, lon=y, hae=h, ce=c, le=e,
            label=label, category=self.categories.of(type_), callsign=callsign, detail=kept,
            start=start, stale=stale, how=how,
        )  # fmt: skip

    def _remember(self, memo: dict[Any, Any], key: object, value: object, size: int) -> None:
        """Keep a detail's work for next time: a bounded memory, cleared when full, that only
        takes details of a usual size, so that no sender can make it hold much."""
        if size > self._MAX_DETAIL_TEXT:
            return
        if len(memo) >= self._MAX_DETAILS:
            memo.clear()
        memo[key] = value

    def _decode(self, data: bytes) -> Item:
        try:
            event, children = parse_event_children(
                data, self.policy, self.table, self._banners.parse
            )
        except ValidationError as exc:
            raise ParseError(f"cot: {exc}") from exc
        self._check_detail_size(event.detail)
        if event.label is not None and event.label.categories:
            # the guard's label is a banner, which cannot carry STANAG categories: dropping
            # them would widen access, so such an item does not cross at all
            raise ParseError("cot: a label with STANAG categories cannot cross the gateway")
        detail: list[tuple[str, str]] = []
        callsign = ""
        for child, xml in children:
            if _reserved(child.tag):
                self.reserved_stripped += 1
                continue  # ours to write, never a client's: dropped, whatever it says
            if _has_reserved(child):
                self.reserved_stripped += 1
                child = _without_reserved(child)  # noqa: PLW2901 - the cleaned element
                xml = canonical(child)  # noqa: PLW2901
            if child.tag == "contact":
                callsign = child.get("callsign", "")
            detail.append((child.tag, xml))
        p = event.point
        return Item(
            uid=event.uid, type=event.type, origin=self.home, time=event.time,
            lat=p.lat, lon=p.lon, hae=p.hae, ce=p.ce, le=p.le,
            label=self._banners.format(event.label) if event.label else "",
            category=self.categories.of(event.type), callsign=callsign, detail=tuple(detail),
            start=event.start, stale=event.stale, how=event.how,
        )  # fmt: skip

    def _check_detail_size(self, detail: str) -> None:
        # the detail children are the ones parsed with the event, but the detail's canonical
        # form, wrapped in <detail>, must still fit the event size limit as it always has
        limit = self.policy.max_event_bytes
        if detail and len(detail.encode("utf-8")) + len("<detail></detail>") > limit:
            raise ParseError(f"XML larger than {limit} bytes")

    def encode(self, item: Item) -> bytes:
        """Canonical CoT XML of the item's own fields: no origin, no category, nothing
        reserved (those are the envelope's to carry).

        The detail (label and kept children) is written once per distinct detail and
        remembered; the rest is written from the item after the checks an event makes of
        its fields. The guard reads back every output it did not read in (``Reserialise``)."""
        key = (item.label, item.detail)
        inner = self._inner.get(key)
        if inner is None:
            event = self.event_of(item)  # the label and the kept children, checked once
            label = label_xml(event.label, self.table) if event.label is not None else ""
            inner = label + event.detail
            self._remember(self._inner, key, inner, len(inner))
        time = item.time
        start, stale = item.start or time, item.stale or time
        try:  # what event_of's Event and Point would check, without building them
            p = Point(item.lat, item.lon, item.hae, item.ce, item.le)
            check_event(item.uid, item.type, item.how, time=time, start=start, stale=stale)
        except ValidationError as exc:
            raise ParseError(f"cot: {exc}") from exc
        return write_event(
            item.uid, item.type, item.how, p, time=time, start=start, stale=stale, inner=inner
        )

    def event_of(self, item: Item) -> Event:
        """The CoT event ``encode`` writes: what the node beside the gateway is handed."""
        parts = [xml for tag, xml in item.detail if not _reserved(tag)]
        try:
            label = self._banners.parse(item.label, self.table) if item.label else None
            return Event(
                uid=item.uid, type=item.type, time=item.time,
                start=item.start or item.time, stale=item.stale or item.time,
                point=Point(item.lat, item.lon, item.hae, item.ce, item.le),
                how=item.how, detail="".join(parts), label=label,
            )  # fmt: skip
        except ValidationError as exc:
            raise ParseError(f"cot: {exc}") from exc
