"""What the guard reasons about, and the codec port that turns bytes into it and back.

The guard never trusts bytes: it parses strictly through an ``ItemCodec`` and releases only
what it re-serialises itself. ``JsonItemCodec`` is a compact wire form for tools and tests;
``CotItemCodec`` (CoT XML through ``kizuna.cot``) is what gateways beside national nodes use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import msgspec

from kizuna.errors import ParseError

__all__ = ["Item", "ItemCodec", "JsonItemCodec"]

MAX_TEXT = 256
MAX_DETAIL = 32


@dataclass(frozen=True, slots=True)
class Item:
    """One shareable item: a position report with its label and what produced it."""

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


class ItemCodec(Protocol):
    def decode(self, data: bytes) -> Item:
        """Parse strictly; raise ParseError naming the field on anything unexpected."""
        ...

    def encode(self, item: Item) -> bytes:
        """The one canonical byte form of an item."""
        ...


class _Wire(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    uid: str
    type: str
    origin: str
    time: str
    lat: float
    lon: float
    label: str
    category: str
    hae: float = 0.0
    ce: float = 0.0
    callsign: str = ""
    detail: dict[str, str] = {}


_DECODER = msgspec.json.Decoder(_Wire)
_ENCODER = msgspec.json.Encoder(order="sorted")


def _text(value: str, name: str, *, empty: bool = False) -> str:
    if (not value and not empty) or len(value) > MAX_TEXT:
        raise ParseError(f"{name}: must be 1..{MAX_TEXT} characters")
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise ParseError(f"{name}: control characters are not allowed")
    return value


def _finite(value: float, name: str, bound: float) -> float:
    if not math.isfinite(value) or abs(value) > bound:
        raise ParseError(f"{name}: {value!r} is outside -{bound}..{bound}")
    return float(value)


def _time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ParseError(f"time: not ISO 8601: {text!r}") from exc
    if at.tzinfo is None:
        raise ParseError("time: needs a UTC offset")
    return at.astimezone(UTC)


class JsonItemCodec:
    """Strict JSON: unknown fields, wrong types, bad ranges and control characters refused."""

    def decode(self, data: bytes) -> Item:
        try:
            w = _DECODER.decode(data)
        except msgspec.ValidationError as exc:
            raise ParseError(f"item: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise ParseError(f"item: not JSON: {exc}") from exc
        if len(w.detail) > MAX_DETAIL:
            raise ParseError(f"detail: more than {MAX_DETAIL} entries")
        detail = tuple(
            (_text(k, "detail key"), _text(v, f"detail.{k}", empty=True))
            for k, v in sorted(w.detail.items())
        )
        return Item(
            uid=_text(w.uid, "uid"),
            type=_text(w.type, "type"),
            origin=_text(w.origin, "origin"),
            time=_time(w.time),
            lat=_finite(w.lat, "lat", 90.0),
            lon=_finite(w.lon, "lon", 180.0),
            hae=_finite(w.hae, "hae", 1e6),
            ce=_finite(w.ce, "ce", 1e7),
            label=_text(w.label, "label", empty=True),
            category=_text(w.category, "category"),
            callsign=_text(w.callsign, "callsign", empty=True),
            detail=detail,
        )

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
