"""Sustainment values: munition types, depots, transport links, suppliers and production lines."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import MappingProxyType

from kizuna.errors import ValidationError

__all__ = [
    "DAYS_PER_MONTH",
    "Component",
    "Depot",
    "Link",
    "MunitionType",
    "ProductionLine",
    "Supplier",
    "SustainModel",
    "UnknownMunitionError",
]

DAYS_PER_MONTH = 365.25 / 12


class UnknownMunitionError(ValidationError):
    """A munition type that the model does not know."""


@dataclass(frozen=True, slots=True)
class MunitionType:
    id: str
    name: str
    owner: str  # the nation whose industry designs and sells it
    unit_cost_usd: float
    source: str


@dataclass(frozen=True, slots=True)
class Depot:
    id: str
    name: str
    nation: str  # the nation that holds the stock and may fire it
    lat: float
    lon: float
    capacity: int | None  # rounds of all types together; None: unlimited (a factory yard)
    vulnerability: float  # daily probability of loss when a campaign runs attacks
    stock: MappingProxyType[str, int]  # munition id -> rounds at the start
    source: str


@dataclass(frozen=True, slots=True)
class Link:
    """A transport route: up to ``lift_per_day`` rounds leave each day, arriving after a delay."""

    origin: str
    dest: str
    lift_per_day: int
    delay_days: int
    source: str


@dataclass(frozen=True, slots=True)
class Supplier:
    id: str
    nation: str
    source: str


@dataclass(frozen=True, slots=True)
class Component:
    """An input to production; it fails when every supplier is lost or any input fails."""

    id: str
    suppliers: tuple[str, ...]
    inputs: tuple[str, ...]
    source: str

    @property
    def single_source(self) -> bool:
        return len(self.suppliers) == 1


@dataclass(frozen=True, slots=True)
class ProductionLine:
    id: str
    nation: str
    munition: str
    depot: str  # where finished rounds are delivered
    rate_per_month: float
    surge_rate_per_month: float
    surge_lead_days: int
    # (months since the line started, fraction of rate) points, linearly interpolated
    ramp: tuple[tuple[float, float], ...]
    start_day: int  # campaign day the line started; negative: it was running before
    components: tuple[str, ...]
    component_buffer_days: int  # days the line runs on stocked parts after a component fails
    licensed_from: str | None  # set for co-production of another nation's design
    enabled: bool
    source: str

    @property
    def coproduction(self) -> bool:
        return self.licensed_from is not None and self.licensed_from != self.nation

    def ramp_fraction(self, day: int) -> float:
        """The share of the rate reached ``day`` campaign days in; 0 before the line starts."""
        months = (day - self.start_day) / DAYS_PER_MONTH
        if months < 0:
            return 0.0
        points = self.ramp
        if months <= points[0][0]:
            return points[0][1]
        for (m0, f0), (m1, f1) in itertools.pairwise(points):
            if months <= m1:
                return f0 + (f1 - f0) * (months - m0) / (m1 - m0)
        return points[-1][1]


@dataclass(frozen=True, slots=True)
class SustainModel:
    """The whole catalogue; ids are unique and every reference resolves (checked on load)."""

    munitions: tuple[MunitionType, ...]
    depots: tuple[Depot, ...]
    links: tuple[Link, ...]
    suppliers: tuple[Supplier, ...]
    components: tuple[Component, ...]
    lines: tuple[ProductionLine, ...]
    munition_index: MappingProxyType[str, int] = field(init=False, repr=False, compare=False)
    depot_index: MappingProxyType[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "munition_index",
            MappingProxyType({m.id: i for i, m in enumerate(self.munitions)}),
        )
        object.__setattr__(
            self, "depot_index", MappingProxyType({d.id: i for i, d in enumerate(self.depots)})
        )

    def munition(self, munition_id: str, field: str = "munition") -> int:
        try:
            return self.munition_index[munition_id]
        except KeyError:
            raise UnknownMunitionError(
                f"unknown munition type {munition_id!r}", field=field
            ) from None

    def depot(self, depot_id: str, field: str = "depot") -> int:
        try:
            return self.depot_index[depot_id]
        except KeyError:
            raise ValidationError(f"unknown depot {depot_id!r}", field=field) from None

    def component(self, component_id: str) -> Component:
        for c in self.components:
            if c.id == component_id:
                return c
        raise ValidationError(f"unknown component {component_id!r}", field="components")

    def single_source_components(self, line: ProductionLine) -> tuple[str, ...]:
        """Components of a line (transitively) that have only one supplier."""
        seen: list[str] = []
        stack = list(line.components)
        while stack:
            cid = stack.pop()
            if cid in seen:
                continue
            seen.append(cid)
            stack.extend(self.component(cid).inputs)
        return tuple(sorted(c for c in seen if self.component(c).single_source))
