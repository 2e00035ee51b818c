"""The simulation's clock: production code reads SimPy's virtual time through the Clock protocol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import simpy

__all__ = ["SimClock"]


class SimClock:
    """``now()`` is the scenario epoch plus SimPy's ``env.now`` seconds."""

    def __init__(self, env: simpy.Environment, epoch: datetime) -> None:
        if epoch.tzinfo is None:
            raise ValueError("SimClock needs a timezone-aware epoch")
        self._env = env
        self._epoch = epoch.astimezone(UTC)

    def now(self) -> datetime:
        return self._epoch + timedelta(seconds=float(self._env.now))

    def monotonic(self) -> float:
        return float(self._env.now)
