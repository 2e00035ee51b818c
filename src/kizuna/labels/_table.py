"""The policy table: nations, policies and their equivalences, loaded from data."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kizuna.errors import PolicyError
from kizuna.labels._model import UNCLASSIFIED
from kizuna.labels._spif import Applied, Policy, parse_spif

__all__ = [
    "SHIPPED_SPIFS",
    "PolicyTable",
    "default_table",
    "load_table",
    "shipped_policy",
    "table_from_policies",
]

# The policies Kizuna itself labels under; the table is a view of these files.
SHIPPED_SPIFS = ("usa.xml", "jpn.xml")

NONE_LEVEL = "NONE"


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """Everything the label engine knows about nations and classification policies."""

    trigraphs: frozenset[str]
    tetragraphs: MappingProxyType[str, frozenset[str]]
    unclassified_home: str
    # policy -> its level names, ascending (NONE, a clearance-only level, is not listed)
    levels: MappingProxyType[str, tuple[str, ...]]
    # banner first block -> (policy, level); UNCLASSIFIED maps to (None, "UNCLASSIFIED")
    banners: MappingProxyType[str, tuple[str | None, str]]
    # (policy, level) -> banner first block
    banner_of: MappingProxyType[tuple[str, str], str]
    # (policy, level) -> index of its equivalence row (0 = lowest)
    row_of: MappingProxyType[tuple[str, str], int]
    rows: tuple[MappingProxyType[str, str], ...]
    # The SPIFs this table was derived from (empty for a table read from TOML). Left out of
    # equality, so the TOML view and the SPIFs it was derived from compare equal.
    policies: MappingProxyType[str, Policy] = field(
        default_factory=lambda: MappingProxyType({}), compare=False
    )

    @property
    def codes(self) -> frozenset[str]:
        return self.trigraphs | frozenset(self.tetragraphs)

    def expand(self, codes: frozenset[str]) -> frozenset[str]:
        out: set[str] = set()
        for code in codes:
            out |= self.tetragraphs.get(code, frozenset((code,)))
        return frozenset(out)

    def rank(self, policy: str, level: str) -> int:
        """A clearance level's rank inside its own policy: NONE is 0."""
        if level == NONE_LEVEL:
            return 0
        return self.levels[policy].index(level) + 1

    def equivalent(self, policy: str, level: str, into: str) -> str | None:
        """The level of policy ``into`` that the table sets against ``policy:level``."""
        if policy == into:
            return level
        row = self.row_of.get((policy, level))
        if row is None:
            return None
        return self.rows[row].get(into)

    def home(self, policy: str | None) -> str:
        return self.unclassified_home if policy is None else policy


def _table_from(doc: dict[str, Any]) -> PolicyTable:
    try:
        trigraphs = frozenset(doc["nations"]["trigraphs"])
        tetras = {k: frozenset(v) for k, v in doc.get("tetragraphs", {}).items()}
        home = doc["unclassified"]["home"]
        levels = {
            p: tuple(lv["name"] for lv in spec["levels"]) for p, spec in doc["policies"].items()
        }
        banner_of = {
            (p, lv["name"]): lv["banner"]
            for p, spec in doc["policies"].items()
            for lv in spec["levels"]
        }
        rows = tuple(MappingProxyType(dict(r)) for r in doc.get("equivalence", []))
    except (KeyError, TypeError) as exc:
        raise PolicyError(f"policy table is missing or misshapes {exc}") from exc
    for code, members in tetras.items():
        if not members <= trigraphs:
            raise PolicyError(
                f"tetragraph {code} names unknown nations {sorted(members - trigraphs)}"
            )
    if home not in trigraphs:
        raise PolicyError(f"unclassified home {home} is not a known nation")
    for policy, names in levels.items():
        if policy not in trigraphs:
            raise PolicyError(f"policy {policy} is not a known nation")
        if NONE_LEVEL in names:
            raise PolicyError(f"policy {policy} may not name a level {NONE_LEVEL}")
    banners: dict[str, tuple[str | None, str]] = {UNCLASSIFIED: (None, UNCLASSIFIED)}
    for (policy, level), banner in banner_of.items():
        if banner in banners:
            raise PolicyError(f"banner {banner!r} is used twice")
        banners[banner] = (policy, level)
    row_of: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        for policy, level in row.items():
            if level not in levels.get(policy, ()):
                raise PolicyError(f"equivalence row {i + 1} names unknown level {policy}:{level}")
            if (policy, level) in row_of:
                raise PolicyError(f"{policy}:{level} appears in two equivalence rows")
            row_of[(policy, level)] = i
    for policy, names in levels.items():
        placed = [row_of[(policy, n)] for n in names if (policy, n) in row_of]
        if placed != sorted(placed):
            raise PolicyError(f"equivalence rows for {policy} are not in ascending order")
    return PolicyTable(
        trigraphs=trigraphs,
        tetragraphs=MappingProxyType(tetras),
        unclassified_home=home,
        levels=MappingProxyType(levels),
        banners=MappingProxyType(banners),
        banner_of=MappingProxyType(banner_of),
        row_of=MappingProxyType(row_of),
        rows=rows,
    )


