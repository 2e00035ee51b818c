"""A finished World turned into the run's figures, named as the report expects."""

from __future__ import annotations

import json
import math

import numpy as np

from kizuna.coord import run_metrics
from kizuna.sim._results import RunKey, RunResult
from kizuna.sim._world import World

__all__ = ["collect"]


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else math.nan


def _stage_times(world: World) -> dict[str, list[float]]:
    """Seconds spent reaching each stage, per target and attempt, from the full histories."""
    out: dict[str, list[float]] = {}
    for rec in world.cell.records.values():
        prev = None
        for ev in rec.history:
            if prev is not None and ev.frm is not None:
                out.setdefault(f"gate_s.{ev.to.value}", []).append(ev.t - prev)
            prev = ev.t
    return out


def collect(world: World, key: RunKey, wall_s: float) -> RunResult:
    sc = world.scenario
    horizon = sc.hours * 3600.0
    m = run_metrics(world.arch, world.cell.records, horizon_s=horizon)
    metrics: dict[str, float] = {
        "targets_nominated": float(world.counts.nominated),
        "nominations_refused": float(world.counts.refused),
        "targets_destroyed": float(world.counts.killed),
        "tst_in_window": _finite(m.tst_share),
        "reattack_rate": _finite(m.reattack_rate),
        "bda_cycle_s": _finite(m.bda_cycle.p50),
        "shooter_utilisation": _finite(m.mean_utilisation),
        "killchain_p50_s": _finite(m.kill_chain.p50),
        "killchain_p90_s": _finite(m.kill_chain.p90),
    }
    for nation, cp in m.critical_path.items():
        metrics[f"approval_critical.{nation}"] = _finite(cp.share_of_kill_chain)
    for nation, n in world.counts.nominated_by.items():
        metrics[f"nominated_by.{nation}"] = float(n)
    for nation, pic in world.pictures.items():
        metrics[f"cop_gospa.{nation}"] = (
            float(np.mean(pic.gospa_values)) if pic.gospa_values else math.nan
        )
        metrics[f"cop_completeness.{nation}"] = (
            float(np.mean(pic.completeness)) if pic.completeness else math.nan
        )
    metrics.update(world.crossing.figures())
    used = sorted({s.munition for s in world.arch.shooters.values()})
    days = sc.hours / 24.0
    for munition in used:
        left = world.stock_series[munition][-1] if world.stock_series[munition] else 0.0
        rate = world.stock.fired[munition] / days if days else 0.0
        metrics[f"days_to_exhaustion.{munition}"] = left / rate if rate else math.inf
        metrics[f"fired.{munition}"] = float(world.stock.fired[munition])
        metrics[f"short.{munition}"] = float(world.stock.short[munition])
    series: dict[str, tuple[float, ...]] = {
        "killchain_s": tuple(m.kill_chain_by_target.values()),
        **{k: tuple(v) for k, v in _stage_times(world).items()},
        **{f"stock.{mu}": tuple(world.stock_series[mu]) for mu in used},
    }
    events = [
        (ev.t, "coord", json.dumps(ev.to_json(), separators=(",", ":")))
        for ev in world.cell.history
    ]
    events += [
        (t, "sharing", json.dumps({"direction": d, "offered": o, "released": r}))
        for t, d, o, r in world.sharing_series
    ]
    events.sort(key=lambda e: e[0])
    return RunResult(key, horizon, wall_s, metrics, series, tuple(events))
