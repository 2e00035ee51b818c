"""Turn a model and a campaign into integer day-by-day arrays both engines step through."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kizuna.sustain._campaign import Campaign, EventKind
from kizuna.sustain._model import DAYS_PER_MONTH, ProductionLine, SustainModel

__all__ = ["UNLIMITED", "Schedule", "build_schedule", "integerize", "line_stall_day"]

UNLIMITED = 1 << 40  # the capacity of a depot with no limit; larger than any stock
_EPS = 1e-9

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Schedule:
    """Everything known before day 1. Day ``d`` (1-based) is row ``d``; row 0 is unused."""

    days: int
    demand: IntArray  # [days+1, depots, munitions] rounds to fire
    target: IntArray  # [days+1, depots, munitions] the next ``cover_days`` of demand
    production: IntArray  # [days+1, lines] rounds a line can finish that day
    line_depot: tuple[int, ...]
    line_munition: tuple[int, ...]
    loss_day: tuple[int | None, ...]  # per depot: the scheduled day it is lost
    capacity: IntArray  # [depots]
    vulnerability: npt.NDArray[np.float64]  # [depots]
    initial: IntArray  # [depots, munitions]
    links: tuple[tuple[int, int, int, int], ...]  # (origin, dest, lift, delay)
    attacks: bool


def integerize(rates: npt.NDArray[np.float64]) -> IntArray:
    """Whole rounds per day whose running total tracks the running total of the rates
    (``floor`` of the cumulative sum), so 0.5 a day gives 0, 1, 0, 1, …; axis 0 is the day."""
    cum = np.floor(np.cumsum(rates, axis=0) + _EPS).astype(np.int64)
    out = np.diff(cum, axis=0, prepend=np.zeros_like(cum[:1]))
    return out.astype(np.int64)


def _component_fail_day(model: SustainModel, supplier_loss: dict[str, int]) -> dict[str, float]:
    fail: dict[str, float] = {}

    def day_of(cid: str) -> float:
        if cid not in fail:
            comp = model.component(cid)
            lost_all = max(supplier_loss.get(s, math.inf) for s in comp.suppliers)
            fail[cid] = min([lost_all, *(day_of(i) for i in comp.inputs)])
        return fail[cid]

    for c in model.components:
        day_of(c.id)
    return fail


def line_stall_day(
    model: SustainModel, line: ProductionLine, supplier_loss: dict[str, int]
) -> float:
    """The first day a line makes nothing because a component is gone; ``inf`` if never."""
    fail = _component_fail_day(model, supplier_loss)
    first = min((fail[c] for c in line.components), default=math.inf)
    return first + line.component_buffer_days


def _line_rates(model: SustainModel, campaign: Campaign) -> npt.NDArray[np.float64]:
    supplier_loss: dict[str, int] = {}
    for ev in campaign.events:
        if ev.kind is EventKind.SUPPLIER_LOST:
            supplier_loss[ev.target] = min(ev.day, supplier_loss.get(ev.target, ev.day))
    rates = np.zeros((campaign.days + 1, len(model.lines)), dtype=np.float64)
    for j, line in enumerate(model.lines):
        if not line.enabled:
            continue
        stall = line_stall_day(model, line, supplier_loss)
        for d in range(1, campaign.days + 1):
            if d >= stall:
                break
            surging = campaign.surge and d > line.surge_lead_days
            per_month = line.surge_rate_per_month if surging else line.rate_per_month
            rates[d, j] = per_month / DAYS_PER_MONTH * line.ramp_fraction(d)
    return rates


def build_schedule(model: SustainModel, campaign: Campaign) -> Schedule:
    n_dep, n_mun, days = len(model.depots), len(model.munitions), campaign.days
    rates = np.zeros((days + 1, n_dep, n_mun), dtype=np.float64)
    for c in campaign.consumption:
        i, m = model.depot(c.depot), model.munition(c.munition)
        rates[c.from_day : min(c.to_day, days) + 1, i, m] += c.per_day
    demand = integerize(rates)
    cover = math.ceil(campaign.cover_days)
    padded = np.concatenate([demand, np.zeros((cover, n_dep, n_mun), dtype=np.int64)])
    cum = np.cumsum(padded, axis=0)
    target = (cum[cover : cover + days + 1] - cum[: days + 1]).astype(np.int64)
    loss: list[int | None] = [None] * n_dep
    for ev in campaign.events:
        if ev.kind is EventKind.DEPOT_LOST:
            i = model.depot(ev.target)
            earlier = loss[i]
            loss[i] = ev.day if earlier is None else min(ev.day, earlier)
    initial = np.zeros((n_dep, n_mun), dtype=np.int64)
    for i, dep in enumerate(model.depots):
        for mid, qty in dep.stock.items():
            initial[i, model.munition(mid)] = qty
    return Schedule(
        days=days,
        demand=demand,
        target=target,
        production=integerize(_line_rates(model, campaign)),
        line_depot=tuple(model.depot(ln.depot) for ln in model.lines),
        line_munition=tuple(model.munition(ln.munition) for ln in model.lines),
        loss_day=tuple(loss),
        capacity=np.array(
            [UNLIMITED if d.capacity is None else d.capacity for d in model.depots], dtype=np.int64
        ),
        vulnerability=np.array([d.vulnerability for d in model.depots], dtype=np.float64),
        initial=initial,
        links=tuple(
            (model.depot(k.origin), model.depot(k.dest), k.lift_per_day, k.delay_days)
            for k in model.links
        ),
        attacks=campaign.attacks,
    )
