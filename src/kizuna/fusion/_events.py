"""The tracker as the COP will call it: plain detections in, track events out.

Pure values only, so the node can wrap them in CoT (or anything else) without the tracker
knowing about CoT. Geodetic positions go through a local tangent plane around an origin,
since the tracker works in metres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from kizuna.fusion._tracker import ScanResult
from kizuna.fusion._types import Detections

__all__ = [
    "Detection",
    "LocalPlane",
    "TrackEvent",
    "TrackEventKind",
    "detections_of",
    "track_events",
]

_EARTH_RADIUS = 6_371_008.8  # m, mean radius: plenty for a few hundred km around the origin


@dataclass(frozen=True, slots=True)
class LocalPlane:
    """An equirectangular east/north plane (metres) around ``lat0``, ``lon0`` (degrees)."""

    lat0: float
    lon0: float

    def to_local(self, lat: float, lon: float) -> tuple[float, float]:
        k = math.radians(1.0) * _EARTH_RADIUS
        east = (lon - self.lon0) * k * math.cos(math.radians(self.lat0))
        return east, (lat - self.lat0) * k

    def to_geodetic(self, east: float, north: float) -> tuple[float, float]:
        k = math.radians(1.0) * _EARTH_RADIUS
        return self.lat0 + north / k, self.lon0 + east / (k * math.cos(math.radians(self.lat0)))


@dataclass(frozen=True, slots=True)
class Detection:
    """One detection as a CoT event carries it: a position (m, local plane) and 1-σ error."""

    sensor: str
    x: float
    y: float
    sigma: float


def detections_of(items: Sequence[Detection]) -> Detections:
    """One scan's Detections from single detections (the tracker validates them)."""
    if not items:
        return Detections.empty()
    return Detections(
        np.array([[d.x, d.y] for d in items], dtype=np.float64),
        np.array([d.sigma for d in items], dtype=np.float64),
        np.array([d.sensor for d in items], dtype=np.str_),
    )


class TrackEventKind(StrEnum):
    CONFIRMED = "confirmed"  # first time this track is shown
    UPDATED = "updated"
    DELETED = "deleted"  # drop the track from the picture


@dataclass(frozen=True, slots=True)
class TrackEvent:
    kind: TrackEventKind
    track_id: int
    time: float
    position: tuple[float, ...] = ()
    velocity: tuple[float, ...] = ()
    position_cov: tuple[tuple[float, ...], ...] = ()


def track_events(result: ScanResult) -> tuple[TrackEvent, ...]:
    """A scan's result as events: deletions first, then one event per confirmed track."""
    tab = result.tracks
    d = tab.dim
    fresh = set(result.confirmed_now.tolist())
    out = [TrackEvent(TrackEventKind.DELETED, int(i), tab.time) for i in result.deleted.tolist()]
    for k, tid in enumerate(tab.ids.tolist()):
        kind = TrackEventKind.CONFIRMED if tid in fresh else TrackEventKind.UPDATED
        out.append(
            TrackEvent(
                kind,
                int(tid),
                tab.time,
                tuple(tab.x[k, :d].tolist()),
                tuple(tab.x[k, d:].tolist()),
                tuple(tuple(row) for row in tab.p[k, :d, :d].tolist()),
            )
        )
    return tuple(out)
