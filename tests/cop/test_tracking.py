from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from kizuna.clock import ManualClock
from kizuna.cop import DetectionTracking, Picture
from kizuna.cot import Event, Point
from kizuna.fusion import LocalPlane
from kizuna.labels import Clearance, ClearanceStatus, Viewer, parse_banner

T0 = datetime(2027, 4, 1, tzinfo=UTC)
PLANE = LocalPlane(30.0, 140.0)
JPN = Viewer("JPN", Clearance("JPN", "GOKUHI", ClearanceStatus.ACTIVE, date(2030, 1, 1)))
USA = Viewer("USA", Clearance("USA", "SECRET", ClearanceStatus.ACTIVE, date(2030, 1, 1)))


def detection(i: int, at: datetime, x: float, y: float, banner: str | None) -> Event:
    lat, lon = PLANE.to_geodetic(x, y)
    return Event(
        uid=f"det-{i}",
        type="b-d-s",
        time=at,
        start=at,
        stale=at + timedelta(minutes=1),
        point=Point(lat, lon, ce=20.0),
        how="m-r",
        label=parse_banner(banner) if banner else None,
    )


def run(banners: list[str | None]) -> tuple[Picture, DetectionTracking]:
    clock = ManualClock(T0)
    picture = Picture(clock)
    tracking = DetectionTracking(picture, PLANE, clock)
    for k in range(6):  # a target moving east at 10 m/s, seen every 10 s
        at = clock.now()
        ev = detection(k, at, 1000.0 + 100.0 * k, 2000.0, banners[k % len(banners)])
        assert tracking.is_detection(ev)
        tracking.add("radar-1", ev)
        tracking.scan()
        clock.advance(10.0)
    return picture, tracking


def test_detections_become_a_track_in_the_picture() -> None:
    picture, _ = run(["SECRET//REL TO USA, JPN"])
    tracks = [r.event for r in picture.items() if r.event.uid.startswith("track-")]
    assert len(tracks) == 1
    x, y = PLANE.to_local(tracks[0].point.lat, tracks[0].point.lon)
    assert abs(x - 1500.0) < 60 and abs(y - 2000.0) < 60
    assert [r.event.uid for r in picture.view(JPN)] == [tracks[0].uid]


def test_a_track_carries_the_high_water_mark_of_what_fed_it() -> None:
    picture, _ = run(["SECRET//REL TO USA, JPN", "SECRET//NOFORN"])
    assert picture.view(JPN) == []  # one NOFORN detection makes the whole track NOFORN
    assert len(picture.view(USA)) == 1


def test_unlabelled_detections_are_never_tracked() -> None:
    picture, tracking = run([None])
    assert len(picture) == 0
    assert tracking.skipped == 6
