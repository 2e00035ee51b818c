"""Covariance intersection is consistent whatever the unknown cross-correlation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.fusion import covariance_intersection


def _spd(rng: np.random.Generator, s: int) -> np.ndarray:
    a = rng.normal(size=(s, s)) * rng.uniform(0.1, 30.0)
    return a @ a.T + np.eye(s) * rng.uniform(0.01, 5.0)


def _contraction(rng: np.random.Generator, s: int, rho: float) -> np.ndarray:
    """A matrix of spectral norm ``rho`` <= 1: any such C gives a valid joint covariance."""
    u, _, vt = np.linalg.svd(rng.normal(size=(s, s)))
    return rho * u @ vt


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 1.0), st.sampled_from([2, 4]))
def test_ci_is_never_over_confident(seed: int, rho: float, s: int) -> None:
    rng = np.random.default_rng(seed)
    pa, pb = _spd(rng, s), _spd(rng, s)
    la, lb = np.linalg.cholesky(pa), np.linalg.cholesky(pb)
    pab = la @ _contraction(rng, s, rho) @ lb.T  # the true, unknown cross-covariance
    _, p, w = covariance_intersection(np.zeros((1, s)), pa[None], np.zeros((1, s)), pb[None])
    ia, ib = np.linalg.inv(pa), np.linalg.inv(pb)
    ka, kb = w[0] * p[0] @ ia, (1 - w[0]) * p[0] @ ib
    actual = ka @ pa @ ka.T + ka @ pab @ kb.T + kb @ pab.T @ ka.T + kb @ pb @ kb.T
    gap = np.linalg.eigvalsh(p[0] - actual)
    assert gap.min() >= -1e-7 * np.abs(p[0]).max()
    assert 0.0 <= w[0] <= 1.0
    assert np.trace(p[0]) <= min(np.trace(pa), np.trace(pb)) * (1 + 1e-6)


def test_ci_of_one_estimate_with_itself_is_that_estimate() -> None:
    rng = np.random.default_rng(0)
    pa = _spd(rng, 4)[None]
    xa = rng.normal(size=(1, 4))
    x, p, _ = covariance_intersection(xa, pa, xa, pa)
    np.testing.assert_allclose(x, xa, atol=1e-9)
    np.testing.assert_allclose(p, pa, rtol=1e-9)


def test_ci_picks_the_better_estimate_when_one_dominates() -> None:
    good, poor = np.eye(2)[None], (np.eye(2) * 1e4)[None]
    x, p, w = covariance_intersection(np.ones((1, 2)), good, np.zeros((1, 2)), poor)
    assert w[0] > 0.99
    np.testing.assert_allclose(x[0], [1.0, 1.0], atol=1e-2)
    assert np.trace(p[0]) <= 2.0 + 1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_omega_minimises_the_fused_trace(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pa, pb = _spd(rng, 4), _spd(rng, 4)
    _, p, _ = covariance_intersection(np.zeros((1, 4)), pa[None], np.zeros((1, 4)), pb[None])
    ia, ib = np.linalg.inv(pa), np.linalg.inv(pb)
    grid = np.linspace(0.0, 1.0, 1001)
    best = min(np.trace(np.linalg.inv(w * ia + (1 - w) * ib)) for w in grid)
    assert np.trace(p[0]) <= best * (1 + 1e-9)
