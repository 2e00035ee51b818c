"""The exercise: SimPy processes driving the production code under a virtual clock."""

from kizuna.sim._clock import SimClock
from kizuna.sim._experiment import Experiment, Failure, Outcome, Progress, RunFn, run_experiment
from kizuna.sim._prepare import Plan, prepare
from kizuna.sim._problems import ScenarioError
from kizuna.sim._results import RunKey, RunResult, load_results, read_result, write_result
from kizuna.sim._run import ExerciseRun
from kizuna.sim._scenario import Scenario, load_scenario, parse_scenario
from kizuna.sim._world import World

__all__ = [
    "ExerciseRun",
    "Experiment",
    "Failure",
    "Outcome",
    "Plan",
    "Progress",
    "RunFn",
    "RunKey",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "SimClock",
    "World",
    "load_results",
    "load_scenario",
    "parse_scenario",
    "prepare",
    "read_result",
    "run_experiment",
    "write_result",
]
