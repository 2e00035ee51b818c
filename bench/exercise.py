"""Wall time of the exercise: the default sweep on this machine's cores, and one run's speed.

Prints one JSON line. The sweep is the shipped default (3 architectures x 3 tiers x 5 seeds of
24 simulated hours) unless --quick, which plays 1 seed of 6 hours for a smoke figure. The peer
is the same run played with the gateways bypassed (items handed straight to the partner's
picture), which measures what the real guard, audit and bus cost inside the exercise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from kizuna.clock import Clock
from kizuna.coord import load_architecture
from kizuna.cot import Event
from kizuna.sim import ExerciseRun, Experiment, RunKey, World, load_scenario, run_experiment
from kizuna.sim._picture import Crossing
from kizuna.sustain import default_model


class _Quiet:
    def started(self, key: RunKey) -> None: ...
    def advanced(self, key: RunKey, sim_s: float) -> None: ...
    def finished(self, key: RunKey, ok: bool) -> None: ...


class _Bypass:
    """Hands every item over unjudged: the peer that shows the guard's share of the time."""

    def send(self, origin: str, partner: str, events: list[Event]) -> list[Event]:
        return list(events)

    def figures(self) -> dict[str, float]:
        return {}


def one_run(hours: float) -> tuple[float, float]:
    key = RunKey("integrated", "T2", 1)
    result = ExerciseRun(hours=hours)(key, lambda _: None)
    sc = replace(load_scenario(), hours=hours)

    def bypass(clock: Clock) -> Crossing:
        return _Bypass()

    world = World(sc, load_architecture("integrated"), bypass, default_model(), 1)
    bypass_wall = world.run()
    return result.wall_s, bypass_wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    sc = load_scenario()
    hours = 6.0 if args.quick else sc.hours
    seeds = 1 if args.quick else sc.seeds
    exp = Experiment(sc.architectures, sc.tiers, tuple(range(1, seeds + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        outcome = run_experiment(ExerciseRun(hours=hours), exp, Path(tmp), _Quiet(), jobs=args.jobs)
        sweep_s = time.perf_counter() - t0
    run_wall, bypass_wall = one_run(hours)
    print(
        json.dumps(
            {
                "bench": "exercise",
                "runs": len(exp.runs()),
                "failed": len(outcome.failures),
                "hours_per_run": hours,
                "jobs": args.jobs,
                "sweep_wall_s": round(sweep_s, 1),
                "sweep_target_s": 60,
                "one_run_wall_s": round(run_wall, 2),
                "sim_s_per_wall_s": round(hours * 3600 / run_wall, 1),
                "one_run_gateways_bypassed_wall_s": round(bypass_wall, 2),
                "gateway_share_of_run": round(1 - bypass_wall / run_wall, 3),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
