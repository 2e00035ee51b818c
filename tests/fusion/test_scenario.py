"""The scenario generator: reproducible, and its sensors behave as specified."""

from __future__ import annotations

import numpy as np

from kizuna.fusion import ScenarioSpec, SensorSpec, generate


def test_same_seed_same_scenario() -> None:
    spec = ScenarioSpec(n_targets=5, n_scans=10)
    a = generate(spec, np.random.default_rng(3))
    b = generate(spec, np.random.default_rng(3))
    np.testing.assert_array_equal(a.det.z, b.det.z)
    np.testing.assert_array_equal(a.truth_x, b.truth_x)
    c = generate(spec, np.random.default_rng(4))
    assert not np.array_equal(a.truth_x, c.truth_x)


def test_sensors_respect_pd_noise_and_coverage() -> None:
    cover = SensorSpec("JPN", sigma=30.0, pd=0.5, clutter_per_km2=0.0, coverage=0.5)
    full = SensorSpec("USA", sigma=5.0, pd=1.0, clutter_per_km2=0.0)
    spec = ScenarioSpec(n_targets=200, n_scans=5, sensors=(full, cover), late_fraction=0.0)
    sc = generate(spec, np.random.default_rng(9))
    assert len(list(sc.scans("USA"))) == 5
    for k, (_, det) in enumerate(sc.scans("USA")):
        _, x = sc.truth_at(k)
        assert len(det) == 200
        nearest = np.min(np.linalg.norm(det.z[:, None] - x[None, :, :2], axis=2), axis=1)
        assert nearest.max() < 6 * 5.0
    radius = 0.5 * spec.side / 2
    for k, (_, det) in enumerate(sc.scans("JPN")):
        _, x = sc.truth_at(k)
        inside = int((np.hypot(x[:, 0], x[:, 1]) <= radius).sum())
        assert np.all(np.hypot(det.z[:, 0], det.z[:, 1]) <= radius + 6 * 30.0)
        assert 0.3 * inside <= len(det) <= 0.7 * inside


def test_clutter_rate_follows_the_density() -> None:
    s = SensorSpec("USA", sigma=10.0, pd=0.0, clutter_per_km2=0.5)
    spec = ScenarioSpec(n_targets=4, n_scans=50, spacing=10_000.0, sensors=(s,))
    sc = generate(spec, np.random.default_rng(1))
    expected = 0.5 * (spec.side / 1000) ** 2 * 50
    assert abs(len(sc.det) - expected) < 4 * np.sqrt(expected)
