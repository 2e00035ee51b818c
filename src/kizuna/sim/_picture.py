"""National pictures in the exercise: tracks become labelled CoT events in each nation's COP,
cross to the partner through a ``Crossing`` (the gateways), and are scored against truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import numpy as np
from scipy.spatial import cKDTree

from kizuna.clock import Clock
from kizuna.cop import Picture
from kizuna.cot import Event, Point
from kizuna.fusion import TrackTable, gospa
from kizuna.labels import Label, Viewer
from kizuna.sim._geo import Grid
from kizuna.store import Record

__all__ = ["Crossing", "NationalPicture", "TrackGroup", "tracks_to_events"]


class Crossing(Protocol):
    """Moves a nation's items to its partner; returns what the partner now holds."""

    def send(self, origin: str, partner: str, events: Sequence[Event]) -> list[Event]: ...

    def figures(self) -> dict[str, float]: ...


@dataclass(slots=True)
class TrackGroup:
    """One national tracker's output: every sensor in it shares one label."""

    key: str
    nation: str
    label: Label
    sensors: tuple[str, ...]
    tracks: TrackTable | None = None


def tracks_to_events(group: TrackGroup, grid: Grid, clock: Clock, stale_s: float) -> list[Event]:
    if group.tracks is None or len(group.tracks) == 0:
        return []
    now = clock.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    stale = now + timedelta(seconds=stale_s)
    t = group.tracks
    out = []
    for tid, x, y, pxx, pyy in zip(
        t.ids.tolist(),
        t.x[:, 0].tolist(),
        t.x[:, 1].tolist(),
        t.p[:, 0, 0].tolist(),
        t.p[:, 1, 1].tolist(),
        strict=True,
    ):
        lat, lon = grid.to_latlon(x, y)
        ce = math.sqrt(max(pxx, 0.0) + max(pyy, 0.0))
        out.append(
            Event(
                uid=f"{group.key}-{tid}",
                type="a-u-G",
                time=now,
                start=now,
                stale=stale,
                point=Point(lat, lon, ce=min(ce, 9_999_999.0)),
                how="m-f",
                label=group.label,
            )
        )
    return out


@dataclass(slots=True)
class NationalPicture:
    """A nation's COP as its duty officer sees it, and the figures scored against truth."""

    nation: str
    viewer: Viewer
    picture: Picture
    grid: Grid
    gospa_c: float
    gospa_values: list[float] = field(default_factory=list)
    completeness: list[float] = field(default_factory=list)

    def add(self, origin: str, events: Sequence[Event]) -> None:
        for e in events:
            self.picture.update(Record(origin, e))

    def positions(self) -> tuple[np.ndarray, list[Record]]:
        items = self.picture.view(self.viewer)
        if not items:
            return np.zeros((0, 2)), []
        points = [r.event.point for r in items]
        lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points))
        lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points))
        xy = self.grid.to_xy_many(lat, lon)
        return xy, items

    def score(self, truth: np.ndarray, associate_m: float, xy: np.ndarray | None = None) -> None:
        """GOSPA against truth, and the share of truth within ``associate_m`` of an item.
        ``xy`` is ``positions()``'s, when the caller has it already."""
        if xy is None:
            xy, _ = self.positions()
        self.gospa_values.append(gospa(xy, truth, c=self.gospa_c, p=2.0).distance)
        if len(truth):
            if len(xy):
                d, _ = cKDTree(xy).query(truth, distance_upper_bound=associate_m * 1.0001)
                self.completeness.append(float((d <= associate_m).mean()))
            else:
                self.completeness.append(0.0)
