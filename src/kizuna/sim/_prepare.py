"""Everything about an exercise is checked before the first run starts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kizuna.coord import Architecture, load_architecture
from kizuna.errors import KizunaError
from kizuna.sim._experiment import Experiment
from kizuna.sim._problems import Problems
from kizuna.sim._run import ExerciseRun
from kizuna.sim._scenario import TIERS, Scenario, check_references

__all__ = ["Plan", "prepare"]


@dataclass(frozen=True, slots=True)
class Plan:
    run: ExerciseRun
    experiment: Experiment
    scenario: Scenario


def prepare(
    scenario_path: Path | None,
    *,
    architectures: Sequence[str] | None = None,
    tiers: Sequence[str] | None = None,
    seeds: int | None = None,
    hours: float | None = None,
) -> Plan:
    """Load and cross-check the scenario and the sweep; raise listing every problem."""
    run = ExerciseRun(scenario_path, hours)
    scenario = run.scenario()
    source = str(scenario_path or "default.yaml")
    problems = Problems()
    names = list(architectures or scenario.architectures)
    archs: dict[str, Architecture] = {}
    for i, name in enumerate(names):
        try:
            archs[name] = load_architecture(name)
        except KizunaError as exc:
            problems.add(f"architectures[{i}]", f"{name!r}: {exc}")
    chosen_tiers = list(tiers or scenario.tiers)
    for i, tier in enumerate(chosen_tiers):
        if tier not in TIERS:
            problems.add(f"tiers[{i}]", f"unknown tier {tier!r}; one of {', '.join(TIERS)}")
    n_seeds = scenario.seeds if seeds is None else seeds
    if n_seeds < 1:
        problems.add("seeds", f"must be >= 1, got {n_seeds}")
    if hours is not None and not 0 < hours <= 24 * 30:
        problems.add("hours", f"must be in (0, 720], got {hours}")
    problems.raise_if_any(source)
    check_references(scenario, archs, source)
    experiment = Experiment(tuple(names), tuple(chosen_tiers), tuple(range(1, n_seeds + 1)))
    return Plan(run, experiment, scenario)
