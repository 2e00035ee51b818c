"""Covariance intersection: fusing two estimates whose cross-correlation is unknown.

    P⁻¹ = ω Pa⁻¹ + (1 − ω) Pb⁻¹,   x = P (ω Pa⁻¹ xa + (1 − ω) Pb⁻¹ xb)

is consistent for every cross-correlation (Julier and Uhlmann 1997). ω is chosen per pair
to minimise trace(P), by a golden-section search run on all pairs at once.
"""

from __future__ import annotations

import numpy as np

from kizuna.fusion._kalman import inv
from kizuna.fusion._types import FloatArray

__all__ = ["covariance_intersection"]

_GOLD = (np.sqrt(5.0) - 1) / 2


def _trace_at(ia: FloatArray, ib: FloatArray, w: FloatArray) -> FloatArray:
    info = w[:, None, None] * ia + (1 - w)[:, None, None] * ib
    out: FloatArray = np.trace(inv(info), axis1=1, axis2=2)
    return out


def covariance_intersection(
    xa: FloatArray, pa: FloatArray, xb: FloatArray, pb: FloatArray, *, iters: int = 32
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fuse stacks (m, s) / (m, s, s) pairwise. Returns (x, P, ω)."""
    ia, ib = inv(pa), inv(pb)
    lo, hi = np.zeros(xa.shape[0]), np.ones(xa.shape[0])
    c = hi - _GOLD * (hi - lo)
    d = lo + _GOLD * (hi - lo)
    fc, fd = _trace_at(ia, ib, c), _trace_at(ia, ib, d)
    for _ in range(iters):
        left = fc < fd  # the minimum lies in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        c_new = hi - _GOLD * (hi - lo)
        d_new = lo + _GOLD * (hi - lo)
        # Golden section reuses one interior point; evaluating both keeps the code vectorised.
        c, d = c_new, d_new
        fc, fd = _trace_at(ia, ib, c), _trace_at(ia, ib, d)
    w = (lo + hi) / 2
    # The ends are candidates too: when one estimate is far better, ω = 0 or 1 wins.
    f_mid = _trace_at(ia, ib, w)
    f0, f1 = np.trace(pb, axis1=1, axis2=2), np.trace(pa, axis1=1, axis2=2)
    w = np.where(f0 < f_mid, 0.0, w)
    w = np.where((f1 < f_mid) & (f1 <= f0), 1.0, w)
    info = w[:, None, None] * ia + (1 - w)[:, None, None] * ib
    p: FloatArray = inv(info)
    rhs = w[:, None] * np.einsum("mij,mj->mi", ia, xa) + (1 - w)[:, None] * np.einsum(
        "mij,mj->mi", ib, xb
    )
    x = np.einsum("mij,mj->mi", p, rhs)
    return x, 0.5 * (p + p.transpose(0, 2, 1)), w
