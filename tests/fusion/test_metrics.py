"""GOSPA against Stone Soup's implementation, its metric laws, and the run scores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from stonesoup.measures import Euclidean
from stonesoup.metricgenerator.ospametric import GOSPAMetric
from stonesoup.types.array import StateVector
from stonesoup.types.state import State

from kizuna.fusion import TruthFrame, gospa, score_run

coords = st.floats(-300, 300, allow_nan=False, allow_infinity=False)


def point_sets(max_size: int = 8) -> st.SearchStrategy[np.ndarray]:
    return st.integers(0, max_size).flatmap(lambda n: arrays(np.float64, (n, 2), elements=coords))


def stonesoup_gospa(est: np.ndarray, truth: np.ndarray, c: float, p: float) -> dict[str, float]:
    when = dt.datetime(2026, 1, 1)
    metric = GOSPAMetric(c=c, p=p, measure=Euclidean(mapping=(0, 1)))
    es = [State(StateVector(list(x)), timestamp=when) for x in est]
    ts = [State(StateVector(list(x)), timestamp=when) for x in truth]
    value = metric.compute_gospa_metric(es, ts)[0].value
    return {k: float(v) for k, v in value.items()}


@settings(max_examples=60, deadline=None)
@given(
    point_sets(), point_sets(), st.sampled_from([10.0, 50.0, 200.0]), st.sampled_from([1.0, 2.0])
)
def test_gospa_matches_stonesoup(est: np.ndarray, truth: np.ndarray, c: float, p: float) -> None:
    assume(len(est) + len(truth) > 0)  # Stone Soup needs at least one state for a timestamp
    ours = gospa(est, truth, c=c, p=p)
    ref = stonesoup_gospa(est, truth, c, p)
    assert ours.distance == pytest.approx(ref["distance"], rel=1e-9, abs=1e-9)
    assert ours.localisation == pytest.approx(ref["localisation"], rel=1e-9, abs=1e-9)
    assert ours.missed == pytest.approx(ref["missed"], rel=1e-9, abs=1e-9)
    assert ours.false == pytest.approx(ref["false"], rel=1e-9, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(point_sets(5), point_sets(5), point_sets(5))
def test_gospa_is_a_metric(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    assert gospa(a, a).distance == pytest.approx(0.0, abs=1e-9)
    assert gospa(a, b).distance == pytest.approx(gospa(b, a).distance)
    assert gospa(a, c).distance <= gospa(a, b).distance + gospa(b, c).distance + 1e-6


@settings(max_examples=40, deadline=None)
@given(point_sets(6), point_sets(6))
def test_components_add_up_for_alpha_2(a: np.ndarray, b: np.ndarray) -> None:
    g = gospa(a, b, c=50.0, p=2.0)
    assert g.distance**2 == pytest.approx(g.localisation + g.missed + g.false, rel=1e-9, abs=1e-9)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="GOSPA"):
        gospa(np.zeros((1, 2)), np.zeros((1, 2)), c=0.0)


def _frame(t: float, track_ids: list[int], truth_ids: list[int]) -> TruthFrame:
    # Track i sits on the truth of the same index, 3 m off.
    pos = np.array([[1000.0 * i, 0.0] for i in range(len(truth_ids))]).reshape(-1, 2)
    return TruthFrame(
        t,
        np.array(track_ids, dtype=np.int64),
        pos[: len(track_ids)] + 3.0,
        np.array(truth_ids, dtype=np.int64),
        pos,
    )


def test_score_counts_switches_fragmentation_and_rmse() -> None:
    frames = [
        _frame(0, [], [1]),  # not yet tracked: not a fragmentation
        _frame(1, [10], [1]),
        _frame(2, [10], [1]),
        _frame(3, [], [1]),  # lost
        _frame(4, [11], [1]),  # found again by another track: fragment and switch
        _frame(5, [11, 12], [1, 2]),
    ]
    s = score_run(frames, c=100.0)
    assert s.id_switches == 1
    assert s.fragmentations == 1
    assert s.rmse == pytest.approx(np.sqrt(18.0))
    assert s.track_count_error == pytest.approx(2 / 6)
    assert s.scans == 6
