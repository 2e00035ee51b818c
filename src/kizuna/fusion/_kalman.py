"""Batched Kalman filter steps: every function works on stacks of states at once."""

from __future__ import annotations

import numpy as np

from kizuna.fusion._types import FloatArray

__all__ = [
    "innovation_cov",
    "innovation_inv",
    "inv",
    "inv_sym",
    "predict",
    "predict_cov",
    "predict_state",
    "update",
]


def inv(a: FloatArray) -> FloatArray:
    """Inverse of a stack of square matrices, typed as float64."""
    return np.asarray(np.linalg.inv(a), dtype=np.float64)


def predict(
    x: FloatArray, p: FloatArray, f: FloatArray, q: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """x' = F x, P' = F P Fᵀ + Q for stacks x (n, s) and P (n, s, s)."""
    return predict_state(x, f), predict_cov(p, f, q)


def predict_state(x: FloatArray, f: FloatArray) -> FloatArray:
    """x' = F x for a stack x (n, s). One BLAS product for the stack, whose last bits may
    depend on n: a state is only the same to the bit when predicted with the same rows."""
    out: FloatArray = x @ f.T
    return out


def predict_cov(p: FloatArray, f: FloatArray, q: FloatArray) -> FloatArray:
    """P' = F P Fᵀ + Q for a stack P (n, s, s): one product per matrix, so each matrix comes
    out the same to the bit however many are predicted together."""
    out: FloatArray = f @ p @ f.T + q
    return out


def inv_sym(s: FloatArray) -> FloatArray:
    """Inverse of a stack of small symmetric positive-definite matrices (closed form in 2-D)."""
    if s.shape[-1] == 2:
        a, b, d = s[..., 0, 0], s[..., 0, 1], s[..., 1, 1]
        det = a * d - b * b
        out = np.empty_like(s)
        out[..., 0, 0] = d / det
        out[..., 1, 1] = a / det
        out[..., 0, 1] = out[..., 1, 0] = -b / det
        return out
    return inv(s)


def innovation_cov(p: FloatArray, r_var: FloatArray) -> FloatArray:
    """S = H P Hᵀ + R with H = [I 0] and R = diag(r_var) per row."""
    d = p.shape[-1] // 2
    s = p[..., :d, :d].copy()
    idx = np.arange(d)
    s[..., idx, idx] += r_var[..., None]
    return s


def innovation_inv(p: FloatArray, r_var: FloatArray) -> FloatArray:
    """S⁻¹ for S = H P Hᵀ + R: ``inv_sym(innovation_cov(p, r_var))``, in 2-D without building S."""
    if p.shape[-1] != 4:
        return inv_sym(innovation_cov(p, r_var))
    a = p[:, 0, 0] + r_var
    b = p[:, 0, 1]
    d = p[:, 1, 1] + r_var
    det = a * d - b * b
    out = np.empty((p.shape[0], 2, 2))
    out[:, 0, 0] = d / det
    out[:, 1, 1] = a / det
    out[:, 0, 1] = out[:, 1, 0] = -b / det
    return out


def update(
    x: FloatArray, p: FloatArray, z: FloatArray, r_var: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Measurement update of each state with its own position measurement z (n, d).

    Uses the Joseph form, which keeps P symmetric and positive semi-definite in floating
    point where the short form does not.
    """
    n, s_dim = x.shape
    d = s_dim // 2
    k = p[:, :, :d] @ innovation_inv(p, r_var)  # (n, s, d)
    nu = z - x[:, :d]
    if d == 2:  # Kν as einsum makes it: the two products, summed
        x_new = x + (k[:, :, 0] * nu[:, 0, None] + k[:, :, 1] * nu[:, 1, None])
    else:
        x_new = x + np.einsum("nij,nj->ni", k, nu)
    ikh = np.zeros((n, s_dim, s_dim))
    ikh.reshape(n, s_dim * s_dim)[:, :: s_dim + 1] = 1.0
    ikh[:, :, :d] -= k
    kr = k * r_var[:, None, None]
    p_new = ikh @ p @ ikh.transpose(0, 2, 1) + kr @ k.transpose(0, 2, 1)
    return x_new, 0.5 * (p_new + p_new.transpose(0, 2, 1))
