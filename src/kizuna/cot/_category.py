"""The category of a CoT event, from its type through a data table shipped with the package.

A category (track, unit, sensor, picture, liaison, plan) is what the gateway's tier table and
the originators' sanitisation rules are written against. It is derived from the CoT type
only: nothing else an event carries (in particular no detail element a client wrote) can
name it, so an item is judged by what it is, not by what it claims to be.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kizuna.errors import ConfigError

__all__ = [
    "CategoryTable",
    "category_of",
    "default_categories",
    "load_categories",
    "parse_categories",
]

_PREFIX = re.compile(r"[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*\Z")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_MEMO = 4096  # distinct types remembered; types are few, and a sender may invent many
_MAX_TYPE = 64  # longer types are looked up afresh, never remembered


@dataclass(frozen=True, slots=True)
class CategoryTable:
    """CoT type prefixes (atom by atom) to categories; the longest matching prefix wins."""

    prefixes: Mapping[str, str]
    default: str
    _memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def categories(self) -> frozenset[str]:
        """Every category some CoT type is given."""
        return frozenset((*self.prefixes.values(), self.default))

    def of(self, cot_type: str) -> str:
        """The category of an event of type ``cot_type``."""
        known = self._memo.get(cot_type)
        if known is not None:
            return known
        atoms = cot_type.split("-")
        found = self.default
        for n in range(len(atoms), 0, -1):
            hit = self.prefixes.get("-".join(atoms[:n]))
            if hit is not None:
                found = hit
                break
        if len(cot_type) <= _MAX_TYPE:
            if len(self._memo) >= _MEMO:
                self._memo.clear()
            self._memo[cot_type] = found
        return found


def parse_categories(doc: Mapping[str, Any], where: str = "categories.toml") -> CategoryTable:
    """A table from its TOML document; ConfigError naming the key on anything wrong."""
    unknown = sorted(set(doc) - {"default", "prefixes"})
    if unknown:
        raise ConfigError(f"unknown keys {unknown}", field=where)
    default = doc.get("default")
    if not isinstance(default, str) or not _NAME.match(default):
        raise ConfigError("must be a category name", field=f"{where}: default")
    raw = doc.get("prefixes")
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError("must be a table of type prefixes", field=f"{where}: prefixes")
    prefixes: dict[str, str] = {}
    for prefix, category in raw.items():
        if not _PREFIX.match(prefix):
            raise ConfigError("is not a CoT type prefix", field=f"{where}: prefixes.{prefix}")
        if not isinstance(category, str) or not _NAME.match(category):
            raise ConfigError("must be a category name", field=f"{where}: prefixes.{prefix}")
        prefixes[prefix] = category
    return CategoryTable(MappingProxyType(prefixes), default)


def load_categories(path: Path) -> CategoryTable:
    """A category table from a TOML file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", field=str(path)) from exc
    return parse_categories(doc, str(path))


@cache
def default_categories() -> CategoryTable:
    """The table shipped with the package (read once, on first use)."""
    text = resources.files("kizuna.cot").joinpath("data/categories.toml").read_text("utf-8")
    return parse_categories(tomllib.loads(text))


def category_of(cot_type: str) -> str:
    """The category of an event of type ``cot_type``, by the shipped table."""
    return default_categories().of(cot_type)
