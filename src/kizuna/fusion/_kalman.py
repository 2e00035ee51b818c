"""Batched Kalman filter steps: every function works on stacks of states at once.

States are positions then velocities and the measurement is the position, so H = [I 0]; a
stack has any leading shape (tracks, or tracks × motion modes).
"""

from __future__ import annotations

import numpy as np

from kizuna.fusion._types import FloatArray

__all__ = ["innovation_cov", "inv", "inv_sym", "log_gaussian", "predict", "update"]

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
    x_new = np.einsum("...ij,...j->...i", f, x)
    p_new = f @ p @ np.swapaxes(f, -1, -2) + q
    return np.asarray(x_new, dtype=np.float64), np.asarray(p_new, dtype=np.float64)


def innovation_cov(p: FloatArray, r_var: FloatArray) -> FloatArray:
    """S = H P Hᵀ + R with H = [I 0] and R = r_var·I per row (r_var broadcasts to p[..., 0, 0])."""
    d = p.shape[-1] // 2
    s = p[..., :d, :d].copy()
    idx = np.arange(d)
    s[..., idx, idx] += np.asarray(r_var)[..., None]
    return s


def log_gaussian(nu: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(νᵀ S⁻¹ ν, log N(ν; 0, S)) for stacks ν (..., d) and S (..., d, d)."""
    d = nu.shape[-1]
    s_inv = inv_sym(s)
    d2 = np.einsum("...i,...ij,...j->...", nu, s_inv, nu)
    _, logdet = np.linalg.slogdet(s)
    return np.asarray(d2, dtype=np.float64), -0.5 * (d2 + logdet + d * _LOG_2PI)


def update(
    x: FloatArray, p: FloatArray, z: FloatArray, r_var: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Measurement update of each state with its own position measurement z (..., d) of
    variance r_var (...): returns the new states, covariances and log N(ν; 0, S).

    Uses the Joseph form, which keeps P symmetric and positive semi-definite in floating
    point where the short form does not.
    """
    s_dim = x.shape[-1]
    d = s_dim // 2
    s = innovation_cov(p, r_var)
    nu = z - x[..., :d]
    _, loglik = log_gaussian(nu, s)
    k = p[..., :, :d] @ inv_sym(s)  # (..., s, d)
    x_new = x + np.einsum("...ij,...j->...i", k, nu)
    ikh = np.broadcast_to(np.eye(s_dim), p.shape).copy()
    ikh[..., :, :d] -= k
    kr = k * np.asarray(r_var)[..., None, None]
    p_new = ikh @ p @ np.swapaxes(ikh, -1, -2) + kr @ np.swapaxes(k, -1, -2)
    p_new = 0.5 * (p_new + np.swapaxes(p_new, -1, -2))
    return np.asarray(x_new, dtype=np.float64), p_new, loglik
