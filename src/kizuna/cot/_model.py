"""The Cursor-on-Target event as frozen values, checked on construction."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kizuna.errors import ValidationError
from kizuna.labels import Label

__all__ = ["UNKNOWN", "Event", "Point", "check_times"]

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


@dataclass(frozen=True, slots=True)
class Point:
    """WGS-84 position; ``ce``/``le`` are 1-sigma circular/linear errors in metres."""

    lat: float
    lon: float
    hae: float = UNKNOWN
    ce: float = UNKNOWN
    le: float = UNKNOWN

    def __post_init__(self) -> None:
        if not math.isfinite(self.lat + self.lon + self.hae + self.ce + self.le):
            for name in ("lat", "lon", "hae", "ce", "le"):  # name the first that is not
                _finite(getattr(self, name), f"point.{name}")
        if not -90.0 <= self.lat <= 90.0:
            raise ValidationError(f"{self.lat} is outside [-90, 90]", field="point.lat")
        if not -180.0 <= self.lon <= 180.0:
            raise ValidationError(f"{self.lon} is outside [-180, 180]", field="point.lon")
        if self.ce < 0 or self.le < 0:
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


@dataclass(frozen=True, slots=True)
class Event:
    """One CoT event.

    ``detail`` is the canonical XML of the detail's children except the label, which is
    carried, parsed, in ``label`` (None: the event came without one). Times are UTC at
    millisecond precision, as both wire forms carry them.
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

    def __post_init__(self) -> None:
        if not self.uid or len(self.uid) > _MAX_UID:
            raise ValidationError(f"must be 1..{_MAX_UID} characters", field="uid")
        _check_text(self.uid, "uid")
        if not _TYPE.match(self.type):
            raise ValidationError(f"{self.type[:40]!r} is not a CoT type", field="type")
        if not _HOW.match(self.how):
            raise ValidationError(f"{self.how[:40]!r} is not a CoT how", field="how")
        if self.access or self.qos or self.opex:
            for name in ("access", "qos", "opex"):
                value = getattr(self, name)
                if len(value) > 256:
                    raise ValidationError("longer than 256 characters", field=name)
                _check_text(value, name)
        for name in ("time", "start", "stale"):
            _check_time(getattr(self, name), name)
        if self.stale < self.start:
            raise ValidationError("stale is before start", field="stale")


def check_times(event: Event, now: datetime, *, max_skew: timedelta) -> None:
    """Refuse an event stamped further than ``max_skew`` ahead of ``now``."""
    if event.time > now + max_skew:
        raise ValidationError(f"{event.time.isoformat()} is in the future", field="time")
    if event.start > now + max_skew:
        raise ValidationError(f"{event.start.isoformat()} is in the future", field="start")
