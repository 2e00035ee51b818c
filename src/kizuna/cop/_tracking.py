"""Detections arriving as CoT events become track events in the node's picture.

A sensor publishes each detection as a CoT event of a detection type (by default any type
under ``b-d``). ``DetectionTracking`` keeps one tracker per sensor — a sensor's missed looks must
not count against another's tracks — and on each ``scan`` turns confirmed tracks into CoT track
events in the picture. A track's label is the high-water mark of every label that fed its
sensor's tracker, so a track can never be seen by someone who may not see a detection in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kizuna.clock import Clock
from kizuna.cop._picture import Picture
from kizuna.cot import Event, Point
from kizuna.fusion import Detection, LocalPlane, Tracker, TrackEventKind, detections_of
from kizuna.fusion import track_events as _track_events
from kizuna.labels import Label, high_water_mark
from kizuna.store import Record

__all__ = ["DetectionTracking"]


@dataclass(slots=True)
class _Sensor:
    tracker: Tracker
    label: Label | None = None
    pending: list[Detection] = field(default_factory=list)


class DetectionTracking:
    def __init__(
        self,
        picture: Picture,
        plane: LocalPlane,
        clock: Clock,
        *,
        detection_type: str = "b-d",
        origin: str = "tracker",
        stale_s: float = 120.0,
        sigma_m: float = 50.0,
    ) -> None:
        self._picture, self._plane, self._clock = picture, plane, clock
        self._prefix, self._origin = detection_type, origin
        self._stale = timedelta(seconds=stale_s)
        self._sigma = sigma_m
        self._sensors: dict[str, _Sensor] = {}
        self._t0: datetime | None = None
        self.skipped = 0  # detections without a label: never tracked, so never shown

    def is_detection(self, event: Event) -> bool:
        return event.type == self._prefix or event.type.startswith(self._prefix + "-")

    def add(self, sensor: str, event: Event) -> None:
        """Buffer one detection from ``sensor`` (the publisher's identity) for the next scan."""
        if event.label is None:
            self.skipped += 1
            return
        s = self._sensors.get(sensor)
        if s is None:
            s = self._sensors[sensor] = _Sensor(Tracker())
        s.label = event.label if s.label is None else high_water_mark([s.label, event.label])
        x, y = self._plane.to_local(event.point.lat, event.point.lon)
        ce = event.point.ce
        sigma = ce if 0 < ce < 1e6 else self._sigma
        s.pending.append(Detection(sensor, x, y, sigma))

    def scan(self) -> list[Event]:
        """Step every sensor's tracker that has detections; put its tracks in the picture."""
        now = self._clock.now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._t0 is None:
            self._t0 = now
        t = (now - self._t0).total_seconds()
        out: list[Event] = []
        for name, s in sorted(self._sensors.items()):
            if not s.pending or s.label is None:
                continue
            result = s.tracker.step(t, detections_of(s.pending))
            s.pending.clear()
            for te in _track_events(result):
                if te.kind is TrackEventKind.DELETED:
                    continue  # its last report goes stale in the picture
                lat, lon = self._plane.to_geodetic(te.position[0], te.position[1])
                var = te.position_cov[0][0] + te.position_cov[1][1]
                event = Event(
                    uid=f"track-{name}-{te.track_id}", type="a-u-G", time=now, start=now,
                    stale=now + self._stale, how="m-f", label=s.label,
                    point=Point(lat, lon, ce=min(math.sqrt(max(var, 0.0)), 9_999_999.0)),
                )  # fmt: skip
                self._picture.update(Record(self._origin, event))
                out.append(event)
        return out