def load_table(path: Path) -> PolicyTable:
    """Load a policy table from a TOML file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"cannot read policy table {path}: {exc}") from exc
    return _table_from(doc)


def _rows(policies: Sequence[Policy]) -> list[dict[str, str]]:
    """Equivalence rows: the classes joined by the SPIFs' equivalentClassification links."""
    by_name = {p.name: p for p in policies}
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(node: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for p in policies:
        for c in p.classifications:
            if c.name == UNCLASSIFIED:
                continue
            root((p.name, c.name))
            for eq in c.equivalents:
                other = by_name.get(eq.policy)
                target = other.by_lacv(eq.lacv) if other is not None else None
                if eq.applied is Applied.DECRYPT or target is None:
                    continue
                if target.name == UNCLASSIFIED:
                    raise PolicyError(f"{p.name}:{c.name} is equivalent to UNCLASSIFIED")
                parent[root((p.name, c.name))] = root((eq.policy, target.name))
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for node in list(parent):
        row = groups.setdefault(root(node), {})
        if node[0] in row:
            raise PolicyError(f"{node[0]}:{row[node[0]]} and {node[1]} share an equivalence row")
        row[node[0]] = node[1]
    first = policies[0]

    def order(row: dict[str, str]) -> tuple[int, ...]:
        return tuple(
            next(c.hierarchy for c in p.classifications if c.name == row[p.name])
            if p.name in row
            else -1
            for p in (first, *policies[1:])
        )

    return sorted(groups.values(), key=order)


def table_from_policies(policies: Sequence[Policy]) -> PolicyTable:
    """The table view of a set of SPIFs (the first is the reference for row order).

    Nations are the values of each SPIF's ``Releasable To`` set, groups (FVEY) are the SPIFs'
    ``kz:group`` extensions, a level's banner is its default marking phrase, and equivalence
    rows are the classes the SPIFs' equivalentClassification links join. Every rule the TOML
    loader checks is checked here too, since the view goes through the same constructor.
    """
    if not policies:
        raise PolicyError("a policy table needs at least one SPIF")
    codes: set[str] = set()
    groups: dict[str, frozenset[str]] = {}
    homes = [p.name for p in policies if p.unclassified_home]
    if len(homes) != 1:
        raise PolicyError(f"exactly one SPIF must be the unclassified home, found {homes}")
    for p in policies:
        rel = p.tag_set("Releasable To")
        if rel is not None:
            codes |= {v.name for t in rel.tags for v in t.values}
        for name, members in p.groups.items():
            if groups.setdefault(name, members) != members:
                raise PolicyError(f"group {name} has different members in different SPIFs")
    doc: dict[str, Any] = {
        "nations": {"trigraphs": sorted(codes - set(groups))},
        "tetragraphs": {k: sorted(v) for k, v in groups.items()},
        "unclassified": {"home": homes[0]},
        "policies": {
            p.name: {
                "levels": [
                    {"name": c.name, "banner": p.default_marking(c.name)}
                    for c in p.classifications
                    if c.name != UNCLASSIFIED
                ]
            }
            for p in policies
        },
        "equivalence": _rows(policies),
    }
    table = _table_from(doc)
    return replace(table, policies=MappingProxyType({p.name: p for p in policies}))


def shipped_policy(name: str) -> Policy:
    """A SPIF shipped in the package (``usa.xml``, ``jpn.xml``, ``nato.xml``)."""
    return _shipped(name)


@cache
def _shipped(name: str) -> Policy:
    data = resources.files("kizuna.labels").joinpath(f"data/spif/{name}").read_bytes()
    return parse_spif(data, f"kizuna/labels/data/spif/{name}")


@cache
def default_table() -> PolicyTable:
    """The table shipped with the package: a view of its SPIFs (read once, on first use).

    ``data/policies.toml`` is the same view written out for operators who edit tables; a test
    holds the two equal.
    """
    return table_from_policies([_shipped(name) for name in SHIPPED_SPIFS])
