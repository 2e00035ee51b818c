from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kizuna.sim import Experiment, RunKey, RunResult, load_results, run_experiment
from kizuna.sim._experiment import ProgressFn


@dataclass
class Recorder:
    started: list[RunKey] = field(default_factory=list)
    finished: list[tuple[RunKey, bool]] = field(default_factory=list)
    advanced: int = 0

    def on_start(self, key: RunKey) -> None:
        self.started.append(key)

    def on_advance(self, key: RunKey, sim_s: float) -> None:
        self.advanced += 1

    def on_finish(self, key: RunKey, ok: bool) -> None:
        self.finished.append((key, ok))


class _Progress:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def started(self, key: RunKey) -> None:
        self.rec.on_start(key)

    def advanced(self, key: RunKey, sim_s: float) -> None:
        self.rec.on_advance(key, sim_s)

    def finished(self, key: RunKey, ok: bool) -> None:
        self.rec.on_finish(key, ok)


def toy_run(key: RunKey, progress: ProgressFn) -> RunResult:
    if key.seed == 13:
        raise RuntimeError("boom in seed 13")
    progress(3600.0)
    return RunResult(
        key,
        3600.0,
        0.01,
        {"x": float(key.seed)},
        {"killchain_s": (1.0, 2.0)},
        ((1.0, "note", "{}"),),
    )


EXP = Experiment(["parallel", "integrated"], ["T1"], [1, 13, 2])


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_crash_is_reported_with_its_seed_and_loses_nothing_else(
    tmp_path: Path, jobs: int
) -> None:
    rec = Recorder()
    outcome = run_experiment(toy_run, EXP, tmp_path, _Progress(rec), jobs=jobs)
    assert [f.key.seed for f in outcome.failures] == [13, 13]
    assert all("boom in seed 13" in f.error for f in outcome.failures)
    done = load_results(tmp_path)
    assert sorted((r.key.architecture, r.key.seed) for r in done) == [
        ("integrated", 1),
        ("integrated", 2),
        ("parallel", 1),
        ("parallel", 2),
    ]
    assert done[0].series["killchain_s"] == (1.0, 2.0)
    assert len(rec.finished) == 6
    assert rec.advanced == 4  # every finished run's report reached the parent, workers or not
    assert not list(tmp_path.glob("*.partial"))


def test_finished_runs_are_not_played_again(tmp_path: Path) -> None:
    run_experiment(toy_run, EXP, tmp_path, _Progress(Recorder()))
    again = run_experiment(toy_run, EXP, tmp_path, _Progress(Recorder()))
    assert len(again.skipped) == 4
    assert not again.written
