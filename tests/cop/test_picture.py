from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.clock import ManualClock
from kizuna.cop import Picture
from kizuna.cot import Event, Point
from kizuna.labels import (
    Clearance,
    ClearanceStatus,
    Viewer,
    decide,
    default_table,
    parse_banner,
)
from kizuna.store import Record

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BANNERS = [
    "UNCLASSIFIED",
    "SECRET//REL TO USA, JPN",
    "SECRET//NOFORN",
    "JPN GOKUHI//REL TO JPN, USA",
    "JPN HI//REL TO JPN, USA",
    "TOP SECRET//REL TO USA, JPN",
]


def rec(uid: str, t: int = 0, stale: int = 60, banner: str = "UNCLASSIFIED") -> Record:
    at = T0 + timedelta(seconds=t)
    return Record(
        "o",
        Event(
            uid=uid,
            type="a-f-G",
            time=at,
            start=at,
            stale=at + timedelta(seconds=stale),
            point=Point(35.0, 139.0),
            label=parse_banner(banner, default_table()),
        ),
    )


def test_latest_state_per_uid_wins() -> None:
    pic = Picture(ManualClock(T0))
    assert pic.update(rec("a", 10))
    assert not pic.update(rec("a", 5))  # older arrives late
    assert pic.update(rec("a", 20))
    got = pic.get("a")
    assert got is not None and got.event.time == T0 + timedelta(seconds=20)
    assert len(pic) == 1


def test_items_expire_at_their_stale_time() -> None:
    clock = ManualClock(T0)
    pic = Picture(clock)
    pic.update(rec("short", 0, stale=10))
    pic.update(rec("long", 0, stale=100))
    clock.advance(9)
    assert pic.expire() == []
    clock.advance(1)
    assert pic.expire() == ["short"]
    assert [r.event.uid for r in pic.items()] == ["long"]


def test_a_newer_update_keeps_an_item_alive() -> None:
    clock = ManualClock(T0)
    pic = Picture(clock)
    pic.update(rec("a", 0, stale=10))
    pic.update(rec("a", 5, stale=100))
    clock.advance(50)
    assert pic.expire() == []
    assert len(pic) == 1


VIEWERS = [
    Viewer("USA", Clearance("USA", "SECRET", ClearanceStatus.ACTIVE, date(2027, 1, 1))),
    Viewer("JPN", Clearance("JPN", "GOKUHI", ClearanceStatus.ACTIVE, date(2027, 1, 1))),
    Viewer("JPN", Clearance("JPN", "HI", ClearanceStatus.ACTIVE, date(2027, 1, 1))),
    Viewer("JPN", Clearance("JPN", "GOKUHI", ClearanceStatus.ACTIVE, date(2026, 1, 1))),
]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(BANNERS), max_size=12), st.sampled_from(VIEWERS))
def test_view_is_exactly_what_decide_permits(banners: list[str], viewer: Viewer) -> None:
    pic = Picture(ManualClock(T0))
    for i, banner in enumerate(banners):
        pic.update(rec(f"u{i}", banner=banner))
    expected = {
        f"u{i}" for i, b in enumerate(banners) if decide(b, viewer, T0, default_table()).permit
    }
    assert {r.event.uid for r in pic.view(viewer)} == expected
