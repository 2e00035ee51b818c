"""Batched Kalman filter steps: every function works on stacks of states at once.

States are positions then velocities and the measurement is the position, so H = [I 0]; a
stack has any leading shape (tracks, or tracks × motion modes).
"""

from __future__ import annotations

import numpy as np

from kizuna.fusion._types import FloatArray

__all__ = ["inv", "inv_sym", "predict", "update"]

_LOG_2PI = float(np.log(2.0 * np.pi))


def inv(a: FloatArray) -> FloatArray:
    """Inverse of a stack of square matrices, typed as float64."""
    return np.asarray(np.linalg.inv(a), dtype=np.float64)


def inv_sym(s: FloatArray) -> FloatArray:
    """Inverse of a stack of symmetric positive-definite matrices, kept symmetric."""
    out = inv(s)
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def predict(
    x: FloatArray, p: FloatArray, f: FloatArray, q: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """x' = F x, P' = F P Fᵀ + Q for stacks x (..., s) and P (..., s, s); F and Q broadcast
    against the stack (one for all, or one per row)."""
    x_new: FloatArray = (f @ x[..., None])[..., 0]
    p_new: FloatArray = f @ p @ np.swapaxes(f, -1, -2) + q
    return x_new, p_new


def update(
    x: FloatArray, p: FloatArray, z: FloatArray, r_var: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Measurement update of each state with its own position measurement z (..., d) of
    variance r_var (...; both broadcast against the states): returns the new states,
    covariances and log N(ν; 0, S).

    The measurement noise is r·I, so with the position covariance H P Hᵀ = V Λ Vᵀ the
    innovation covariance is S = V (Λ + r) Vᵀ: one eigendecomposition gives S⁻¹ and
    log |S|. Uses the Joseph form, which keeps P symmetric and positive semi-definite in
    floating point where the short form does not.
    """
    s_dim = x.shape[-1]
    d = s_dim // 2
    r = np.asarray(r_var)[..., None]
    lam, vec = np.linalg.eigh(p[..., :d, :d])
    den = np.maximum(lam, 0.0) + r  # rounding may leave a tiny negative eigenvalue
    s_inv = (vec / den[..., None, :]) @ np.swapaxes(vec, -1, -2)
    nu = z - x[..., :d]
    d2 = (nu[..., None, :] @ s_inv @ nu[..., :, None])[..., 0, 0]
    loglik = -0.5 * (d2 + np.add.reduce(np.log(den), axis=-1) + d * _LOG_2PI)
    k = p[..., :, :d] @ s_inv  # (..., s, d)
    x_new: FloatArray = x + (k @ nu[..., :, None])[..., 0]
    ikh = np.zeros(p.shape)
    ikh[..., np.arange(s_dim), np.arange(s_dim)] = 1.0
    ikh[..., :, :d] -= k
    kr = k * r[..., None]
    p_new = ikh @ p @ np.swapaxes(ikh, -1, -2) + kr @ np.swapaxes(k, -1, -2)
    p_new = 0.5 * (p_new + np.swapaxes(p_new, -1, -2))
    return x_new, p_new, loglik
