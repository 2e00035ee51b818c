"""The live stock: what each depot holds, what is on the road, stepped one day at a time.

Within a day the order is fixed: depot losses, arrivals, production, consumption, shipments.
Every round is accounted for: initial + produced = consumed + on hand + in transit + destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from kizuna.errors import ValidationError
from kizuna.sustain._campaign import Campaign
from kizuna.sustain._model import SustainModel
from kizuna.sustain._schedule import Schedule, build_schedule

__all__ = ["Ledger", "StockSink", "StockSource", "Stockpile"]

IntArray = npt.NDArray[np.int64]


@runtime_checkable
class StockSource(Protocol):
    """What the coordination cell's allocation reads: rounds a nation holds of a type."""

    def on_hand(self, nation: str, munition_type: str) -> int: ...


@runtime_checkable
class StockSink(Protocol):
    """What the simulation calls when shooters fire; ``False`` means nothing was taken."""

    def consume(self, nation: str, munition_type: str, quantity: int = 1) -> bool: ...


@dataclass(frozen=True, slots=True)
class Ledger:
    """The rounds of one type, accounted for after a day."""

    initial: int
    produced: int
    consumed: int
    on_hand: int
    in_transit: int
    destroyed: int

    @property
    def balanced(self) -> bool:
        return self.initial + self.produced == (
            self.consumed + self.on_hand + self.in_transit + self.destroyed
        )


