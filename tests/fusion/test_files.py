"""File formats: round trips, and bad rows counted with the line and field named."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ConfigError, ParseError, ValidationError
from kizuna.fusion import (
    Rejects,
    TrackTable,
    format_tracks,
    parse_detections,
    parse_hints,
    parse_tracks,
    parse_truth,
)

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(finite, finite, finite, finite, st.floats(1, 1e4)), max_size=10))
def test_tracks_round_trip(rows: list[tuple[float, float, float, float, float]]) -> None:
    n = len(rows)
    x = np.array([r[:4] for r in rows]).reshape(n, 4)
    p = np.zeros((n, 4, 4))
    for i, r in enumerate(rows):
        p[i] = np.diag([r[4], 2 * r[4], 2500.0, 2500.0])
        p[i, 0, 1] = p[i, 1, 0] = 0.5 * r[4]
    tab = TrackTable(3.0, np.arange(1, n + 1, dtype=np.int64), x, p)
    rejects = Rejects()
    back = parse_tracks(io.StringIO("".join(format_tracks([tab]))), rejects)
    assert rejects.total == 0
    if n == 0:
        assert back == []
        return
    (got,) = back
    np.testing.assert_array_equal(got.ids, tab.ids)
    np.testing.assert_allclose(got.x, x, atol=1e-6)
    np.testing.assert_allclose(got.p, p, rtol=1e-8)


DETECTIONS = """time,sensor,x,y,sigma
2.0,USA,10,20,15
1.0,USA,11,21,15
1.0,USA,nan,21,15
1.0,USA,abc,21,15
1.0,USA,1,2,0
1.0,KOR,1,2,15
1.0,USA,1,inf,15

3.0,USA,5,5,15
"""


def test_bad_detection_rows_are_counted_by_line_and_field() -> None:
    rejects = Rejects()
    rows = parse_detections(io.StringIO(DETECTIONS), rejects, source="d.csv", sensor="USA")
    assert rejects.counts == {
        "nonfinite": 2,
        "bad_number": 1,
        "bad_sigma": 1,
        "unknown_sensor": 1,
        "reordered_rows": 1,
    }
    assert "d.csv:5: x: not a number: 'abc'" in rejects.examples
    assert any(e.startswith("d.csv:6: sigma") for e in rejects.examples)
    assert [t for t, _ in rows.scans()] == [1.0, 2.0, 3.0]
    assert rows.time.tolist() == [1.0, 2.0, 3.0]


def test_missing_columns_and_empty_files_are_clear_errors() -> None:
    with pytest.raises(ValidationError, match=r"header: d\.csv: missing column"):
        parse_detections(io.StringIO("time,sensor,x,y\n"), Rejects(), source="d.csv")
    with pytest.raises(ParseError, match="empty file"):
        parse_tracks(io.StringIO(""), Rejects())


def test_singular_track_covariance_is_skipped() -> None:
    text = (
        "time,track_id,x,y,vx,vy,pxx,pxy,pyy\n"
        "0,1,0,0,0,0,100,0,100\n"
        "0,2,0,0,0,0,100,100,100\n"
        "0,3,0,0,0,0,-1,0,100\n"
        "0,x,0,0,0,0,100,0,100\n"
    )
    rejects = Rejects()
    (tab,) = parse_tracks(io.StringIO(text), rejects)
    assert tab.ids.tolist() == [1]
    assert rejects.counts == {"singular_covariance": 2, "bad_id": 1}


def test_truth_groups_by_time() -> None:
    text = "time,truth_id,x,y,vx,vy\n1,1,0,0,1,1\n0,1,0,0,1,1\n1,2,5,5,0,0\n"
    rejects = Rejects()
    out = parse_truth(io.StringIO(text), rejects)
    assert [(t, ids.tolist()) for t, ids, _ in out] == [(0.0, [1]), (1.0, [1, 2])]


def test_hints_are_checked_field_by_field() -> None:
    h = parse_hints('{"dt": 2, "q": 5.5, "sigma": {"USA": 15}, "pd": {"JPN": 0.8}}')
    assert (h.dt, h.q, h.sigma, h.pd) == (2.0, 5.5, {"USA": 15.0}, {"JPN": 0.8})
    with pytest.raises(ConfigError, match=r"scenario\.json: q"):
        parse_hints('{"q": -1}')
    with pytest.raises(ConfigError, match=r"scenario\.json: sigma"):
        parse_hints('{"sigma": [1, 2]}')
    with pytest.raises(ParseError, match="not JSON"):
        parse_hints("{")
