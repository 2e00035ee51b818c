"""A campaign: daily consumption by depot and type, events, and the excursions to compare."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from kizuna.errors import ConfigError
from kizuna.sustain._data import read_yaml, shipped_text
from kizuna.sustain._model import SustainModel
from kizuna.sustain._reader import Node

__all__ = [
    "Campaign",
    "Consumption",
    "Event",
    "EventKind",
    "Excursion",
    "StockAddition",
    "apply_excursion",
    "default_campaign",
    "load_campaign",
    "parse_campaign",
]


class EventKind(StrEnum):
    DEPOT_LOST = "depot_lost"
    SUPPLIER_LOST = "supplier_lost"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    target: str  # a depot id or a supplier id
    day: int  # takes effect at the start of this campaign day (1-based)


@dataclass(frozen=True, slots=True)
class Consumption:
    """``per_day`` rounds of a type fired from a depot on days ``from_day..to_day`` inclusive."""

    munition: str
    depot: str
    per_day: float
    from_day: int
    to_day: int
    source: str


@dataclass(frozen=True, slots=True)
class StockAddition:
    depot: str
    munition: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Excursion:
    """A what-if against the baseline: more co-production, pre-positioned stock, a loss."""

    name: str
    enable_lines: tuple[str, ...] = ()
    disable_lines: tuple[str, ...] = ()
    add_stock: tuple[StockAddition, ...] = ()
    events: tuple[Event, ...] = ()
    surge: bool | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    days: int
    cover_days: float  # forward depots pull this many days of their demand from the rear
    surge: bool  # production lines move to their surge rate after their lead time
    attacks: bool  # depots may be lost at random, with daily probability = vulnerability
    seed: int
    consumption: tuple[Consumption, ...]
    events: tuple[Event, ...] = ()
    excursions: tuple[Excursion, ...] = ()
    source: str = "assumed"


def default_campaign(model: SustainModel) -> Campaign:
    return parse_campaign(read_yaml(shipped_text("campaign.yaml"), "campaign.yaml"), model)


def load_campaign(path: Path, model: SustainModel) -> Campaign:
    return parse_campaign(read_yaml(path.read_text(encoding="utf-8"), str(path)), model)


def parse_campaign(doc: object, model: SustainModel) -> Campaign:
    """Validate a campaign against a model; every excursion is applied once to prove it can be."""
    root = Node.root(doc, "a campaign")
    days = root.integer("days", ge=1)
    consumption = tuple(_consumption(n, model, days) for n in root.items("consumption"))
    campaign = Campaign(
        name=root.text("name"),
        days=days,
        cover_days=root.num("cover_days", 7.0),
        surge=root.flag("surge", False),
        attacks=root.flag("attacks", False),
        seed=root.integer("seed", 0),
        consumption=consumption,
        events=tuple(_event(n, model) for n in root.items("events")),
        excursions=tuple(_excursion(n, model) for n in root.items("excursions")),
        source=root.text("source", "assumed"),
    )
    for excursion in campaign.excursions:
        apply_excursion(model, campaign, excursion)
    return campaign


def _consumption(n: Node, model: SustainModel, days: int) -> Consumption:
    munition = n.text("munition")
    model.munition(munition, field=n.field("munition"))
    depot = n.text("depot")
    if depot not in model.depot_index:
        raise ConfigError(f"unknown depot {depot!r}", field=n.field("depot"))
    from_day = n.integer("from_day", 1, ge=1)
    to_day = n.integer("to_day", days, ge=from_day)
    return Consumption(munition, depot, n.num("per_day"), from_day, to_day, n.text("source"))


def _event(n: Node, model: SustainModel) -> Event:
    raw_kind = n.text("kind")
    try:
        kind = EventKind(raw_kind)
    except ValueError:
        choices = ", ".join(k.value for k in EventKind)
        raise ConfigError(f"{raw_kind!r} is not one of {choices}", field=n.field("kind")) from None
    target = n.text("target")
    known = (
        set(model.depot_index) if kind is EventKind.DEPOT_LOST else {s.id for s in model.suppliers}
    )
    if target not in known:
        what = "depot" if kind is EventKind.DEPOT_LOST else "supplier"
        raise ConfigError(f"unknown {what} {target!r}", field=n.field("target"))
    return Event(kind, target, n.integer("day", ge=1))


def _excursion(n: Node, model: SustainModel) -> Excursion:
    line_ids = {ln.id for ln in model.lines}
    for key in ("enable_lines", "disable_lines"):
        for i, lid in enumerate(n.names(key)):
            if lid not in line_ids:
                raise ConfigError(f"unknown production line {lid!r}", field=f"{n.field(key)}[{i}]")
    additions: list[StockAddition] = []
    for a in n.items("add_stock"):
        munition = a.text("munition")
        model.munition(munition, field=a.field("munition"))
        depot = a.text("depot")
        if depot not in model.depot_index:
            raise ConfigError(f"unknown depot {depot!r}", field=a.field("depot"))
        additions.append(StockAddition(depot, munition, a.integer("quantity", ge=0)))
    return Excursion(
        name=n.text("name"),
        enable_lines=n.names("enable_lines"),
        disable_lines=n.names("disable_lines"),
        add_stock=tuple(additions),
        events=tuple(_event(e, model) for e in n.items("events")),
        surge=n.flag("surge", False) if n.has("surge") else None,
    )


def apply_excursion(
    model: SustainModel, campaign: Campaign, excursion: Excursion
) -> tuple[SustainModel, Campaign]:
    """The model and campaign an excursion describes, as new values: the inputs are untouched,
    and a bad excursion raises before anything is built."""
    stock = {d.id: dict(d.stock) for d in model.depots}
    for i, add in enumerate(excursion.add_stock):
        if add.depot not in stock:
            raise ConfigError(f"unknown depot {add.depot!r}", field=f"add_stock[{i}].depot")
        model.munition(add.munition, field=f"add_stock[{i}].munition")
        stock[add.depot][add.munition] = stock[add.depot].get(add.munition, 0) + add.quantity
    depots = []
    for d in model.depots:
        total = sum(stock[d.id].values())
        if d.capacity is not None and total > d.capacity:
            raise ConfigError(
                f"{excursion.name!r} puts {total} rounds in {d.id!r}, capacity {d.capacity}",
                field="add_stock",
            )
        depots.append(dataclasses.replace(d, stock=MappingProxyType(stock[d.id])))
    lines = tuple(
        dataclasses.replace(
            ln,
            enabled=(ln.enabled or ln.id in excursion.enable_lines)
            and ln.id not in excursion.disable_lines,
        )
        for ln in model.lines
    )
    new_model = dataclasses.replace(model, depots=tuple(depots), lines=lines)
    new_campaign = dataclasses.replace(
        campaign,
        name=excursion.name,
        events=campaign.events + excursion.events,
        surge=campaign.surge if excursion.surge is None else excursion.surge,
        excursions=(),
    )
    return new_model, new_campaign
