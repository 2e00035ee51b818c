"""Covariance intersection: fusing two estimates whose cross-correlation is unknown.

    P⁻¹ = ω Pa⁻¹ + (1 − ω) Pb⁻¹,   x = P (ω Pa⁻¹ xa + (1 − ω) Pb⁻¹ xb)

is consistent for every cross-correlation (Julier and Uhlmann 1997). ω is chosen per pair
to minimise trace(P). Diagonalising Pa⁻¹ and Pb⁻¹ together once per pair turns trace(P(ω))
into a sum of s scalar terms, so the search over ω costs no matrix work at all.
"""

from __future__ import annotations

import numpy as np

from kizuna.fusion._kalman import inv
from kizuna.fusion._types import FloatArray

__all__ = ["covariance_intersection"]

_GOLD = (np.sqrt(5.0) - 1) / 2


def _trace_terms(ia: FloatArray, ib: FloatArray) -> tuple[FloatArray, FloatArray]:
    """λ, c with trace((ω Ia + (1-ω) Ib)⁻¹) = Σ c / (ω λ + 1 − ω).

    With Ib = L Lᵀ and L⁻¹ Ia L⁻ᵀ = U Λ Uᵀ, the information matrix is L U (ωΛ + (1−ω)I) Uᵀ Lᵀ,
    whose inverse has trace Σ ‖(L⁻ᵀ U)ᵢ‖² / (ω λᵢ + 1 − ω).
    """
    linv = inv(np.asarray(np.linalg.cholesky(ib), dtype=np.float64))
    lam, u = np.linalg.eigh(linv @ ia @ linv.transpose(0, 2, 1))
    g = linv.transpose(0, 2, 1) @ u
    return lam, (g**2).sum(axis=1)


def _trace(lam: FloatArray, c: FloatArray, w: FloatArray) -> FloatArray:
    out: FloatArray = (c / (w[:, None] * lam + (1 - w)[:, None])).sum(axis=1)
    return out


def covariance_intersection(
    xa: FloatArray, pa: FloatArray, xb: FloatArray, pb: FloatArray, *, iters: int = 48
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fuse stacks (m, s) / (m, s, s) pairwise. Returns (x, P, ω)."""
    ia, ib = inv(pa), inv(pb)
    lam, c = _trace_terms(ia, ib)
    lo, hi = np.zeros(xa.shape[0]), np.ones(xa.shape[0])
    for _ in range(iters):  # trace(P(ω)) is convex in ω, so a bracket search finds its minimum
        a = hi - _GOLD * (hi - lo)
        b = lo + _GOLD * (hi - lo)
        left = _trace(lam, c, a) < _trace(lam, c, b)
        hi = np.where(left, b, hi)
        lo = np.where(left, lo, a)
    w = (lo + hi) / 2
    # The ends are candidates too: when one estimate is far better, ω = 0 or 1 wins.
    ends = np.stack(
        [_trace(lam, c, np.zeros_like(w)), _trace(lam, c, w), _trace(lam, c, np.ones_like(w))]
    )
    w = np.choose(np.argmin(ends, axis=0), [np.zeros_like(w), w, np.ones_like(w)])
    info = w[:, None, None] * ia + (1 - w)[:, None, None] * ib
    p = inv(info)
    rhs = w[:, None] * np.einsum("mij,mj->mi", ia, xa) + (1 - w)[:, None] * np.einsum(
        "mij,mj->mi", ib, xb
    )
    x = np.einsum("mij,mj->mi", p, rhs)
    return x, 0.5 * (p + p.transpose(0, 2, 1)), w
