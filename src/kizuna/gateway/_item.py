"""What the guard reasons about, and the codec port that turns bytes into it and back.

The guard never trusts bytes: it parses strictly through an ``ItemCodec`` and releases only
what it re-serialises itself. ``JsonItemCodec`` is a compact wire form for tools and tests;
``CotItemCodec`` (CoT XML through ``kizuna.cot``) is what gateways beside national nodes use.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Protocol

import msgspec

from kizuna.errors import ParseError

__all__ = ["DEFAULT", "LABEL_SOURCES", "PUBLISHER", "Item", "ItemCodec", "JsonItemCodec"]

MAX_TEXT = 256
MAX_DETAIL = 32

# Who set an item's label: its publisher, or the node's default for events without one.
PUBLISHER = "publisher"
DEFAULT = "default"
LABEL_SOURCES = frozenset({PUBLISHER, DEFAULT})


class Item(msgspec.Struct, frozen=True):
    """One shareable item: a position report with its label and what produced it. A frozen
    msgspec struct (built in C): a crossing makes several per item."""

    uid: str
    type: str  # CoT type, e.g. a-h-S
    origin: str  # the originating nation
    time: datetime
    lat: float
    lon: float
    hae: float = 0.0
    ce: float = 0.0  # circular error, metres
    label: str = ""  # banner marking; "" when missing
    category: str = "track"  # track | unit | sensor | picture | liaison | plan | ...
    callsign: str = ""
    detail: tuple[tuple[str, str], ...] = ()  # source/sensor details, by key
    # CoT's own fields, carried so that a CoT item re-serialises whole (None/"" elsewhere)
    start: datetime | None = None
    stale: datetime | None = None
    how: str = ""
    le: float = 0.0
    # metadata the guard derives, never a codec: who set the label ("publisher" | "default")
    label_source: str = PUBLISHER


class ItemCodec(Protocol):
    def decode(self, data: bytes) -> Item:
        """Parse strictly; raise ParseError naming the field on anything unexpected."""
        ...

    def encode(self, item: Item) -> bytes:
        """The one canonical byte form of an item."""
        ...


_CONTROL = re.compile("[\x00-\x1f\x7f]")
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Lon = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
Hae = Annotated[float, msgspec.Meta(ge=-1e6, le=1e6)]
Ce = Annotated[float, msgspec.Meta(ge=0.0, le=1e7)]


class _Wire(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Checked by msgspec as it decodes: types, lengths and ranges."""

    uid: Name
    type: Name
    origin: Name
    time: str
    lat: Lat
    lon: Lon
    label: Text
    category: Name
    hae: Hae = 0.0
    ce: Ce = 0.0
    callsign: Text = ""
    detail: Annotated[dict[Name, Text], msgspec.Meta(max_length=MAX_DETAIL)] = {}


_DECODER = msgspec.json.Decoder(_Wire)
_ENCODER = msgspec.json.Encoder(order="sorted")


def _no_control(w: _Wire) -> None:
    """One search over every text field; the slow path only to name the field."""
    texts = (
        w.uid,
        w.type,
        w.origin,
        w.label,
        w.category,
        w.callsign,
        *w.detail,
        *w.detail.values(),
    )
    if _CONTROL.search("".join(texts)):
        names = ("uid", "type", "origin", "label", "category", "callsign")
        bad = next((n for n in names if _CONTROL.search(getattr(w, n))), "detail")
        raise ParseError(f"{bad}: control characters are not allowed")


def _time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ParseError(f"time: not ISO 8601: {text!r}") from exc
    if at.tzinfo is None:
        raise ParseError("time: needs a UTC offset")
    return at.astimezone(UTC)


class JsonItemCodec:
    """Strict JSON: unknown fields, wrong types, bad ranges and control characters refused.

    Its ``origin`` and ``category`` fields are the item's claims, nothing more: the guard
    refuses an outbound item claiming another origin than ours, and sets the category (from
    the CoT type) and an inbound item's origin (the envelope's sender) itself."""

    def decode(self, data: bytes) -> Item:
        try:
            w = _DECODER.decode(data)
        except msgspec.ValidationError as exc:
            raise ParseError(f"item: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise ParseError(f"item: not JSON: {exc}") from exc
        _no_control(w)
        return Item(
            w.uid, w.type, w.origin, _time(w.time), w.lat, w.lon, w.hae, w.ce,
            w.label, w.category, w.callsign, tuple(sorted(w.detail.items())),
        )  # fmt: skip

    def encode(self, item: Item) -> bytes:
        wire = _Wire(
            uid=item.uid,
            type=item.type,
            origin=item.origin,
            time=item.time.astimezone(UTC).isoformat(),
            lat=item.lat,
            lon=item.lon,
            label=item.label,
            category=item.category,
            hae=item.hae,
            ce=item.ce,
            callsign=item.callsign,
            detail=dict(item.detail),
        )
        return _ENCODER.encode(wire)
