"""Sweeps of runs: architectures x tiers x seeds, in-process or across worker processes.

Each finished run is written to its own file at once, so stopping (Ctrl-C) or a crash in one
run loses nothing that had finished; a crashed run is reported with its key and seed.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kizuna.sim._results import RunKey, RunResult, write_result

__all__ = ["Experiment", "Failure", "Outcome", "Progress", "RunFn", "run_experiment"]

ProgressFn = Callable[[float], None]


class RunFn(Protocol):
    """Plays one run; calls ``progress(sim_seconds)`` now and then. Must be picklable."""

    def __call__(self, key: RunKey, progress: ProgressFn) -> RunResult: ...


class Progress(Protocol):
    def started(self, key: RunKey) -> None: ...
    def advanced(self, key: RunKey, sim_s: float) -> None: ...
    def finished(self, key: RunKey, ok: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class Failure:
    key: RunKey
    error: str


@dataclass(slots=True)
class Outcome:
    written: list[Path] = field(default_factory=list)
    skipped: list[RunKey] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class Experiment:
    architectures: Sequence[str]
    tiers: Sequence[str]
    seeds: Sequence[int]

    def runs(self) -> list[RunKey]:
        return [RunKey(a, t, s) for a in self.architectures for t in self.tiers for s in self.seeds]


# A worker process's progress queue, set once as it starts: a queue can only be handed over at
# process start, not with each task.
_progress: list[mp.SimpleQueue[tuple[RunKey, float]]] = []


def _start_worker(queue: mp.SimpleQueue[tuple[RunKey, float]]) -> None:
    # Only the parent reacts to Ctrl-C; it then stops the workers itself. The progress queue
    # is inherited at start, so no manager process is needed to carry it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _progress[:] = [queue]


def _worker(run: RunFn, key: RunKey, out: Path) -> Path:
    queue = _progress[0]
    result = run(key, lambda sim_s: queue.put((key, sim_s)))
    return write_result(result, out)


def _run_serial(
    run: RunFn, keys: Iterable[RunKey], out: Path, progress: Progress, outcome: Outcome
) -> None:
    for key in keys:
        progress.started(key)

        def advance(sim_s: float, key: RunKey = key) -> None:
            progress.advanced(key, sim_s)

        try:
            result = run(key, advance)
            outcome.written.append(write_result(result, out))
            progress.finished(key, True)
        except KeyboardInterrupt:
            outcome.interrupted = True
            return
        except Exception:  # a crash in one run must not lose the others
            outcome.failures.append(Failure(key, traceback.format_exc(limit=6)))
            progress.finished(key, False)


def _drain(queue: mp.SimpleQueue[tuple[RunKey, float]], progress: Progress) -> None:
    while not queue.empty():
        key, sim_s = queue.get()
        progress.advanced(key, sim_s)


def _start_method() -> str:
    """Fork where it is safe, since a forked worker starts with everything imported (about a
    second of a sweep); a process running other threads could hand a child a lock that one
    of them holds, so then, and off Linux, workers are spawned afresh."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _run_pool(
    run: RunFn, keys: list[RunKey], out: Path, *, jobs: int, progress: Progress, outcome: Outcome
) -> None:
    ctx = mp.get_context(_start_method())
    queue: mp.SimpleQueue[tuple[RunKey, float]] = ctx.SimpleQueue()
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_start_worker, initargs=(queue,)
    )
    futures: dict[Future[Path], RunKey] = {}
    try:
        for key in keys:
            futures[pool.submit(_worker, run, key, out)] = key
            progress.started(key)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(queue, progress)
            for fut in done:
                key = futures[fut]
                try:
                    outcome.written.append(fut.result())
                    progress.finished(key, True)
                except Exception as exc:  # the worker's traceback travels as the cause
                    outcome.failures.append(Failure(key, f"{type(exc).__name__}: {exc}"))
                    progress.finished(key, False)
        _drain(queue, progress)  # a worker's last report is written before its result returns
    except KeyboardInterrupt:
        outcome.interrupted = True
        pool.shutdown(wait=False, cancel_futures=True)
        for child in mp.active_children():
            child.terminate()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        queue.close()


def run_experiment(
    run: RunFn,
    experiment: Experiment,
    out: Path,
    progress: Progress,
    *,
    jobs: int = 1,
    resume: bool = True,
) -> Outcome:
    """Play every run of the experiment, writing each result under ``out``."""
    outcome = Outcome()
    keys = []
    for key in experiment.runs():
        if resume and (out / f"{key.slug}.sqlite").exists():
            outcome.skipped.append(key)
        else:
            keys.append(key)
    if jobs <= 1 or len(keys) <= 1:
        _run_serial(run, keys, out, progress, outcome)
    else:
        _run_pool(run, keys, out, jobs=min(jobs, len(keys)), progress=progress, outcome=outcome)
    if outcome.interrupted:  # a run stopped while writing leaves only its temporary file
        for partial in out.glob("*.partial"):
            partial.unlink(missing_ok=True)
    return outcome
