"""The policy table: nations, policies and their equivalences, loaded from data."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kizuna.errors import PolicyError
from kizuna.labels._model import UNCLASSIFIED

__all__ = ["PolicyTable", "default_table", "load_table"]

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


@cache
def default_table() -> PolicyTable:
    """The table shipped with the package (read once, on first use)."""
    text = resources.files("kizuna.labels").joinpath("data/policies.toml").read_text("utf-8")
    return _table_from(tomllib.loads(text))
