"""Reading the sustainment model from data; every value keeps its source or says "assumed"."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from types import MappingProxyType

import yaml

from kizuna._yaml import safe_load
from kizuna.errors import ConfigError, ParseError
from kizuna.sustain._model import (
    Component,
    Depot,
    Link,
    MunitionType,
    ProductionLine,
    Supplier,
    SustainModel,
    UnknownMunitionError,
)
from kizuna.sustain._reader import Node, ensure_unique

__all__ = ["default_model", "load_model", "parse_model", "read_yaml", "shipped_text"]


def shipped_text(name: str) -> str:
    """A data file shipped inside the package (``model.yaml``, ``campaign.yaml``, ``hns.yaml``)."""
    return resources.files("kizuna.sustain").joinpath("data", name).read_text(encoding="utf-8")


def read_yaml(text: str, what: str) -> object:
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        raise ParseError(f"{what} is not valid YAML: {exc}") from exc


def default_model() -> SustainModel:
    return parse_model(read_yaml(shipped_text("model.yaml"), "model.yaml"))


def load_model(path: Path) -> SustainModel:
    return parse_model(read_yaml(path.read_text(encoding="utf-8"), str(path)))


def parse_model(doc: object) -> SustainModel:
    """Validate a whole model document; raises ``ConfigError`` naming the first bad field."""
    root = Node.root(doc, "a sustainment model")
    munitions = tuple(_munition(n) for n in root.items("munitions", required=True))
    ensure_unique([m.id for m in munitions], "munitions")
    known = {m.id for m in munitions}
    depots = tuple(_depot(n, known) for n in root.items("depots", required=True))
    ensure_unique([d.id for d in depots], "depots")
    depot_ids = {d.id for d in depots}
    links = tuple(_link(n, depot_ids) for n in root.items("links"))
    suppliers = tuple(
        Supplier(n.text("id"), n.text("nation"), n.text("source")) for n in root.items("suppliers")
    )
    ensure_unique([s.id for s in suppliers], "suppliers")
    components = tuple(_component(n, {s.id for s in suppliers}) for n in root.items("components"))
    ensure_unique([c.id for c in components], "components")
    _check_acyclic(components)
    comp_ids = {c.id for c in components}
    lines = tuple(_line(n, known, depot_ids, comp_ids) for n in root.items("lines"))
    ensure_unique([ln.id for ln in lines], "lines")
    return SustainModel(munitions, depots, links, suppliers, components, lines)


def _ref(node: Node, key: str, known: set[str], what: str) -> str:
    value = node.text(key)
    if value not in known:
        raise ConfigError(f"unknown {what} {value!r}", field=node.field(key))
    return value


def _munition(n: Node) -> MunitionType:
    return MunitionType(
        id=n.text("id"),
        name=n.text("name", n.text("id")),
        owner=n.text("owner"),
        unit_cost_usd=n.num("unit_cost_usd", gt=0.0),
        source=n.text("source"),
    )


def _depot(n: Node, known: set[str]) -> Depot:
    stock_node = n.child("stock")
    stock: dict[str, int] = {}
    for key in stock_node.value:
        if key not in known:
            raise UnknownMunitionError(
                f"unknown munition type {key!r}", field=stock_node.field(str(key))
            )
        stock[key] = stock_node.integer(key, ge=0)
    capacity = None if not n.has("capacity") else n.integer("capacity", ge=0)
    if capacity is not None and sum(stock.values()) > capacity:
        raise ConfigError(
            f"initial stock {sum(stock.values())} exceeds capacity {capacity}",
            field=n.field("stock"),
        )
    return Depot(
        id=n.text("id"),
        name=n.text("name", n.text("id")),
        nation=n.text("nation"),
        lat=n.num("lat", ge=-90.0, le=90.0),
        lon=n.num("lon", ge=-180.0, le=180.0),
        capacity=capacity,
        vulnerability=n.num("vulnerability", 0.0, le=1.0),
        stock=MappingProxyType(stock),
        source=n.text("source"),
    )


def _link(n: Node, depots: set[str]) -> Link:
    origin = _ref(n, "origin", depots, "depot")
    dest = _ref(n, "dest", depots, "depot")
    if origin == dest:
        raise ConfigError("a link must join two different depots", field=n.field("dest"))
    return Link(
        origin=origin,
        dest=dest,
        lift_per_day=n.integer("lift_per_day", ge=0),
        delay_days=n.integer("delay_days", ge=1),
        source=n.text("source"),
    )


def _component(n: Node, suppliers: set[str]) -> Component:
    names = n.names("suppliers")
    for i, s in enumerate(names):
        if s not in suppliers:
            raise ConfigError(f"unknown supplier {s!r}", field=f"{n.field('suppliers')}[{i}]")
    if not names:
        raise ConfigError("a component needs at least one supplier", field=n.field("suppliers"))
    return Component(n.text("id"), names, n.names("inputs"), n.text("source"))


def _check_acyclic(components: tuple[Component, ...]) -> None:
    """Supply chains must be trees of inputs: a cycle would make a part its own prerequisite."""
    by_id = {c.id: c for c in components}
    for i, c in enumerate(components):
        for j, inp in enumerate(c.inputs):
            if inp not in by_id:
                raise ConfigError(
                    f"unknown component {inp!r}", field=f"components[{i}].inputs[{j}]"
                )
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(cid: str, path: list[str]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            cycle = [*path[path.index(cid) :], cid]
            index = next(k for k, c in enumerate(components) if c.id == cid)
            raise ConfigError(
                "supply-chain cycle " + " -> ".join(cycle), field=f"components[{index}].inputs"
            )
        state[cid] = 1
        for inp in by_id[cid].inputs:
            visit(inp, [*path, cid])
        state[cid] = 2

    for c in components:
        visit(c.id, [])


def _ramp(n: Node) -> tuple[tuple[float, float], ...]:
    raw = n.value.get("ramp", [[0, 1.0]])
    field = n.field("ramp")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("must be a list of [months, fraction] points", field=field)
    points: list[tuple[float, float]] = []
    for i, p in enumerate(raw):
        if not isinstance(p, list) or len(p) != 2:
            raise ConfigError("each point is [months, fraction]", field=f"{field}[{i}]")
        pair = Node({"months": p[0], "fraction": p[1]}, f"{field}[{i}]")
        months, frac = pair.num("months"), pair.num("fraction", le=1.0)
        if points and months <= points[-1][0]:
            raise ConfigError("months must increase", field=f"{field}[{i}]")
        points.append((months, frac))
    return tuple(points)


def _line(n: Node, munitions: set[str], depots: set[str], components: set[str]) -> ProductionLine:
    munition = n.text("munition")
    if munition not in munitions:
        raise UnknownMunitionError(f"unknown munition type {munition!r}", field=n.field("munition"))
    rate = n.num("rate_per_month")
    surge = n.num("surge_rate_per_month", rate)
    if surge < rate:
        raise ConfigError(
            f"surge rate {surge:g} is below the base rate {rate:g}",
            field=n.field("surge_rate_per_month"),
        )
    comps = n.names("components")
    for i, c in enumerate(comps):
        if c not in components:
            raise ConfigError(f"unknown component {c!r}", field=f"{n.field('components')}[{i}]")
    return ProductionLine(
        id=n.text("id"),
        nation=n.text("nation"),
        munition=munition,
        depot=_ref(n, "depot", depots, "depot"),
        rate_per_month=rate,
        surge_rate_per_month=surge,
        surge_lead_days=n.integer("surge_lead_days", 0),
        ramp=_ramp(n),
        start_day=n.integer("start_day", -100_000, ge=None),
        components=comps,
        component_buffer_days=n.integer("component_buffer_days", 0),
        licensed_from=n.text("licensed_from") if n.has("licensed_from") else None,
        enabled=n.flag("enabled", True),
        source=n.text("source"),
    )
