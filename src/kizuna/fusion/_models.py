"""Motion models. The tracker needs only F(dt) and Q(dt), so a model is a small Protocol.

States are laid out as positions then velocities, ``[x, y, vx, vy]`` in 2-D, so the
measurement matrix is ``[I 0]`` for every model that keeps that layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from kizuna.fusion._types import FloatArray

__all__ = ["ConstantVelocity", "MotionModel"]


class MotionModel(Protocol):
    @property
    def dim(self) -> int:
        """Spatial dimension (2 or 3); the state has ``2 * dim`` entries."""
        ...

    def transition(self, dt: float) -> FloatArray:
        """The state transition matrix F for a step of ``dt`` seconds."""
        ...

    def noise(self, dt: float) -> FloatArray:
        """The process noise covariance Q for a step of ``dt`` seconds."""
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

    def transition(self, dt: float) -> FloatArray:
        eye = np.eye(self.dim)
        return np.block([[eye, dt * eye], [np.zeros_like(eye), eye]])

    def noise(self, dt: float) -> FloatArray:
        eye = np.eye(self.dim)
        q = self.q
        return np.block(
            [
                [q * dt**3 / 3 * eye, q * dt**2 / 2 * eye],
                [q * dt**2 / 2 * eye, q * dt * eye],
            ]
        )
