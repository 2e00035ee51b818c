"""Parsers for each section of an architecture file; each adds problems, none raises."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

from kizuna.coord._arch import Approval, Edge, Node, ShooterSpec
from kizuna.coord._dist import Distribution, parse_distribution
from kizuna.coord._gates import NoStrikeEntry
from kizuna.coord._model import EdgeKind, NodeKind, TargetType
from kizuna.errors import ConfigError, KizunaError
from kizuna.labels import default_table, parse_banner

__all__ = [
    "Problems",
    "approvals",
    "edges",
    "gates",
    "nodes",
    "role_map",
    "target_types",
]

T = TypeVar("T")


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(f"{field}: {message}")

    def guard(self, fn: Callable[[object, str], T], value: object, field: str) -> T | None:
        try:
            return fn(value, field)
        except ConfigError as exc:
            self.items.append(str(exc))
            return None


def _items(value: object, field: str, p: Problems) -> list[Mapping[str, object]]:
    if not isinstance(value, list) or not value:
        p.add(field, "missing or not a non-empty list")
        return []
    out: list[Mapping[str, object]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append(item)
        else:
            p.add(f"{field}[{i}]", "not a mapping")
    return out


def _number(
    item: Mapping[str, object], key: str, field: str, p: Problems, *, positive: bool = False
) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        p.add(f"{field}.{key}", f"expected a number, got {value!r}")
        return 0.0
    if positive and value <= 0:
        p.add(f"{field}.{key}", f"must be positive, got {value!r}")
    return float(value)


def _integer(
    item: Mapping[str, object],
    key: str,
    field: str,
    p: Problems,
    *,
    default: int,
    lo: int,
    hi: int,
) -> int:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        p.add(f"{field}.{key}", f"expected an integer in {lo}..{hi}, got {value!r}")
        return default
    return value


def target_types(value: object, p: Problems) -> dict[str, TargetType]:
    out: dict[str, TargetType] = {}
    for i, item in enumerate(_items(value, "target_types", p)):
        field = f"target_types[{i}]"
        tid = str(item.get("id", ""))
        if not tid or tid in out:
            p.add(f"{field}.id", f"missing or duplicate id {tid!r}")
            continue
        dwell = item.get("dwell")
        dist = None if dwell is None else p.guard(parse_distribution, dwell, f"{field}.dwell")
        out[tid] = TargetType(
            id=tid,
            value=_number(item, "value", field, p, positive=True),
            cde_tier=_integer(item, "cde_tier", field, p, default=1, lo=1, hi=5),
            military_objective=bool(item.get("military_objective", True)),
            dwell=dist,
        )
    return out


def nodes(
    value: object, types: Mapping[str, TargetType], p: Problems
) -> tuple[dict[str, Node], dict[str, ShooterSpec]]:
    nodes: dict[str, Node] = {}
    shooters: dict[str, ShooterSpec] = {}
    table = default_table()
    for i, item in enumerate(_items(value, "nodes", p)):
        nid = str(item.get("id", ""))
        field = f"nodes[{i}]({nid})"
        if not nid or nid in nodes:
            p.add(f"{field}.id", f"missing or duplicate id {nid!r}")
            continue
        try:
            kind = NodeKind(str(item.get("kind")))
        except ValueError:
            p.add(
                f"{field}.kind",
                f"unknown kind {item.get('kind')!r}; one of {', '.join(k.value for k in NodeKind)}",
            )
            continue
        nation = str(item.get("nation", ""))
        if not nation:
            p.add(f"{field}.nation", "missing")
        label = item.get("label")
        if label is not None:
            try:
                parse_banner(str(label), table)
            except KizunaError as exc:
                p.add(f"{field}.label", str(exc))
        nodes[nid] = Node(
            nid, kind, nation, None if label is None else str(label), bool(item.get("bda", False))
        )
        if kind is NodeKind.SHOOTER:
            shooters[nid] = _shooter(item, nid, nation, field=field, types=types, p=p)
    return nodes, shooters


def _shooter(
    item: Mapping[str, object],
    nid: str,
    nation: str,
    *,
    field: str,
    types: Mapping[str, TargetType],
    p: Problems,
) -> ShooterSpec:
    engage = item.get("can_engage")
    if not isinstance(engage, list) or not engage:
        p.add(f"{field}.can_engage", "missing or not a non-empty list")
        engage = []
    for j, t in enumerate(engage):
        if t not in types:
            p.add(f"{field}.can_engage[{j}]", f"unknown target type {t!r}")
    pk = _number(item, "pk", field, p, positive=True)
    if pk > 1:
        p.add(f"{field}.pk", f"a probability must be <= 1, got {pk}")
    munition = str(item.get("munition", ""))
    if not munition:
        p.add(f"{field}.munition", "missing")
    return ShooterSpec(
        id=nid,
        nation=nation,
        x_km=_number(item, "x_km", field, p),
        y_km=_number(item, "y_km", field, p),
        range_km=_number(item, "range_km", field, p, positive=True),
        speed_kmh=_number(item, "speed_kmh", field, p, positive=True),
        munition=munition,
        capacity=_integer(item, "capacity", field, p, default=1, lo=1, hi=10_000),
        salvo=_integer(item, "salvo", field, p, default=1, lo=1, hi=1_000),
        pk=pk,
        can_engage=frozenset(str(t) for t in engage),
    )


def edges(value: object, nodes: Mapping[str, Node], p: Problems) -> list[Edge]:
    out: list[Edge] = []
    seen: set[str] = set()
    for i, item in enumerate(_items(value, "edges", p)):
        src, dst = str(item.get("from", "")), str(item.get("to", ""))
        field = f"edges[{i}]({src}->{dst})"
        for end, nid in (("from", src), ("to", dst)):
            if nid not in nodes:
                p.add(f"{field}.{end}", f"unknown node {nid!r}")
        try:
            kind = EdgeKind(str(item.get("kind")))
        except ValueError:
            p.add(f"{field}.kind", f"unknown edge kind {item.get('kind')!r}")
            continue
        dist = p.guard(parse_distribution, item.get("latency"), f"{field}.latency")
        if src == dst:
            p.add(field, "an edge from a node to itself")
        if dist is None or src not in nodes or dst not in nodes:
            continue
        edge = Edge(src, dst, kind, dist)
        if edge.key in seen:
            p.add(field, "duplicate edge")
        seen.add(edge.key)
        out.append(edge)
    return out


def role_map(value: object, field: str, nodes: Mapping[str, Node], p: Problems) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        p.add(field, "missing or not a mapping nation -> node")
        return {}
    out = {}
    for nation, nid in value.items():
        if str(nid) not in nodes:
            p.add(f"{field}.{nation}", f"unknown node {nid!r}")
        else:
            out[str(nation)] = str(nid)
    return out


def approvals(
    value: object, nodes: Mapping[str, Node], types: Mapping[str, TargetType], p: Problems
) -> dict[str, Approval]:
    if not isinstance(value, dict):
        p.add("approvals", "missing or not a mapping nation -> approval")
        return {}
    out = {}
    for nation, spec in value.items():
        field = f"approvals.{nation}"
        if not isinstance(spec, dict):
            p.add(field, "not a mapping")
            continue
        authority = str(spec.get("authority", ""))
        if authority not in nodes:
            p.add(f"{field}.authority", f"unknown node {authority!r}")
        elif nodes[authority].nation != nation:
            p.add(
                f"{field}.authority",
                f"node {authority} belongs to {nodes[authority].nation}, not {nation}",
            )
        dist = p.guard(parse_distribution, spec.get("latency"), f"{field}.latency")
        prob = float(_number(spec, "p_approve", field, p)) if "p_approve" in spec else 1.0
        if not 0 < prob <= 1:
            p.add(f"{field}.p_approve", f"must be in (0, 1], got {prob}")
        permitted = spec.get("permitted_target_types")
        if permitted is not None:
            if not isinstance(permitted, list):
                p.add(f"{field}.permitted_target_types", "not a list")
                permitted = []
            for j, t in enumerate(permitted):
                if t not in types:
                    p.add(f"{field}.permitted_target_types[{j}]", f"unknown target type {t!r}")
        if dist is not None:
            out[str(nation)] = Approval(
                str(nation),
                authority,
                dist,
                prob,
                None if permitted is None else frozenset(map(str, permitted)),
            )
    return out


def gates(
    value: object, no_strike: object, p: Problems
) -> tuple[dict[str, Distribution], tuple[NoStrikeEntry, ...], int]:
    latencies: dict[str, Distribution] = {}
    max_tier = 5
    for i, item in enumerate(_items(value, "gates", p)):
        name = str(item.get("id", ""))
        field = f"gates[{i}]({name})"
        if not name or name in latencies:
            p.add(f"{field}.id", f"missing or duplicate gate {name!r}")
            continue
        dist = p.guard(parse_distribution, item.get("latency"), f"{field}.latency")
        if dist is not None:
            latencies[name] = dist
        if name == "cde":
            max_tier = _integer(item, "max_tier", field, p, default=4, lo=1, hi=5)
    entries = []
    if not isinstance(no_strike, list):
        p.add("no_strike", "not a list")
        no_strike = []
    for i, item in enumerate(no_strike):
        field = f"no_strike[{i}]"
        if not isinstance(item, dict):
            p.add(field, "not a mapping")
            continue
        entries.append(
            NoStrikeEntry(
                str(item.get("name", field)),
                _number(item, "x_km", field, p),
                _number(item, "y_km", field, p),
                _number(item, "radius_km", field, p, positive=True),
            )
        )
    return latencies, tuple(entries), max_tier
