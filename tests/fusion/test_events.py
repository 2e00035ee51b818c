"""The COP-facing API: detections in, track events out; and the local plane."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.fusion import (
    ConstantVelocity,
    Detection,
    Detections,
    LocalPlane,
    Tracker,
    TrackerConfig,
    TrackEventKind,
    detections_of,
    track_events,
)


def test_events_follow_a_track_from_confirmation_to_deletion() -> None:
    tracker = Tracker(
        ConstantVelocity(q=1.0),
        TrackerConfig(confirm="m_of_n", confirm_m=2, confirm_n=2, max_misses=1),
    )
    kinds = []
    for k in range(4):
        scan = [Detection("USA", 100.0 * k, 0.0, 10.0)] if k < 3 else []
        for ev in track_events(tracker.step(float(k), detections_of(scan))):
            kinds.append((k, ev.kind, ev.track_id))
            if ev.kind is not TrackEventKind.DELETED:
                assert len(ev.position) == 2 and len(ev.velocity) == 2
                assert ev.position_cov[0][1] == ev.position_cov[1][0]
    assert kinds == [
        (1, TrackEventKind.CONFIRMED, 1),
        (2, TrackEventKind.UPDATED, 1),
        (3, TrackEventKind.DELETED, 1),
    ]


def test_detections_of_nothing_is_an_empty_scan() -> None:
    assert len(detections_of([])) == 0


@given(st.floats(-60, 60), st.floats(-170, 170), st.floats(-2e5, 2e5), st.floats(-2e5, 2e5))
def test_local_plane_round_trips(lat0: float, lon0: float, east: float, north: float) -> None:
    plane = LocalPlane(lat0, lon0)
    lat, lon = plane.to_geodetic(east, north)
    back = plane.to_local(lat, lon)
    assert back == pytest.approx((east, north), abs=1e-6)


def test_three_dimensional_tracking_works_through_the_same_model() -> None:
    tracker = Tracker(ConstantVelocity(q=0.0, dim=3), TrackerConfig(confirm_m=2, confirm_n=2))
    v = np.array([10.0, -5.0, 2.0])
    for k in range(20):
        res = tracker.step(float(k), Detections.of([v * k + 1000.0], 1e-6))
    np.testing.assert_allclose(res.tracks.x[0, 3:], v, atol=1e-5)
    np.testing.assert_allclose(res.tracks.positions[0], v * 19 + 1000.0, atol=1e-5)
