"""Track-to-track fusion: pairing, stable identities, labels, and release-awareness."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ValidationError
from kizuna.fusion import FusedPicture, NationalTracks, ReleaseAwareFuser, TrackFuser, TrackTable
from kizuna.labels import (
    Label,
    Viewer,
    decide,
    default_table,
    high_water_mark,
    parse_banner,
    parse_clearance,
)
from tests.labels.strategies import labels, viewers

AT = datetime(2026, 6, 1, tzinfo=UTC)
T = default_table()
REL = parse_banner("SECRET//REL TO USA, JPN", T)
NOFORN = parse_banner("SECRET//NOFORN", T)
JPN_HI = parse_banner("JPN HI//REL TO USA, JPN", T)
JPN_VIEWER = Viewer("JPN", parse_clearance("JPN:KIMITSU", "active", "2030-01-01"))
USA_VIEWER = Viewer("USA", parse_clearance("USA:TOP SECRET", "active", "2030-01-01"))


def table(t: float, ids: list[int], pos: np.ndarray, var: float = 100.0) -> TrackTable:
    n = len(ids)
    x = np.zeros((n, 4))
    x[:, :2] = pos
    p = np.tile(np.diag([var, var, 25.0, 25.0]), (n, 1, 1))
    return TrackTable(t, np.array(ids, dtype=np.int64), x, p)


def nation(name: str, tab: TrackTable, label: Label) -> NationalTracks:
    return NationalTracks(name, tab, (label,) * len(tab))


def test_pairs_are_fused_and_lone_tracks_kept() -> None:
    pos = np.array([[0.0, 0.0], [5000.0, 0.0], [0.0, 9000.0]])
    a = nation("USA", table(0.0, [1, 2, 3], pos), REL)
    b = nation("JPN", table(0.0, [7, 8], pos[:2] + 10.0), JPN_HI)
    pic = TrackFuser().fuse(a, b)
    pairs = sorted(s for s in pic.sources if len(s) == 2)
    assert pairs == [(("USA", 1), ("JPN", 7)), (("USA", 2), ("JPN", 8))]
    assert len(pic.tracks) == 3
    fused = [i for i, s in enumerate(pic.sources) if len(s) == 2]
    for i in fused:
        assert pic.labels[i] == high_water_mark((REL, JPN_HI))
        # CI of two equal covariances is that covariance: never tighter than an input.
        assert np.trace(pic.tracks.p[i]) >= 2 * 100.0 - 1e-6


def test_fused_ids_are_stable_over_time() -> None:
    rng = np.random.default_rng(5)
    fuser = TrackFuser()
    start = rng.uniform(-1e4, 1e4, (6, 2))
    seen: dict[tuple[int, ...], int] = {}
    for k in range(10):
        pos = start + 20.0 * k
        a = nation("USA", table(float(k), [1, 2, 3, 4, 5, 6], pos + rng.normal(0, 5, (6, 2))), REL)
        keep = [0, 1, 2, 3] if k % 3 else [0, 1, 2, 3, 4]  # JPN sees some targets, not always
        b = nation(
            "JPN",
            table(float(k), [10 + i for i in keep], pos[keep] + rng.normal(0, 5, (len(keep), 2))),
            REL,
        )
        pic = fuser.fuse(a, b)
        for fid, src in zip(pic.tracks.ids.tolist(), pic.sources, strict=True):
            usa = tuple(i for n, i in src if n == "USA")
            seen.setdefault(usa, fid)
            assert seen[usa] == fid, f"scan {k}: USA track {usa} changed fused id"
    assert len(set(seen.values())) == 6


def test_bad_tracks_are_skipped_and_counted() -> None:
    tab = table(0.0, [1, 2, 3], np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]))
    tab.p[1] = np.diag([100.0, 0.0, 25.0, 25.0])  # singular
    tab.x[2, 0] = np.nan
    pic = TrackFuser().fuse(nation("USA", tab, REL), nation("JPN", TrackTable.empty(0.0), REL))
    assert pic.rejects.counts == {"singular_covariance": 1, "nonfinite_track": 1}
    assert pic.tracks.ids.size == 1
    assert np.isfinite(pic.tracks.x).all()


@st.composite
def national(draw: st.DrawFn, name: str, first_id: int) -> NationalTracks:
    n = draw(st.integers(0, 6))
    pos = np.array(
        [[draw(st.floats(-2000, 2000)), draw(st.floats(-2000, 2000))] for _ in range(n)]
    ).reshape(-1, 2)
    labs = tuple(draw(labels()) for _ in range(n))
    return NationalTracks(name, table(0.0, list(range(first_id, first_id + n)), pos), labs)


def _same(p: FusedPicture, q: FusedPicture) -> None:
    np.testing.assert_array_equal(p.tracks.ids, q.tracks.ids)
    np.testing.assert_allclose(p.tracks.x, q.tracks.x)
    assert p.labels == q.labels and p.sources == q.sources


@settings(max_examples=120, deadline=None)
@given(national("USA", 1), national("JPN", 100), viewers(), st.data())
def test_a_viewer_picture_uses_only_what_it_may_see(
    a: NationalTracks, b: NationalTracks, viewer: Viewer, data: st.DataObject
) -> None:
    pic = ReleaseAwareFuser().picture(viewer, AT, a, b)
    allowed = {
        (nt.nation, int(i))
        for nt in (a, b)
        for i, lb in zip(nt.tracks.ids, nt.labels, strict=True)
        if decide(lb, viewer, AT).permit
    }
    for src, lb in zip(pic.sources, pic.labels, strict=True):
        assert set(src) <= allowed
        assert decide(lb, viewer, AT).permit

    # Non-interference: moving or relabelling what the viewer may not see changes nothing.
    def scramble(nt: NationalTracks) -> NationalTracks:
        x = nt.tracks.x.copy()
        labs = list(nt.labels)
        for k, i in enumerate(nt.tracks.ids.tolist()):
            if (nt.nation, i) not in allowed:
                x[k, :2] = data.draw(st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000)))
                labs[k] = data.draw(labels().filter(lambda lb: not decide(lb, viewer, AT).permit))
        tab = TrackTable(nt.tracks.time, nt.tracks.ids, x, nt.tracks.p)
        return NationalTracks(nt.nation, tab, tuple(labs))

    _same(pic, ReleaseAwareFuser().picture(viewer, AT, scramble(a), scramble(b)))


def test_japan_never_sees_a_noforn_contribution() -> None:
    pos = np.array([[0.0, 0.0], [3000.0, 0.0]])
    usa = NationalTracks("USA", table(0.0, [1, 2], pos), (NOFORN, REL))
    jpn = nation("JPN", table(0.0, [9, 10], pos + 5.0), JPN_HI)
    fuser = ReleaseAwareFuser()
    pic = fuser.picture(JPN_VIEWER, AT, usa, jpn)
    assert all(("USA", 1) not in s for s in pic.sources)
    assert pic.rejects.counts["withheld_not_releasable"] == 1
    us = fuser.picture(USA_VIEWER, AT, usa, jpn)
    assert any(("USA", 1) in s for s in us.sources)


def test_track_sets_of_different_times_are_refused() -> None:
    a = nation("USA", table(0.0, [1], np.zeros((1, 2))), REL)
    b = nation("JPN", table(1.0, [2], np.zeros((1, 2))), REL)
    with pytest.raises(ValidationError, match="time"):
        TrackFuser().fuse(a, b)
    assert len(TrackFuser().fuse(a, nation("JPN", TrackTable.empty(1.0), REL)).tracks) == 1
