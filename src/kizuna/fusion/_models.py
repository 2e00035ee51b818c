"""Motion models. The tracker needs only F(dt) and Q(dt), so a model is a small Protocol;
``MotionMix`` combines several into an interacting multiple model (IMM).

States are laid out as positions then velocities, ``[x, y, vx, vy]`` in 2-D, so the
measurement matrix is ``[I 0]`` for every model that keeps that layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kizuna.fusion._types import FloatArray

__all__ = ["ConstantVelocity", "MotionMix", "MotionModel"]


class MotionModel(Protocol):
    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3); the state has ``2 * dim`` entries."""
        ...

    def transition(self, dt: float | FloatArray) -> FloatArray:
        """The state transition matrix F for a step of ``dt`` seconds: (s, s) for one dt,
        (k, s, s) for an array of k."""
        ...

    def noise(self, dt: float | FloatArray) -> FloatArray:
        """The process noise covariance Q for a step of ``dt`` seconds, shaped as F."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantVelocity:
    """Nearly-constant velocity: white acceleration noise of spectral density ``q`` (m²/s³)."""

    q: float = 1.0
    dim: int = 2

    def __post_init__(self) -> None:
        if not (np.isfinite(self.q) and self.q >= 0):
            raise ValueError("q must be finite and >= 0")
        if self.dim not in (1, 2, 3):
            raise ValueError("dim must be 1, 2 or 3")

    def transition(self, dt: float | FloatArray) -> FloatArray:
        t = np.asarray(dt, dtype=np.float64)
        return _blocks(self.dim, (np.ones_like(t), t, np.zeros_like(t), np.ones_like(t)))

    def noise(self, dt: float | FloatArray) -> FloatArray:
        t = np.asarray(dt, dtype=np.float64)
        q = self.q
        return _blocks(self.dim, (q * t**3 / 3, q * t**2 / 2, q * t**2 / 2, q * t))


def _blocks(d: int, abcd: tuple[FloatArray, FloatArray, FloatArray, FloatArray]) -> FloatArray:
    """[[a·I, b·I], [c·I, d·I]] for an identity I of size d, for each of a stack of
    coefficients (or for one)."""
    a, b, c, e = abcd
    out = np.zeros((*a.shape, 2 * d, 2 * d))
    i = np.arange(d)
    out[..., i, i] = a[..., None]
    out[..., i, i + d] = b[..., None]
    out[..., i + d, i] = c[..., None]
    out[..., i + d, i + d] = e[..., None]
    return out


@dataclass(frozen=True, slots=True)
class MotionMix:
    """An IMM's motion modes and their Markov switching: ``switch[i][j]`` is the chance per
    scan to go from mode i to mode j (rows sum to 1); ``initial`` a newborn's mode chances."""

    models: tuple[MotionModel, ...]
    switch: tuple[tuple[float, ...], ...]
    initial: tuple[float, ...]

    def __post_init__(self) -> None:
        r = len(self.models)
        m = np.asarray(self.switch, dtype=np.float64)
        mu = np.asarray(self.initial, dtype=np.float64)
        if r < 1 or m.shape != (r, r) or mu.shape != (r,):
            raise ValueError("need one switch row and one initial chance per model")
        if not (np.all(m >= 0) and np.allclose(m.sum(axis=1), 1.0)):
            raise ValueError("switch rows must be chances summing to 1")
        if not (np.all(mu >= 0) and np.isclose(mu.sum(), 1.0)):
            raise ValueError("initial chances must sum to 1")
        if len({mdl.dim for mdl in self.models}) != 1:
            raise ValueError("every model must have the same dim")

    @property
    def dim(self) -> int:
        return self.models[0].dim

    @classmethod
    def single(cls, model: MotionModel) -> MotionMix:
        """One model: a Kalman filter, the IMM of one mode."""
        return cls((model,), ((1.0,),), (1.0,))

    @classmethod
    def quiet_and_manoeuvring(
        cls, q_quiet: float = 0.1, q_manoeuvre: float = 80.0, dim: int = 2
    ) -> MotionMix:
        """Two nearly-constant-velocity modes: a quiet one for straight legs and a noisy one
        that absorbs turns and accelerations (``q_manoeuvre`` m²/s³ covers a sharp turn's
        change of velocity over a few seconds). Legs last tens of scans, turns a few."""
        return cls(
            (ConstantVelocity(q_quiet, dim), ConstantVelocity(q_manoeuvre, dim)),
            ((0.95, 0.05), (0.10, 0.90)),
            (0.5, 0.5),
        )
