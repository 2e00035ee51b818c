"""Load a C2 architecture from YAML: every problem found, named, and nothing half-loaded."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import yaml

from kizuna._yaml import safe_load
from kizuna.coord import _sections as sec
from kizuna.coord._arch import Architecture
from kizuna.coord._dist import parse_distribution, parse_duration
from kizuna.coord._validate import check_graph
from kizuna.errors import ConfigError

__all__ = ["ArchitectureError", "load_architecture", "parse_architecture", "shipped_architectures"]

_TOP = frozenset(
    {
        "name",
        "description",
        "hops",
        "target_types",
        "nodes",
        "edges",
        "roles",
        "approvals",
        "gates",
        "no_strike",
        "bda",
        "board",
    }
)


class ArchitectureError(ConfigError):
    """An architecture file is invalid; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid architecture {source}: {len(problems)} problem(s)\n{lines}")


def shipped_architectures() -> dict[str, str]:
    """Name -> YAML text of the architectures that come with Kizuna."""
    folder = resources.files("kizuna.coord") / "architectures"
    return {
        f.name.removesuffix(".yaml"): f.read_text(encoding="utf-8")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".yaml")
    }


def load_architecture(name_or_path: str | Path) -> Architecture:
    """A shipped architecture by name, or a YAML file by path."""
    shipped = shipped_architectures()
    if isinstance(name_or_path, str) and name_or_path in shipped:
        return parse_architecture(shipped[name_or_path], source=name_or_path)
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        known = ", ".join(shipped)
        raise ConfigError(f"cannot read {path} ({exc.strerror}); shipped: {known}") from exc
    return parse_architecture(text, source=str(path))


def parse_architecture(text: str, *, source: str = "<yaml>") -> Architecture:
    try:
        doc = safe_load(text)
    except yaml.YAMLError as exc:
        raise ArchitectureError(source, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(doc, dict):
        raise ArchitectureError(source, ["the document must be a mapping"])
    p = sec.Problems()
    for key in sorted(set(map(str, doc)) - _TOP):
        p.add(key, "unknown key")
    types = sec.target_types(doc.get("target_types"), p)
    nodes, shooters = sec.nodes(doc.get("nodes"), types, p)
    edges = sec.edges(doc.get("edges"), nodes, p)
    raw_roles = doc.get("roles")
    roles: dict[str, object] = raw_roles if isinstance(raw_roles, dict) else {}
    if not isinstance(raw_roles, dict):
        p.add("roles", "missing or not a mapping")
    targeting = sec.role_map(roles.get("targeting"), "roles.targeting", nodes, p)
    assessment = sec.role_map(
        roles.get("assessment", roles.get("targeting")), "roles.assessment", nodes, p
    )
    tasking = sec.role_map(roles.get("tasking"), "roles.tasking", nodes, p)
    allocation = str(roles.get("allocation", ""))
    if allocation not in nodes:
        p.add("roles.allocation", f"unknown node {allocation!r}")
    approvals = sec.approvals(doc.get("approvals"), nodes, types, p)
    gates, no_strike, max_tier = sec.gates(doc.get("gates"), doc.get("no_strike", []), p)
    bda = p.guard(parse_distribution, _get(doc, "bda", "analysis"), "bda.analysis")
    raw_board = doc.get("board")
    board: dict[str, object] = raw_board if isinstance(raw_board, dict) else {}
    interval = p.guard(parse_duration, board.get("interval"), "board.interval")
    if interval is not None and interval <= 0:
        p.add("board.interval", "must be positive")
    attacks = board.get("max_attacks", 3)
    if not isinstance(attacks, int) or isinstance(attacks, bool) or attacks < 1:
        p.add("board.max_attacks", f"must be an integer >= 1, got {attacks!r}")
    if not p.items:
        check_graph(
            nodes,
            shooters=shooters,
            edges=edges,
            targeting=targeting,
            assessment=assessment,
            allocation=allocation,
            tasking=tasking,
            approvals=approvals,
            add=p.add,
        )
    if p.items or bda is None or interval is None:
        raise ArchitectureError(source, p.items)
    return Architecture(
        name=str(doc.get("name", source)),
        description=str(doc.get("description", "")).strip(),
        target_types=MappingProxyType(types),
        nodes=MappingProxyType(nodes),
        shooters=MappingProxyType(shooters),
        edges=tuple(edges),
        targeting=MappingProxyType(targeting),
        assessment=MappingProxyType(assessment),
        allocation=allocation,
        tasking=MappingProxyType(tasking),
        approvals=MappingProxyType(approvals),
        gate_latency=MappingProxyType(gates),
        no_strike=no_strike,
        cde_max_tier=max_tier,
        bda=bda,
        board_interval=interval,
        max_attacks=attacks if isinstance(attacks, int) else 3,
    )


def _get(doc: Mapping[str, object], *path: str) -> object:
    cur: object = doc
    for key in path:
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    return cur
