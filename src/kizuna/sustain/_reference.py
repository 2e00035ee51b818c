"""A deliberately plain re-statement of the day loop in lists and dicts.

It is the oracle the tests compare ``Stockpile`` against and the peer the benchmark times:
written for obviousness, one depot and one round type at a time, sharing nothing with the
array engine but the ``Schedule`` it reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kizuna.sustain._schedule import Schedule

__all__ = ["ReferenceRun", "reference_run"]


@dataclass(slots=True)
class ReferenceRun:
    on_hand: list[list[list[int]]] = field(default_factory=list)  # [day][depot][munition]
    in_transit: list[list[int]] = field(default_factory=list)  # [day][munition]
    produced: list[list[int]] = field(default_factory=list)  # cumulative [day][munition]
    consumed: list[list[int]] = field(default_factory=list)
    destroyed: list[list[int]] = field(default_factory=list)
    shortfall: list[list[list[int]]] = field(default_factory=list)


class _Naive:
    def __init__(self, s: Schedule, rng: np.random.Generator | None) -> None:
        self.s, self.rng = s, rng
        self.n_dep, self.n_mun = s.initial.shape
        self.stock = [[int(s.initial[i, m]) for m in range(self.n_mun)] for i in range(self.n_dep)]
        self.inbound = [[0] * self.n_mun for _ in range(self.n_dep)]
        self.cap = [int(c) for c in s.capacity]
        self.alive = [True] * self.n_dep
        self.shipments: list[tuple[int, int, int, int]] = []  # (arrival day, dest, munition, qty)
        self.produced = [0] * self.n_mun
        self.consumed = [0] * self.n_mun
        self.destroyed = [0] * self.n_mun

    def free(self, i: int) -> int:
        return self.cap[i] - sum(self.stock[i]) - sum(self.inbound[i])

    def losses(self, d: int) -> None:
        struck = [False] * self.n_dep
        if self.s.attacks and self.rng is not None:
            draws = [float(u) for u in self.rng.random(size=(self.n_dep,))]
            struck = [draws[i] < float(self.s.vulnerability[i]) for i in range(self.n_dep)]
        for i in range(self.n_dep):
            if self.alive[i] and (self.s.loss_day[i] == d or struck[i]):
                for m in range(self.n_mun):
                    self.destroyed[m] += self.stock[i][m]
                    self.stock[i][m] = 0
                self.alive[i] = False

    def arrivals(self, d: int) -> None:
        for _, dest, m, q in [sh for sh in self.shipments if sh[0] == d]:
            self.inbound[dest][m] -= q
            if self.alive[dest]:
                self.stock[dest][m] += q
            else:
                self.destroyed[m] += q
        self.shipments = [sh for sh in self.shipments if sh[0] != d]

    def produce(self, d: int) -> None:
        for j in range(len(self.s.line_depot)):
            i, m = self.s.line_depot[j], self.s.line_munition[j]
            can = int(self.s.production[d, j])
            if can > 0 and self.alive[i]:
                made = min(can, max(self.free(i), 0))
                self.stock[i][m] += made
                self.produced[m] += made

    def fire(self, d: int) -> list[list[int]]:
        short = [[0] * self.n_mun for _ in range(self.n_dep)]
        for i in range(self.n_dep):
            for m in range(self.n_mun):
                want = int(self.s.demand[d, i, m])
                got = min(want, self.stock[i][m]) if self.alive[i] else 0
                self.stock[i][m] -= got
                self.consumed[m] += got
                short[i][m] = want - got
        return short

    def ship(self, d: int) -> None:
        for origin, dest, lift, delay in self.s.links:
            if not (self.alive[origin] and self.alive[dest]):
                continue
            room = min(lift, self.free(dest))
            for m in range(self.n_mun):
                if room <= 0:
                    break
                need = int(self.s.target[d, dest, m]) - self.stock[dest][m] - self.inbound[dest][m]
                spare = self.stock[origin][m] - int(self.s.target[d, origin, m])
                qty = min(max(need, 0), max(spare, 0), room)
                if qty > 0:
                    self.stock[origin][m] -= qty
                    self.shipments.append((d + delay, dest, m, qty))
                    self.inbound[dest][m] += qty
                    room -= qty

    def record(self, out: ReferenceRun, short: list[list[int]]) -> None:
        out.on_hand.append([row[:] for row in self.stock])
        out.in_transit.append(
            [sum(self.inbound[i][m] for i in range(self.n_dep)) for m in range(self.n_mun)]
        )
        out.produced.append(self.produced[:])
        out.consumed.append(self.consumed[:])
        out.destroyed.append(self.destroyed[:])
        out.shortfall.append(short)


def reference_run(s: Schedule, rng: np.random.Generator | None = None) -> ReferenceRun:
    naive = _Naive(s, rng)
    out = ReferenceRun()
    naive.record(out, [[0] * naive.n_mun for _ in range(naive.n_dep)])
    for d in range(1, s.days + 1):
        naive.losses(d)
        naive.arrivals(d)
        naive.produce(d)
        short = naive.fire(d)
        naive.ship(d)
        naive.record(out, short)
    return out
