"""Reading the catalogue and assessments from TOML, with errors that name the field."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kizuna.errors import ConfigError
from kizuna.labels import date_field
from kizuna.roadmap._model import (
    Area,
    Assessment,
    Catalogue,
    Direction,
    Standard,
    Tier,
    TierRule,
)

__all__ = ["load_assessments", "load_catalogue", "parse_assessments", "parse_catalogue"]


def _read(path: Path | None, packaged: str) -> dict[str, Any]:
    try:
        if path is None:
            text = resources.files("kizuna.roadmap").joinpath(packaged).read_text("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", field=str(path or packaged)) from exc


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"must be a number, not {value!r}", field=where)
    return float(value)


def _standard(raw: dict[str, Any], i: int) -> Standard:
    where = f"standard[{i}]"
    try:
        sid = str(raw["id"])
        where = f"standard {sid}"
        thresholds = {
            Tier[t]: _number(raw["thresholds"][t], f"{where}.thresholds.{t}")
            for t in ("T1", "T2", "T3")
        }
        return Standard(
            sid,
            Area(raw["area"]),
            str(raw["name"]),
            str(raw["metric"]),
            str(raw.get("unit", "")),
            Direction(raw["direction"]),
            MappingProxyType(thresholds),
        )
    except KeyError as exc:
        raise ConfigError(f"missing {exc}", field=where) from exc
    except ValueError as exc:
        raise ConfigError(str(exc), field=where) from exc


def parse_catalogue(doc: dict[str, Any]) -> Catalogue:
    tiers: dict[Tier, TierRule] = {}
    for tier in Tier:
        raw = doc.get("tiers", {}).get(tier.name)
        if not isinstance(raw, dict):
            raise ConfigError("missing tier rule", field=f"tiers.{tier.name}")
        rank = raw.get("max_rank")
        if not isinstance(rank, int) or rank < 0:
            raise ConfigError("must be a rank >= 0", field=f"tiers.{tier.name}.max_rank")
        cats = raw.get("categories")
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise ConfigError("must be a list of names", field=f"tiers.{tier.name}.categories")
        tiers[tier] = TierRule(tier, str(raw.get("summary", "")), rank, frozenset(cats))
    standards = tuple(_standard(s, i) for i, s in enumerate(doc.get("standard", [])))
    ids = [s.id for s in standards]
    if len(set(ids)) != len(ids):
        raise ConfigError("a standard id is used twice", field="standard")
    return Catalogue(standards, MappingProxyType(tiers))


def parse_assessments(doc: dict[str, Any], known: frozenset[str]) -> tuple[Assessment, ...]:
    out = []
    for i, raw in enumerate(doc.get("assessment", [])):
        where = f"assessment[{i}]"
        try:
            on = date_field(raw["date"], f"{where}.date")
            values = {k: _number(v, f"{where}.values.{k}") for k, v in raw["values"].items()}
            evidence = {str(k): str(v) for k, v in raw.get("evidence", {}).items()}
            partner = str(raw["partner"])
        except KeyError as exc:
            raise ConfigError(f"missing {exc}", field=where) from exc
        except ValueError as exc:
            raise ConfigError(str(exc), field=f"{where}.date") from exc
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown standards {unknown}", field=f"{where}.values")
        out.append(Assessment(partner, on, MappingProxyType(values), MappingProxyType(evidence)))
    return tuple(out)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The packaged catalogue, or one from a TOML file."""
    return parse_catalogue(_read(path, "data/catalogue.toml"))


def load_assessments(catalogue: Catalogue, path: Path | None = None) -> tuple[Assessment, ...]:
    known = frozenset(s.id for s in catalogue.standards)
    return parse_assessments(_read(path, "data/assessments.toml"), known)