class Stockpile:
    """Mutable state behind a ``Schedule``; satisfies ``StockSource`` and ``StockSink``."""

    def __init__(
        self,
        model: SustainModel,
        schedule: Schedule,
        rng: np.random.Generator | None = None,
    ) -> None:
        if schedule.attacks and rng is None:
            raise ValidationError("a campaign with attacks needs a random generator", field="rng")
        self._model = model
        self._s = schedule
        self._rng = rng
        n_dep, n_mun, days = (*schedule.initial.shape, schedule.days)
        self._nation_depots: dict[str, list[int]] = {}
        for i, dep in enumerate(model.depots):
            self._nation_depots.setdefault(dep.nation, []).append(i)
        k = max((link[3] for link in schedule.links), default=1) + 1
        self.day = 0
        self.stock: IntArray = schedule.initial.copy()
        self._pipe: IntArray = np.zeros((k, n_dep, n_mun), dtype=np.int64)
        self.inbound: IntArray = np.zeros((n_dep, n_mun), dtype=np.int64)
        self.alive = np.ones(n_dep, dtype=bool)
        self.produced: IntArray = np.zeros(n_mun, dtype=np.int64)
        self.consumed: IntArray = np.zeros(n_mun, dtype=np.int64)
        self.destroyed: IntArray = np.zeros(n_mun, dtype=np.int64)
        self.refused = 0  # consume() calls that could not be met
        shape = (days + 1, n_dep, n_mun)
        self.history_stock: IntArray = np.zeros(shape, dtype=np.int64)
        self.history_stock[0] = self.stock
        self.history_transit: IntArray = np.zeros((days + 1, n_mun), dtype=np.int64)
        self.history_produced: IntArray = np.zeros((days + 1, n_mun), dtype=np.int64)
        self.history_consumed: IntArray = np.zeros((days + 1, n_mun), dtype=np.int64)
        self.history_destroyed: IntArray = np.zeros((days + 1, n_mun), dtype=np.int64)
        self.shortfall: IntArray = np.zeros(shape, dtype=np.int64)

    @classmethod
    def standing(cls, model: SustainModel, days: int = 365, *, surge: bool = False) -> Stockpile:
        """Stocks with production and transport but no scripted demand: for a simulation
        that fires through ``consume`` and calls ``step`` once per simulated day."""
        campaign = Campaign("standing", days, 0.0, surge, attacks=False, seed=0, consumption=())
        return cls(model, build_schedule(model, campaign))

    # -- the ports -------------------------------------------------------------------------
    def on_hand(self, nation: str, munition_type: str) -> int:
        m = self._model.munition(munition_type, field="munition_type")
        depots = self._nation_depots.get(nation, [])
        return int(self.stock[depots, m].sum()) if depots else 0

    def on_hand_at(self, depot: str, munition_type: str) -> int:
        """Rounds of a type in one depot."""
        m = self._model.munition(munition_type, field="munition_type")
        return int(self.stock[self._model.depot(depot), m])

    def consume(
        self, nation: str, munition_type: str, quantity: int = 1, *, depot: str | None = None
    ) -> bool:
        """Take ``quantity`` rounds from the nation's depots, fullest first (or from ``depot``
        only); all or nothing. A refusal is counted in ``refused``."""
        m = self._model.munition(munition_type, field="munition_type")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValidationError(f"must be a positive integer, got {quantity!r}", field="quantity")
        depots = self._nation_depots.get(nation, [])
        if depot is not None:
            i = self._model.depot(depot)
            if i not in depots:
                raise ValidationError(f"{depot!r} is not a depot of {nation}", field="depot")
            depots = [i]
        if not depots or int(self.stock[depots, m].sum()) < quantity:
            self.refused += 1
            return False
        left = quantity
        for i in sorted(depots, key=lambda i: (-int(self.stock[i, m]), i)):
            take = min(left, int(self.stock[i, m]))
            self.stock[i, m] -= take
            left -= take
            if left == 0:
                break
        self.consumed[m] += quantity
        return True

    # -- the day ---------------------------------------------------------------------------
    def step(self) -> None:
        """Advance one day; raises once the schedule's horizon is passed."""
        if self.day >= self._s.days:
            raise ValidationError(f"the schedule ends after day {self._s.days}", field="days")
        self.day += 1
        d = self.day
        self._losses(d)
        self._arrivals(d)
        self._produce(d)
        self._fire(d)
        self._ship(d)
        self.history_stock[d] = self.stock
        self.history_transit[d] = self.inbound.sum(axis=0)
        self.history_produced[d] = self.produced
        self.history_consumed[d] = self.consumed
        self.history_destroyed[d] = self.destroyed

    def _lose(self, i: int) -> None:
        self.destroyed += self.stock[i]
        self.stock[i] = 0
        self.alive[i] = False

    def _losses(self, d: int) -> None:
        if self._s.attacks and self._rng is not None:
            struck = self._rng.random(len(self.alive)) < self._s.vulnerability
        else:
            struck = np.zeros(len(self.alive), dtype=bool)
        for i, day in enumerate(self._s.loss_day):
            if self.alive[i] and (day == d or struck[i]):
                self._lose(i)

    def _arrivals(self, d: int) -> None:
        slot = d % len(self._pipe)
        arriving = self._pipe[slot].copy()
        self._pipe[slot] = 0
        self.inbound -= arriving
        self.stock[self.alive] += arriving[self.alive]
        self.destroyed += arriving[~self.alive].sum(axis=0)

    def _free(self) -> list[int]:
        """Room left per depot, counting what is already on its way there."""
        room: list[int] = (
            self._s.capacity - self.stock.sum(axis=1) - self.inbound.sum(axis=1)
        ).tolist()
        return room

    def _produce(self, d: int) -> None:
        row = self._s.production[d]
        lines = np.flatnonzero(row).tolist()
        if not lines:
            return
        free, alive = self._free(), self.alive.tolist()
        for j in lines:
            i, m = self._s.line_depot[j], self._s.line_munition[j]
            if not alive[i]:
                continue
            made = min(int(row[j]), max(free[i], 0))
            self.stock[i, m] += made
            self.produced[m] += made
            free[i] -= made

    def _fire(self, d: int) -> None:
        demand = self._s.demand[d]
        served = np.minimum(demand, self.stock)
        served[~self.alive] = 0
        self.stock -= served
        self.consumed += served.sum(axis=0)
        self.shortfall[d] = demand - served

    def _ship(self, d: int) -> None:
        target, stock, inbound, pipe = self._s.target[d], self.stock, self.inbound, self._pipe
        alive, free = self.alive.tolist(), self._free()
        for origin, dest, lift, delay in self._s.links:
            if not (alive[origin] and alive[dest]):
                continue
            cap = min(lift, free[dest])
            if cap <= 0:
                continue
            want = np.minimum(
                target[dest] - stock[dest] - inbound[dest], stock[origin] - target[origin]
            )
            np.maximum(want, 0, out=want)
            total = int(want.sum())
            if total == 0:
                continue
            if total > cap:
                # greedy in catalogue order: each type takes what the lift has left
                before = np.cumsum(want) - want
                want = np.minimum(np.maximum(cap - before, 0), want)
                total = cap
            stock[origin] -= want
            pipe[(d + delay) % len(pipe), dest] += want
            inbound[dest] += want
            free[dest] -= total
            free[origin] += total

    # -- accounts --------------------------------------------------------------------------
    def ledger(self, munition_type: str) -> Ledger:
        m = self._model.munition(munition_type, field="munition_type")
        return Ledger(
            initial=int(self._s.initial[:, m].sum()),
            produced=int(self.produced[m]),
            consumed=int(self.consumed[m]),
            on_hand=int(self.stock[:, m].sum()),
            in_transit=int(self.inbound[:, m].sum()),
            destroyed=int(self.destroyed[m]),
        )
