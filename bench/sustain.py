"""Sustainment benchmark: one JSON line.

1. A 180-day campaign with 20 munition types, 10 depots, 15 production lines and 20 transport
   links, stepped day by day by ``kizuna.sustain`` (target < 0.5 s), side by side with the plain
   list-and-dict reference loop on the same schedule (the peer; results must agree exactly).
2. The HNS budget LP with 20 categories (3 segments each) and 8 constraints (target < 50 ms),
   side by side with one bare ``scipy.optimize.linprog`` call (default method) on the same
   matrices: the ratio is what the planner's reporting (duals, slacks, allocations) costs.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
from scipy.optimize import linprog

from kizuna.sustain import (
    Objective,
    build_schedule,
    parse_campaign,
    parse_hns,
    parse_model,
    plan,
    run_schedule,
)
from kizuna.sustain._lp import _layout, _objective_vector, _rows
from kizuna.sustain._reference import reference_run

DAYS, TYPES, DEPOTS, LINES, LINKS = 180, 20, 10, 15, 20


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def campaign_docs(rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    mun = [f"T{k:02d}" for k in range(TYPES)]
    depots = [
        {"id": f"D{i}", "nation": "USA" if i % 2 else "JPN", "lat": 0, "lon": 0,
         "capacity": None if i < 2 else 20_000, "vulnerability": 0.0, "source": "bench",
         "stock": {m: int(rng.integers(0, 400)) for m in mun}}
        for i in range(DEPOTS)
    ]  # fmt: skip
    links = [
        {"origin": f"D{k % 2}", "dest": f"D{2 + k % (DEPOTS - 2)}", "source": "bench",
         "lift_per_day": int(rng.integers(50, 300)), "delay_days": int(rng.integers(1, 15))}
        for k in range(LINKS)
    ]  # fmt: skip
    lines = [
        {"id": f"L{j}", "nation": "USA", "munition": mun[j % TYPES], "depot": f"D{j % 2}",
         "rate_per_month": float(rng.uniform(5, 80)), "surge_rate_per_month": 100.0,
         "surge_lead_days": 60, "ramp": [[0, 0.3], [6, 1.0]], "start_day": -30,
         "components": ["motor"], "component_buffer_days": 20, "source": "bench"}
        for j in range(LINES)
    ]  # fmt: skip
    model = {
        "munitions": [{"id": m, "owner": "USA", "unit_cost_usd": 1e6, "source": "b"} for m in mun],
        "depots": depots, "links": links, "lines": lines,
        "suppliers": [{"id": "s1", "nation": "USA", "source": "b"}],
        "components": [{"id": "motor", "suppliers": ["s1"], "source": "b"}],
    }  # fmt: skip
    consumption = [
        {"munition": m, "depot": f"D{i}", "per_day": float(rng.uniform(0, 12)), "source": "b",
         "from_day": 1, "to_day": DAYS}
        for i in range(2, DEPOTS) for m in mun if rng.random() < 0.5
    ]  # fmt: skip
    events = [{"kind": "depot_lost", "target": "D5", "day": 60},
              {"kind": "supplier_lost", "target": "s1", "day": 120}]  # fmt: skip
    campaign = {"name": "bench", "days": DAYS, "cover_days": 10, "surge": True,
                "consumption": consumption, "events": events}  # fmt: skip
    return model, campaign


def hns_doc(rng: np.random.Generator, n: int = 20) -> dict[str, Any]:
    cats = []
    for i in range(n):
        hi = float(rng.uniform(0.5, 3))
        cats.append({
            "id": f"c{i}", "current_yen": 10e9, "source": "bench", "segments": [
                {"width_yen": float(rng.uniform(2e9, 10e9)), "stocks": hi, "training": hi / 2},
                {"width_yen": float(rng.uniform(2e9, 10e9)), "stocks": hi / 2, "training": hi / 3},
                {"stocks": hi / 10, "training": hi / 10}]})  # fmt: skip
    cons = [{"id": f"floor{i}", "sense": ">=", "categories": [f"c{i}"], "yen": 5e9,
             "source": "b"} for i in range(5)]  # fmt: skip
    cons += [{"id": f"cap{i}", "sense": "<=", "categories": [f"c{j}" for j in range(i, n, 3)],
              "share_of_budget": 0.3, "source": "b"} for i in range(3)]  # fmt: skip
    return {"source": "bench", "budget_yen": 211e9, "yen_per_usd": 150, "categories": cats,
            "constraints": cons}  # fmt: skip


def main() -> None:
    rng = np.random.default_rng(7)
    model_doc, camp_doc = campaign_docs(rng)
    model = parse_model(model_doc)
    camp = parse_campaign(camp_doc, model)
    sched = build_schedule(model, camp)
    kizuna_s, result = timed(lambda: run_schedule(model, sched, "bench"), 7)
    build_s, _ = timed(lambda: build_schedule(model, camp), 3)
    naive_s, naive = timed(lambda: reference_run(sched), 3)
    agree = (
        result.on_hand.tolist() == naive.on_hand and result.shortfall.tolist() == naive.shortfall
    )

    hns = parse_hns(hns_doc(rng))
    plan_s, p = timed(lambda: plan(hns, Objective.STOCKS), 21)
    weighted_s, _ = timed(lambda: plan(hns, Objective.WEIGHTED), 21)
    owner, bounds = _layout(hns)
    rows = _rows(hns, owner, hns.budget_yen)
    c = _objective_vector(hns, Objective.STOCKS, rows, bounds)
    peer_s, peer = timed(lambda: linprog(-c, A_ub=rows.a, b_ub=rows.b, bounds=bounds), 21)
    doc = {
        "bench": "sustain",
        "campaign": {
            "days": DAYS,
            "types": TYPES,
            "depots": DEPOTS,
            "lines": LINES,
            "links": LINKS,
        },
        "campaign_s": round(kizuna_s, 4),
        "campaign_schedule_build_s": round(build_s, 4),
        "campaign_target_s": 0.5,
        "campaign_within_target": kizuna_s + build_s < 0.5,
        "naive_loop_s": round(naive_s, 4),
        "campaign_speedup_vs_naive": round(naive_s / kizuna_s, 2),
        "results_agree_with_naive": agree,
        "hns_categories": len(hns.categories),
        "hns_plan_ms": round(plan_s * 1e3, 3),
        "hns_weighted_plan_ms": round(weighted_s * 1e3, 3),
        "hns_target_ms": 50,
        "hns_within_target": plan_s * 1e3 < 50 and weighted_s * 1e3 < 50,
        "linprog_bare_ms": round(peer_s * 1e3, 3),
        "hns_plan_over_bare_linprog": round(plan_s / peer_s, 2),
        "objectives_agree": abs(p.value - (-peer.fun)) < 1e-6,
        "python": platform.python_version(),
        "scipy": scipy.__version__,
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
