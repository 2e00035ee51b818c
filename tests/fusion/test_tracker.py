"""The tracker: filter consistency, exact recovery, quality on a scenario, and bad input."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from kizuna.errors import ValidationError
from kizuna.fusion import (
    ConstantVelocity,
    Detections,
    ScenarioSpec,
    SensorSpec,
    Tracker,
    TrackerConfig,
    TruthFrame,
    generate,
    score_run,
)


def _separated_truth(
    rng: np.random.Generator, model: ConstantVelocity, n: int, steps: int, v_sigma: float
) -> np.ndarray:
    """(steps, n, 4) states of far-apart targets moving by the model itself."""
    x = np.zeros((n, 4))
    x[:, 0] = np.arange(n) * 1e6
    x[:, 2:] = rng.normal(0, v_sigma, (n, 2))
    f, q = model.transition(1.0), model.noise(1.0)
    chol = np.linalg.cholesky(q)
    out = [x]
    for _ in range(steps - 1):
        x = x @ f.T + rng.standard_normal((n, 4)) @ chol.T
        out.append(x)
    return np.stack(out)


def test_nees_stays_within_chi_square_bounds() -> None:
    """Average NEES over 300 independent targets stays within its 99 % χ² band."""
    rng = np.random.default_rng(4)
    model = ConstantVelocity(q=2.0)
    sigma, n, steps, v0 = 10.0, 300, 40, 150.0
    truth = _separated_truth(rng, model, n, steps, v0)
    # A wide gate: this test is about the filter, not about gating losing 0.1 % of detections.
    tracker = Tracker(model, TrackerConfig(init_speed_sigma=v0, gate=40.0))
    lo, hi = chi2.ppf([0.005, 0.995], 4 * n) / n
    inside, means = 0, []
    for k in range(steps):
        z = truth[k, :, :2] + rng.normal(0, sigma, (n, 2))
        tracker.step(float(k), Detections.of(z, sigma))
        tab = tracker.tracks(confirmed_only=False)
        assert len(tab) == n
        which = np.argmin(np.abs(tab.x[:, None, 0] - truth[k, None, :, 0]), axis=1)
        err = tab.x - truth[k, which]
        nees = np.einsum("ni,nij,nj->n", err, np.linalg.inv(tab.p), err)
        means.append(nees.mean())
        inside += int(lo <= nees.mean() <= hi)
    assert inside >= 0.9 * steps, means
    assert 3.7 < float(np.mean(means)) < 4.3


def test_single_target_without_noise_is_recovered_exactly() -> None:
    tracker = Tracker(ConstantVelocity(q=0.0), TrackerConfig(confirm_m=2, confirm_n=2))
    p0, v = np.array([100.0, -50.0]), np.array([12.0, 7.0])
    for k in range(30):
        res = tracker.step(2.0 * k, Detections.of([p0 + v * 2.0 * k], 1e-6))
    assert len(res.tracks) == 1
    np.testing.assert_allclose(res.tracks.positions[0], p0 + v * 58.0, atol=1e-5)
    np.testing.assert_allclose(res.tracks.x[0, 2:], v, atol=1e-5)


def test_tracks_a_scenario_well() -> None:
    spec = ScenarioSpec(
        n_targets=25,
        n_scans=80,
        sensors=(SensorSpec("USA", sigma=15.0, pd=0.95, clutter_per_km2=0.02),),
    )
    sc = generate(spec, np.random.default_rng(11))
    tracker = Tracker(ConstantVelocity(q=spec.tracker_q))
    frames = []
    for k, (t, det) in enumerate(sc.scans("USA")):
        res = tracker.step(t, det)
        ids, x = sc.truth_at(k)
        frames.append(TruthFrame(t, res.tracks.ids, res.tracks.positions, ids, x[:, :2]))
    late = score_run(frames[20:], c=100.0)
    assert late.track_count_error < 1.0
    assert late.rmse < 20.0  # sensor sigma is 15 m per axis
    assert late.gospa_mean < 90.0
    assert late.id_switches <= 5


def test_confirmation_and_deletion_events() -> None:
    tracker = Tracker(
        ConstantVelocity(q=1.0), TrackerConfig(confirm_m=2, confirm_n=3, max_misses=2)
    )
    confirmed, deleted = [], []
    for k in range(6):
        det = Detections.of([[10.0 * k, 0.0]], 5.0) if k < 3 else Detections.empty()
        res = tracker.step(float(k), det)
        confirmed += res.confirmed_now.tolist()
        deleted += res.deleted.tolist()
    assert confirmed == [1]
    assert deleted == [1]
    assert len(tracker) == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_tracks_do_not_depend_on_detection_order(seed: int) -> None:
    spec = ScenarioSpec(
        n_targets=8, n_scans=12, spacing=400.0, sensors=(SensorSpec("USA", 20.0, 0.9, 0.5),)
    )
    sc = generate(spec, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    a, b = Tracker(), Tracker()
    for t, det in sc.scans("USA"):
        ra = a.step(t, det)
        rb = b.step(t, det.select(rng.permutation(len(det))))
    # Ids are issued in detection order, so compare the tracks as sets of states.
    sa = ra.tracks.x[np.lexsort(ra.tracks.x.T)]
    sb = rb.tracks.x[np.lexsort(rb.tracks.x.T)]
    np.testing.assert_allclose(sa, sb, rtol=1e-9, atol=1e-6)


def test_bad_rows_are_skipped_and_counted() -> None:
    tracker = Tracker(config=TrackerConfig(sensors=frozenset({"USA"})))
    det = Detections(
        np.array([[0.0, 0.0], [np.nan, 1.0], [np.inf, 2.0], [5.0, 5.0], [9.0, 9.0], [1.0, 1.0]]),
        np.array([10.0, 10.0, 10.0, 0.0, np.nan, 10.0]),
        np.array(["USA", "USA", "USA", "USA", "USA", "XXX"]),
    )
    res = tracker.step(0.0, det)
    assert res.rejects.counts == {"nonfinite_position": 2, "bad_sigma": 2, "unknown_sensor": 1}
    assert len(tracker) == 1
    assert np.isfinite(tracker.tracks(confirmed_only=False).x).all()


def test_out_of_order_and_nonfinite_scans_are_skipped() -> None:
    tracker = Tracker()
    tracker.step(5.0, Detections.of([[0.0, 0.0]], 10.0))
    before = tracker.tracks(confirmed_only=False)
    res = tracker.step(4.0, Detections.of([[1.0, 1.0]], 10.0))
    assert res.rejects.counts == {"out_of_order_scan": 1}
    res = tracker.step(float("nan"), Detections.empty())
    assert res.rejects.counts == {"nonfinite_time": 1}
    after = tracker.tracks(confirmed_only=False)
    np.testing.assert_array_equal(before.x, after.x)
    assert tracker.time == 5.0
    assert tracker.rejects.total == 2


def test_wrong_dimension_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="z"):
        Tracker().step(0.0, Detections.of([[1.0, 2.0, 3.0]], 1.0))
    with pytest.raises(ValidationError, match="confirm_m"):
        TrackerConfig(confirm_m=5, confirm_n=3)


def test_empty_scans_coast_then_delete() -> None:
    tracker = Tracker(config=TrackerConfig(max_misses=3))
    for k in range(4):
        tracker.step(float(k), Detections.of([[0.0, 20.0 * k]], 10.0))
    assert len(tracker.tracks()) == 1
    for k in range(4, 6):
        res = tracker.step(float(k), Detections.empty())
        assert len(res.tracks) == 1  # coasting on the prediction
    res = tracker.step(6.0, Detections.empty())
    assert len(res.tracks) == 0
    assert res.deleted.tolist() == [1]


def test_a_scan_of_100000_clutter_points_is_bounded() -> None:
    rng = np.random.default_rng(3)
    tracker = Tracker(config=TrackerConfig(max_tracks=20_000))
    for k in range(3):
        tracker.step(float(k), Detections.of([[0.0, 10.0 * k]], 10.0))
    clutter = rng.uniform(-1e6, 1e6, (100_000, 2))
    t0 = time.perf_counter()
    res = tracker.step(3.0, Detections.of(np.vstack([[[0.0, 30.0]], clutter]), 10.0))
    tracker.step(4.0, Detections.of([[0.0, 40.0]], 10.0))
    assert time.perf_counter() - t0 < 30.0
    assert res.rejects.counts["births_dropped"] == 100_000 - 20_000 + 1
    assert len(tracker) <= 20_000
    assert len(tracker.tracks()) == 1
    assert np.isfinite(tracker.tracks().x).all()


def test_an_empty_scan_is_fine_for_a_3d_tracker() -> None:
    # M-of-N keeps a tentative track through a miss (a score would drop it at pd 0.9).
    tracker = Tracker(ConstantVelocity(dim=3), TrackerConfig(confirm="m_of_n"))
    tracker.step(0.0, Detections.of([[1.0, 2.0, 3.0]], 5.0))
    res = tracker.step(1.0, Detections.empty())
    assert res.rejects.total == 0 and len(tracker) == 1
