"""The originators' sanitisation rules, kept as data: which items to coarsen, strip, relabel or
hold for a human before they may leave.

A rule matches on what the guard derived about an item, never on what the item says: the
originator (``"*"``: any), the receiving partner, the category (from the CoT type), CoT type
prefixes, the partner's tier, and who set the label (``label_source``: "publisher", or
"default" when the node gave the item its default label)."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, cast

import msgspec

from kizuna.errors import ConfigError
from kizuna.gateway._item import LABEL_SOURCES, Item
from kizuna.roadmap import Tier

__all__ = ["Action", "Rule", "RuleSet", "coarsen", "load_rules", "parse_rules"]

KM_PER_DEG = 111.32
_UNSEEN = object()  # a memo miss, distinct from a remembered None


class Action(StrEnum):
    SANITISE = "sanitise"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    originator: str
    action: Action
    partners: frozenset[str] = frozenset({"*"})
    categories: frozenset[str] = frozenset({"*"})
    types: tuple[str, ...] = ()  # CoT type prefixes; empty: any
    tiers: frozenset[Tier] = frozenset(Tier)
    precision_km: float = 0.0
    strip_detail: frozenset[str] = frozenset()  # "*" strips every detail entry
    drop_callsign: bool = False
    relabel: str = ""  # new banner; "{partner}" stands for the receiving nation
    label_source: str = ""  # "publisher" | "default"; empty: either

    def matches(self, item: Item, partner: str, tier: Tier) -> bool:
        return (
            self.originator in ("*", item.origin)
            and (not self.label_source or item.label_source == self.label_source)
            and ("*" in self.partners or partner in self.partners)
            and ("*" in self.categories or item.category in self.categories)
            and (not self.types or item.type.startswith(self.types))
            and tier in self.tiers
        )

    def apply(self, item: Item, partner: str) -> Item:
        """The sanitised item; its label is the rule's, when the rule states one."""
        out = item
        if self.precision_km > 0:
            out = coarsen(out, self.precision_km)
        if "*" in self.strip_detail:
            out = msgspec.structs.replace(out, detail=())
        elif self.strip_detail:
            gone = self.strip_detail
            out = msgspec.structs.replace(
                out, detail=tuple((k, v) for k, v in out.detail if k not in gone)
            )
        if self.drop_callsign:  # CoT carries the callsign in <contact>: it goes too
            kept = tuple((k, v) for k, v in out.detail if k != "contact")
            out = msgspec.structs.replace(out, callsign="", detail=kept)
        if self.relabel:
            out = msgspec.structs.replace(out, label=self.relabel.replace("{partner}", partner))
        return out


def coarsen(item: Item, km: float) -> Item:
    """Snap the position to a grid of ``km`` and widen the error to match."""
    step_lat = km / KM_PER_DEG
    lat = max(-90.0, min(90.0, round(item.lat / step_lat) * step_lat))
    step_lon = km / (KM_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    lon = round(item.lon / step_lon) * step_lon
    lon = max(-180.0, min(180.0, lon))
    return msgspec.structs.replace(
        item, lat=round(lat, 6), lon=round(lon, 6), ce=max(item.ce, km * 1000.0)
    )


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    # which rule a kind of item meets depends on these six values only: remember it
    _memo: dict[tuple[str, str, Tier, str, str, str], Rule | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def first(self, item: Item, partner: str, tier: Tier) -> Rule | None:
        """Rules are ordered: the first that matches decides."""
        key = (item.origin, partner, tier, item.category, item.type, item.label_source)
        known = self._memo.get(key, _UNSEEN)
        if known is not _UNSEEN:
            return cast("Rule | None", known)
        found = next((r for r in self.rules if r.matches(item, partner, tier)), None)
        if len(self._memo) >= 4096:
            self._memo.clear()
        self._memo[key] = found
        return found


def _names(raw: dict[str, Any], key: str, where: str) -> frozenset[str]:
    value = raw.get(key, ["*"])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("must be a list of names", field=f"{where}.{key}")
    return frozenset(value)


_KEYS = frozenset(
    {
        "id", "originator", "action", "partners", "categories", "types", "tiers",
        "precision_km", "strip_detail", "drop_callsign", "relabel", "label_source",
    }
)  # fmt: skip


def _rule(raw: dict[str, Any], i: int) -> Rule:
    where = f"rule[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError("must be a table", field=where)
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown keys {unknown}", field=f"rule {raw.get('id', i)}")
    try:
        rid, origin, action = str(raw["id"]), str(raw["originator"]), Action(raw["action"])
        where = f"rule {rid}"
        tiers = frozenset(Tier[t] for t in raw.get("tiers", [t.name for t in Tier]))
        km = float(raw.get("precision_km", 0.0))
    except KeyError as exc:
        raise ConfigError(f"missing or unknown {exc}", field=where) from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(exc), field=where) from exc
    if not math.isfinite(km) or km < 0:
        raise ConfigError("must be a distance >= 0", field=f"{where}.precision_km")
    source = raw.get("label_source", "")
    if source != "" and source not in LABEL_SOURCES:
        raise ConfigError(f"must be one of {sorted(LABEL_SOURCES)}", field=f"{where}.label_source")
    types = raw.get("types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ConfigError("must be a list of type prefixes", field=f"{where}.types")
    return Rule(
        id=rid,
        originator=origin,
        action=action,
        partners=_names(raw, "partners", where),
        categories=_names(raw, "categories", where),
        types=tuple(types),
        tiers=tiers,
        precision_km=km,
        strip_detail=_names({"s": raw.get("strip_detail", [])}, "s", f"{where}.strip_detail"),
        drop_callsign=bool(raw.get("drop_callsign", False)),
        relabel=str(raw.get("relabel", "")),
        label_source=source,
    )


def parse_rules(doc: dict[str, Any]) -> RuleSet:
    rules = tuple(_rule(r, i) for i, r in enumerate(doc.get("rule", [])))
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise ConfigError("a rule id is used twice", field="rule")
    return RuleSet(rules)


def load_rules(path: Path | None = None, *, extra: Sequence[Rule] = ()) -> RuleSet:
    """The packaged rules, or rules from a TOML file."""
    try:
        if path is None:
            text = resources.files("kizuna.gateway").joinpath("data/rules.toml").read_text()
        else:
            text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read rules: {exc}", field=str(path or "rules.toml")) from exc
    rs = parse_rules(doc)
    return RuleSet((*rs.rules, *extra))
