"""One run's outputs in one SQLite file: metrics, distributions and the event history.

A file is written under a temporary name and renamed into place, so a run that was stopped
half-way never leaves a file that looks finished.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kizuna.errors import StoreError

__all__ = ["RunKey", "RunResult", "load_results", "read_result", "write_result"]


@dataclass(frozen=True, slots=True, order=True)
class RunKey:
    architecture: str
    tier: str
    seed: int

    @property
    def slug(self) -> str:
        return f"{self.architecture}__{self.tier}__s{self.seed}"


@dataclass(frozen=True, slots=True)
class RunResult:
    key: RunKey
    sim_s: float
    wall_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    series: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    events: tuple[tuple[float, str, str], ...] = ()  # (time s, kind, JSON body)


_SCHEMA = """
CREATE TABLE run (architecture TEXT, tier TEXT, seed INTEGER, sim_s REAL, wall_s REAL);
CREATE TABLE metrics (name TEXT PRIMARY KEY, value REAL);
CREATE TABLE series (name TEXT, idx INTEGER, value REAL, PRIMARY KEY (name, idx));
CREATE TABLE events (seq INTEGER PRIMARY KEY, t REAL, kind TEXT, body TEXT);
"""


def write_result(result: RunResult, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{result.key.slug}.sqlite"
    tmp = final.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    try:
        with sqlite3.connect(tmp) as db:
            # One commit for the file: it is renamed into place only once whole, so a
            # rollback journal on disk would buy nothing but more waits for the disk.
            db.execute("PRAGMA journal_mode=MEMORY")
            db.executescript(f"BEGIN;{_SCHEMA}")
            k = result.key
            db.execute(
                "INSERT INTO run VALUES (?,?,?,?,?)",
                (k.architecture, k.tier, k.seed, result.sim_s, result.wall_s),
            )
            db.executemany("INSERT INTO metrics VALUES (?,?)", result.metrics.items())
            db.executemany(
                "INSERT INTO series VALUES (?,?,?)",
                ((name, i, v) for name, vals in result.series.items() for i, v in enumerate(vals)),
            )
            db.executemany("INSERT INTO events (t, kind, body) VALUES (?,?,?)", result.events)
        db.close()
        tmp.replace(final)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write run results {final}: {exc}") from exc
    return final


def read_result(path: Path, *, with_events: bool = False) -> RunResult:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            arch, tier, seed, sim_s, wall_s = db.execute("SELECT * FROM run").fetchone()
            # SQLite keeps NaN as NULL
            metrics = {
                k: math.nan if v is None else v
                for k, v in db.execute("SELECT name, value FROM metrics")
            }
            series: dict[str, list[float]] = {}
            for name, value in db.execute("SELECT name, value FROM series ORDER BY name, idx"):
                series.setdefault(name, []).append(math.nan if value is None else value)
            events: tuple[tuple[float, str, str], ...] = ()
            if with_events:
                events = tuple(db.execute("SELECT t, kind, body FROM events ORDER BY seq"))
        finally:
            db.close()
    except (sqlite3.Error, TypeError) as exc:
        raise StoreError(f"cannot read run results {path}: {exc}") from exc
    return RunResult(
        RunKey(arch, tier, int(seed)),
        sim_s,
        wall_s,
        metrics,
        {k: tuple(v) for k, v in series.items()},
        events,
    )


def load_results(directory: Path) -> list[RunResult]:
    """Every finished run under ``directory``, in key order."""
    return sorted((read_result(p) for p in directory.glob("*.sqlite")), key=lambda r: r.key)
