"""The Cursor-on-Target event as frozen values, checked on construction."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import msgspec

from kizuna.errors import ValidationError
from kizuna.labels import Label

__all__ = ["UNKNOWN", "Event", "Point", "check_event", "check_point", "check_times"]

UNKNOWN = 9999999.0  # CoT's "not known" for hae, ce and le
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TYPE = re.compile(r"[A-Za-z0-9_.\-]{1,128}\Z")
_HOW = re.compile(r"[A-Za-z0-9_.\-]{0,64}\Z")
_MAX_UID = 256
# the characters _check_text refuses: C0 controls, lone surrogates and the two non-characters
_CONTROL = re.compile(r"[\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def _finite(value: float, name: str) -> None:
    if not math.isfinite(value):
        raise ValidationError(f"must be a finite number, not {value!r}", field=name)


class Point(msgspec.Struct, frozen=True):
    """WGS-84 position; ``ce``/``le`` are 1-sigma circular/linear errors in metres.

    Point and Event are frozen msgspec structs rather than frozen dataclasses: a picture
    makes one per track per exchange, and a struct is built in C (a frozen dataclass pays a
    Python-level ``object.__setattr__`` per field). ``msgspec.structs.replace`` checks a
    changed copy as the constructor does."""

    lat: float
    lon: float
    hae: float = UNKNOWN
    ce: float = UNKNOWN
    le: float = UNKNOWN

    def __post_init__(self) -> None:
        check_point(self.lat, self.lon, self.hae, self.ce, self.le)


def check_point(lat: float, lon: float, hae: float, ce: float, le: float) -> None:
    """What ``Point`` checks, for a reader that needs the numbers and not the value."""
    if not math.isfinite(lat + lon + hae + ce + le):
        values = {"lat": lat, "lon": lon, "hae": hae, "ce": ce, "le": le}
        for name, value in values.items():
            _finite(value, f"point.{name}")  # name the first that is not
    if not -90.0 <= lat <= 90.0:
        raise ValidationError(f"{lat} is outside [-90, 90]", field="point.lat")
    if not -180.0 <= lon <= 180.0:
        raise ValidationError(f"{lon} is outside [-180, 180]", field="point.lon")
    if ce < 0 or le < 0:
        raise ValidationError("errors cannot be negative", field="point.ce")


def _check_time(value: datetime, name: str) -> None:
    if value.tzinfo is not UTC and (value.tzinfo is None or value.utcoffset() != timedelta(0)):
        raise ValidationError("must be a UTC time", field=name)
    if value < _EPOCH:
        raise ValidationError("must not be before 1970", field=name)
    if value.microsecond % 1000:
        raise ValidationError("is carried at millisecond precision", field=name)


def _check_text(value: str, name: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError("contains a control character", field=name)


class Event(msgspec.Struct, frozen=True):
    """One CoT event.

    ``detail`` is the canonical XML of the detail's children except the label, which is
    carried, parsed, in ``label`` (None: the event came without one). Times are UTC at
    millisecond precision, as both wire forms carry them. ``access``, ``caveat`` and
    ``releasable_to`` are TAK Server's label attributes (TAK v1 fields 2, 16, 17; XML
    ``access``, ``caveat``, ``releaseableTo``): carried as written, a request, never a decision.
    """

    uid: str
    type: str
    time: datetime
    start: datetime
    stale: datetime
    point: Point
    how: str = "m-g"
    detail: str = ""
    label: Label | None = None
    access: str = ""
    qos: str = ""
    opex: str = ""
    caveat: str = ""
    releasable_to: str = ""

    def __post_init__(self) -> None:
        check_event(
            self.uid, self.type, self.how, time=self.time, start=self.start, stale=self.stale,
            access=self.access, qos=self.qos, opex=self.opex, caveat=self.caveat,
            releasable_to=self.releasable_to,
        )  # fmt: skip


# A node or gateway sees a handful of (type, how) pairs over and over; the ones that passed
# are remembered, so a new pair is checked once (bounded; a refusal is never remembered).
_GOOD_KINDS: set[tuple[str, str]] = set()


def check_event(
    uid: str,
    type_: str,
    how: str,
    *,
    time: datetime,
    start: datetime,
    stale: datetime,
    access: str = "",
    qos: str = "",
    opex: str = "",
    caveat: str = "",
    releasable_to: str = "",
) -> None:
    """What ``Event`` checks of its own fields, for a reader that needs no value."""
    if not uid or len(uid) > _MAX_UID:
        raise ValidationError(f"must be 1..{_MAX_UID} characters", field="uid")
    _check_text(uid, "uid")
    if (type_, how) not in _GOOD_KINDS:
        if not _TYPE.match(type_):
            raise ValidationError(f"{type_[:40]!r} is not a CoT type", field="type")
        if not _HOW.match(how):
            raise ValidationError(f"{how[:40]!r} is not a CoT how", field="how")
        if len(_GOOD_KINDS) >= 1024:
            _GOOD_KINDS.clear()
        _GOOD_KINDS.add((type_, how))
    if access or qos or opex or caveat or releasable_to:
        for name, value in (
            ("access", access),
            ("qos", qos),
            ("opex", opex),
            ("caveat", caveat),
            ("releasable_to", releasable_to),
        ):
            if len(value) > 256:
                raise ValidationError("longer than 256 characters", field=name)
            _check_text(value, name)
    _check_time(time, "time")
    if start is not time:  # most events start when they are stamped: one check does both
        _check_time(start, "start")
    _check_time(stale, "stale")
    if stale < start:
        raise ValidationError("stale is before start", field="stale")


def check_times(event: Event, now: datetime, *, max_skew: timedelta) -> None:
    """Refuse an event stamped further than ``max_skew`` ahead of ``now``."""
    if event.time > now + max_skew:
        raise ValidationError(f"{event.time.isoformat()} is in the future", field="time")
    if event.start > now + max_skew:
        raise ValidationError(f"{event.start.isoformat()} is in the future", field="start")
