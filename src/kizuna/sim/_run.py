"""The picklable run function the experiment hands to its workers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from kizuna.clock import Clock
from kizuna.coord import load_architecture
from kizuna.roadmap import Tier
from kizuna.sim._collect import collect
from kizuna.sim._crossing import GatewayCrossing
from kizuna.sim._experiment import ProgressFn
from kizuna.sim._picture import Crossing
from kizuna.sim._results import RunKey, RunResult
from kizuna.sim._scenario import Scenario, load_scenario
from kizuna.sim._world import PICTURE_NATIONS, World
from kizuna.sustain import default_model

__all__ = ["ExerciseRun"]


@dataclass(frozen=True, slots=True)
class ExerciseRun:
    """Plays one (architecture, tier, seed) of a scenario; loads everything in the worker."""

    scenario_path: Path | None = None
    hours: float | None = None
    rules: Path | None = None

    def scenario(self) -> Scenario:
        sc = load_scenario(self.scenario_path)
        return sc if self.hours is None else replace(sc, hours=self.hours)

    def __call__(self, key: RunKey, progress: ProgressFn) -> RunResult:
        sc = self.scenario()
        arch = load_architecture(key.architecture)
        tier = Tier[key.tier]

        def crossing(clock: Clock) -> Crossing:
            return GatewayCrossing(PICTURE_NATIONS, tier, clock, self.rules)

        world = World(sc, arch, crossing, default_model(), key.seed)
        try:
            wall = world.run(progress)
            return collect(world, key, wall)
        finally:
            world.close()
