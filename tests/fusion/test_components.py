"""Each component against a plain reference: the Kalman update against the textbook
equations, the IMM against filterpy's ``IMMEstimator``, a batch of trackers against each
tracker alone, and score confirmation against M-of-N."""

from __future__ import annotations

import numpy as np
from filterpy.kalman import IMMEstimator, KalmanFilter
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from kizuna.fusion import (
    ConstantVelocity,
    Detections,
    MotionMix,
    ScenarioSpec,
    SensorSpec,
    Tracker,
    TrackerConfig,
    TruthFrame,
    generate,
    score_run,
    step,
)
from kizuna.fusion._components import ImmPredictor, KalmanUpdater
from kizuna.fusion._kalman import update
from kizuna.fusion.base import Scan, Tracks


def _spd(rng: np.random.Generator, s: int) -> np.ndarray:
    a = rng.normal(0, 10, (s, s))
    return a @ a.T + s * np.eye(s)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 3]))
def test_kalman_update_is_the_textbook_one(seed: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    s = 2 * d
    x, p = rng.normal(0, 100, s), _spd(rng, s)
    z, r = rng.normal(0, 100, d), float(rng.uniform(1, 400))
    h = np.hstack([np.eye(d), np.zeros((d, d))])
    big_s = h @ p @ h.T + r * np.eye(d)
    k = p @ h.T @ np.linalg.inv(big_s)
    want_x = x + k @ (z - h @ x)
    want_p = (np.eye(s) - k @ h) @ p
    got_x, got_p, loglik = update(x[None], p[None], z[None], np.array([r]))
    np.testing.assert_allclose(got_x[0], want_x, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(got_p[0], want_p, rtol=1e-7, atol=1e-6)
    want_ll = multivariate_normal(h @ x, big_s).logpdf(z)
    np.testing.assert_allclose(loglik[0], want_ll, rtol=1e-9, atol=1e-9)


def _filterpy_imm(
    mix: MotionMix, dt: float, r: float, x0: np.ndarray, p0: np.ndarray
) -> IMMEstimator:
    filters = []
    for m in mix.models:
        kf = KalmanFilter(dim_x=4, dim_z=2)
        kf.x, kf.P = x0.copy(), p0.copy()
        kf.F, kf.Q = m.transition(dt), m.noise(dt)
        kf.H = np.hstack([np.eye(2), np.zeros((2, 2))])
        kf.R = r * np.eye(2)
        filters.append(kf)
    return IMMEstimator(filters, np.array(mix.initial), np.array(mix.switch))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_imm_matches_filterpy_on_random_inputs(seed: int) -> None:
    """A batch of independent IMMs, each with random switching, noises and measurements,
    gives filterpy's state, covariance and mode chances after every update."""
    rng = np.random.default_rng(seed)
    n, steps, dt = 4, 8, float(rng.uniform(0.5, 5))
    stay = rng.uniform(0.6, 0.99, 2)
    mix = MotionMix(
        (ConstantVelocity(float(rng.uniform(0, 2))), ConstantVelocity(float(rng.uniform(5, 80)))),
        ((stay[0], 1 - stay[0]), (1 - stay[1], stay[1])),
        tuple(np.array([0.3, 0.7]) if seed % 2 else np.array([0.5, 0.5])),
    )
    r = float(rng.uniform(10, 900))
    x0 = rng.normal(0, 50, (n, 4))
    p0 = np.stack([_spd(rng, 4) for _ in range(n)])
    refs = [_filterpy_imm(mix, dt, r, x0[i], p0[i]) for i in range(n)]
    predictor, updater = ImmPredictor(mix), KalmanUpdater()
    i64 = np.zeros(n, dtype=np.int64)
    tracks = Tracks(
        i64, np.arange(n), np.repeat(x0[:, None], 2, axis=1), np.repeat(p0[:, None], 2, axis=1),
        np.tile(np.array(mix.initial), (n, 1)), np.zeros(n), np.zeros(n), i64, i64, i64,
        np.zeros(n, dtype=bool),
    )  # fmt: skip
    rows = np.arange(n)
    for _ in range(steps):
        tracks = predictor.predict(tracks, np.full(n, dt))
        # Near the prediction, so no likelihood underflows (filterpy floors those).
        z = tracks.estimate()[0][:, :2] + rng.normal(0, 3 * np.sqrt(r), (n, 2))
        tracks = updater.update(tracks, rows, Scan(i64, z, np.full(n, r)), rows)
        x, p = tracks.estimate()
        for i, ref in enumerate(refs):
            ref.predict()
            ref.update(z[i])
            np.testing.assert_allclose(tracks.mu[i], ref.mu, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(x[i], ref.x, rtol=1e-7, atol=1e-6)
            np.testing.assert_allclose(p[i], ref.P, rtol=1e-7, atol=1e-6)


def _scan(rng: np.random.Generator, k: int, t: float) -> Detections:
    truth = np.column_stack([np.arange(k) * 5000.0, np.full(k, 100.0 * t)])
    return Detections.of(truth + rng.normal(0, 10, (k, 2)), 10.0)


def test_a_batch_steps_each_tracker_as_it_would_alone() -> None:
    rng = np.random.default_rng(3)
    configs = [TrackerConfig(), TrackerConfig(pd=0.8, gate=9.0), TrackerConfig(max_tracks=3)]
    alone = [Tracker(config=c) for c in configs]
    batch = [Tracker(config=c) for c in configs]
    for k in range(12):
        scans = [_scan(rng, 2 + j, float(k)) for j in range(len(configs))]
        want = [t.step(float(k), d) for t, d in zip(alone, scans, strict=True)]
        got = step(batch, float(k), scans)
        for a, b in zip(want, got, strict=True):
            np.testing.assert_array_equal(a.tracks.ids, b.tracks.ids)
            np.testing.assert_allclose(a.tracks.x, b.tracks.x, rtol=1e-12, atol=1e-9)
            np.testing.assert_array_equal(a.confirmed_now, b.confirmed_now)
            assert a.rejects.counts == b.rejects.counts
    assert len(batch[2]) == 3


def test_score_confirms_no_later_than_m_of_n_and_drops_a_false_alarm_at_once() -> None:
    first: dict[str, int] = {}
    for mode in ("score", "m_of_n"):
        tracker = Tracker(ConstantVelocity(1.0), TrackerConfig(confirm=mode))  # type: ignore[arg-type]
        for k in range(6):
            res = tracker.step(float(k), Detections.of([[0.0, 50.0 * k]], 10.0))
            if res.confirmed_now.size and mode not in first:
                first[mode] = k
    assert first["score"] <= first["m_of_n"]
    tracker = Tracker(config=TrackerConfig(pd=0.95))
    tracker.step(0.0, Detections.of([[0.0, 0.0]], 10.0))
    tracker.step(1.0, Detections.empty())
    assert len(tracker) == 0  # one miss at pd 0.95 is enough evidence against it


def _frames(spec: ScenarioSpec, tracker: Tracker, seed: int) -> list[TruthFrame]:
    sc = generate(spec, np.random.default_rng(seed))
    out = []
    for k, (t, det) in enumerate(sc.scans("USA")):
        res = tracker.step(t, det)
        tid, tx = sc.truth_at(k)
        out.append(TruthFrame(t, res.tracks.ids, res.tracks.positions, tid, tx[:, :2]))
    return out


def test_the_default_tracker_follows_manoeuvring_targets_without_tuning() -> None:
    """Targets that turn hard: the default (IMM, score) tracker, told only the sensor's pd
    and clutter, beats one CV model of the default noise and M-of-N."""
    spec = ScenarioSpec(
        n_targets=30,
        n_scans=80,
        manoeuvre_prob=0.05,
        turn_rate=np.deg2rad(6.0),
        speed=(30.0, 80.0),
        sensors=(SensorSpec("USA", sigma=15.0, pd=0.95, clutter_per_km2=0.02),),
    )
    adaptive = Tracker(config=TrackerConfig(pd=0.95, clutter_density=2e-8))
    plain = Tracker(config=TrackerConfig(motion="cv", confirm="m_of_n"))
    a = score_run(_frames(spec, adaptive, 11))
    b = score_run(_frames(spec, plain, 11))
    assert a.gospa_mean < b.gospa_mean
    assert a.missed_mean < b.missed_mean
    assert a.id_switches <= b.id_switches
