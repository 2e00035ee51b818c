"""Admission of nominations and the built-in gate set: where bad input stops."""

from __future__ import annotations

import math
from collections.abc import Container

import numpy as np

from kizuna.coord._arch import Architecture
from kizuna.coord._gates import CollateralGate, Gate, LegalReviewGate, NoStrikeGate
from kizuna.coord._model import NodeKind, Nomination, Target, TargetType
from kizuna.errors import ConfigError, KizunaError, ValidationError
from kizuna.labels import PolicyTable, parse_banner

__all__ = ["admit", "default_gates"]


def default_gates(arch: Architecture) -> tuple[Gate, ...]:
    """The JP 3-60 gates configured by the architecture, in its order."""
    known: dict[str, Gate] = {
        "no_strike": NoStrikeGate(arch.no_strike),
        "cde": CollateralGate(arch.cde_max_tier),
        "legal": LegalReviewGate(),
    }
    unknown = [g for g in arch.gate_latency if g not in known]
    if unknown:
        raise ConfigError(
            f"no built-in gate {unknown[0]!r}; pass gates= to plug one in", field="gates"
        )
    return tuple(known[g] for g in arch.gate_latency)


def admit(
    n: Nomination,
    arch: Architecture,
    table: PolicyTable,
    rng: np.random.Generator,
    *,
    now: float,
    known: Container[str],
) -> tuple[Target, TargetType]:
    """A checked Target for a nomination, or ValidationError naming the bad field."""
    kind = arch.target_types.get(n.type)
    if kind is None:
        raise ValidationError(f"unknown target type {n.type!r}", field="type")
    node = arch.nodes.get(n.sensor)
    if node is None or node.kind is not NodeKind.SENSOR:
        raise ValidationError(f"{n.sensor!r} is not a sensor of {arch.name}", field="sensor")
    if not n.target_id or n.target_id in known:
        raise ValidationError(f"duplicate or empty target id {n.target_id!r}", field="target_id")
    if not math.isfinite(n.at) or n.at < now:
        raise ValidationError(f"nomination at {n.at} is before the cell's time {now}", field="at")
    for name, value in (("x_km", n.x_km), ("y_km", n.y_km)):
        if not math.isfinite(value):
            raise ValidationError(f"position must be finite, got {value}", field=name)
    tier = kind.cde_tier if n.cde_tier is None else n.cde_tier
    if not 1 <= tier <= 5:
        raise ValidationError(f"CDE tier must be 1..5, got {tier}", field="cde_tier")
    label = n.label or node.label or "UNCLASSIFIED"
    try:
        parse_banner(label, table)
    except KizunaError as exc:
        raise ValidationError(str(exc), field="label") from exc
    window = None if kind.dwell is None else n.at + kind.dwell.sample(rng)
    target = Target(
        n.target_id, n.type, n.x_km, n.y_km, n.sensor, node.nation, label, tier, n.at, window
    )
    return target, kind
