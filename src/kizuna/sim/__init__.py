"""The exercise: SimPy processes driving the production code under a virtual clock."""

from kizuna.sim._clock import SimClock
from kizuna.sim._experiment import Experiment, Failure, Outcome, Progress, RunFn, run_experiment
from kizuna.sim._results import RunKey, RunResult, load_results, read_result, write_result

__all__ = [
    "Experiment",
    "Failure",
    "Outcome",
    "Progress",
    "RunFn",
    "RunKey",
    "RunResult",
    "SimClock",
    "load_results",
    "read_result",
    "run_experiment",
    "write_result",
]
