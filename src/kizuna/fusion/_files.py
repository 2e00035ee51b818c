"""The fusion file formats, as text in and text out (the CLI does the file I/O).

- detections: ``time,sensor,x,y,sigma`` (seconds, metres)
- tracks:     ``time,track_id,x,y,vx,vy,pxx,pxy,pyy``
- truth:      ``time,truth_id,x,y,vx,vy``
- ``scenario.json``: optional tracker hints (dt, sigma per sensor, q, pd, clutter density)

A bad row is skipped and counted with a message naming its line and field; nothing else is
lost. Rows out of time order are sorted into place (stable) and counted.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from kizuna.errors import ConfigError, ParseError, ValidationError
from kizuna.fusion._scenario import ScenarioSpec
from kizuna.fusion._types import Detections, FloatArray, IntArray, Rejects, TrackTable

__all__ = [
    "DETECTION_COLUMNS",
    "TRACK_COLUMNS",
    "TRUTH_COLUMNS",
    "DetectionRows",
    "ScenarioHints",
    "format_detections",
    "format_tracks",
    "format_truth",
    "hints_of",
    "merge_detections",
    "parse_detections",
    "parse_hints",
    "parse_tracks",
    "parse_truth",
]

DETECTION_COLUMNS = ("time", "sensor", "x", "y", "sigma")
TRACK_COLUMNS = ("time", "track_id", "x", "y", "vx", "vy", "pxx", "pxy", "pyy")
TRUTH_COLUMNS = ("time", "truth_id", "x", "y", "vx", "vy")


def _rows(
    lines: Iterable[str], columns: tuple[str, ...], source: str
) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise ParseError(f"{source}: empty file, expected header {','.join(columns)}")
    names = [h.strip() for h in header]
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValidationError(f"{source}: missing column(s) {', '.join(missing)}", field="header")
    pos = {c: names.index(c) for c in columns}
    for n, row in enumerate(reader, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield n, {c: (row[i].strip() if i < len(row) else "") for c, i in pos.items()}


def _floats(
    row: dict[str, str], names: tuple[str, ...], where: str, rejects: Rejects
) -> list[float] | None:
    out = []
    for name in names:
        try:
            v = float(row[name])
        except ValueError:
            rejects.add("bad_number", 1, f"{where}: {name}: not a number: {row[name]!r}")
            return None
        if not math.isfinite(v):
            rejects.add("nonfinite", 1, f"{where}: {name}: NaN or inf")
            return None
        out.append(v)
    return out


def _int(row: dict[str, str], name: str, where: str, rejects: Rejects) -> int | None:
    try:
        return int(row[name])
    except ValueError:
        rejects.add("bad_id", 1, f"{where}: {name}: not an integer: {row[name]!r}")
        return None


def _sort_by_time(t: FloatArray, rejects: Rejects) -> IntArray:
    if t.size > 1 and bool((np.diff(t) < 0).any()):
        rejects.add("reordered_rows", int((np.diff(t) < 0).sum()), "time: rows out of order")
    return np.argsort(t, kind="stable").astype(np.int64)


@dataclass(frozen=True, slots=True)
class DetectionRows:
    """Every usable detection of a file, sorted by time."""

    time: FloatArray
    det: Detections

    def scans(self) -> Iterator[tuple[float, Detections]]:
        for a, b in _runs(self.time):
            yield float(self.time[a]), self.det.select(np.arange(a, b))


def merge_detections(parts: Iterable[DetectionRows]) -> DetectionRows:
    """Several sensors' rows as one, sorted by time (stable: file order within a time)."""
    items = list(parts)
    if not items:
        return DetectionRows(np.zeros(0), Detections.empty())
    t = np.concatenate([p.time for p in items])
    order = np.argsort(t, kind="stable")
    det = Detections(
        np.concatenate([p.det.z for p in items])[order],
        np.concatenate([p.det.sigma for p in items])[order],
        np.concatenate([p.det.sensor for p in items])[order],
    )
    return DetectionRows(t[order], det)


def parse_detections(
    lines: Iterable[str], rejects: Rejects, *, source: str = "detections", sensor: str | None = None
) -> DetectionRows:
    """Parse a detections file. With ``sensor``, rows naming another sensor are skipped."""
    t: list[float] = []
    z: list[tuple[float, float]] = []
    s: list[float] = []
    names: list[str] = []
    for n, row in _rows(lines, DETECTION_COLUMNS, source):
        where = f"{source}:{n}"
        v = _floats(row, ("time", "x", "y", "sigma"), where, rejects)
        if v is None:
            continue
        if v[3] <= 0:
            rejects.add("bad_sigma", 1, f"{where}: sigma: must be > 0 (got {v[3]})")
            continue
        if not row["sensor"] or (sensor is not None and row["sensor"] != sensor):
            rejects.add("unknown_sensor", 1, f"{where}: sensor: {row['sensor']!r} unexpected")
            continue
        t.append(v[0])
        z.append((v[1], v[2]))
        s.append(v[3])
        names.append(row["sensor"])
    ta = np.asarray(t, dtype=np.float64)
    order = _sort_by_time(ta, rejects)
    det = Detections(
        np.asarray(z, dtype=np.float64).reshape(-1, 2)[order],
        np.asarray(s, dtype=np.float64)[order],
        np.asarray(names, dtype=np.str_)[order] if names else np.zeros(0, dtype=np.str_),
    )
    return DetectionRows(ta[order], det)


def _cov(pxx: float, pxy: float, pyy: float, vel_var: float) -> FloatArray:
    p = np.diag([pxx, pyy, vel_var, vel_var])
    p[0, 1] = p[1, 0] = pxy
    return p


def parse_tracks(
    lines: Iterable[str], rejects: Rejects, *, source: str = "tracks", vel_var: float = 2500.0
) -> list[TrackTable]:
    """Parse a tracks file into one table per time. The file carries no velocity covariance,
    so velocities get variance ``vel_var`` (m²/s²), uncorrelated with position."""
    rows: list[tuple[float, int, list[float]]] = []
    for n, row in _rows(lines, TRACK_COLUMNS, source):
        where = f"{source}:{n}"
        v = _floats(row, ("time", "x", "y", "vx", "vy", "pxx", "pxy", "pyy"), where, rejects)
        tid = _int(row, "track_id", where, rejects)
        if v is None or tid is None:
            continue
        pxx, pxy, pyy = v[5:8]
        if pxx <= 0 or pyy <= 0 or pxx * pyy - pxy * pxy <= 0:
            rejects.add("singular_covariance", 1, f"{where}: pxx,pxy,pyy: not positive definite")
            continue
        rows.append((v[0], tid, v))
    times = np.asarray([r[0] for r in rows], dtype=np.float64)
    order = _sort_by_time(times, rejects)
    out: list[TrackTable] = []
    for a, b in _runs(times[order]):
        group = [rows[i] for i in order[a:b].tolist()]
        ids = np.asarray([g[1] for g in group], dtype=np.int64)
        x = np.asarray([g[2][1:5] for g in group], dtype=np.float64)
        p = np.stack([_cov(g[2][5], g[2][6], g[2][7], vel_var) for g in group])
        out.append(TrackTable(group[0][0], ids, x, p))
    return out


def parse_truth(
    lines: Iterable[str], rejects: Rejects, *, source: str = "truth"
) -> list[tuple[float, IntArray, FloatArray]]:
    """Parse a truth file into (time, ids, states) per time."""
    rows: list[tuple[float, int, list[float]]] = []
    for n, row in _rows(lines, TRUTH_COLUMNS, source):
        where = f"{source}:{n}"
        v = _floats(row, ("time", "x", "y", "vx", "vy"), where, rejects)
        tid = _int(row, "truth_id", where, rejects)
        if v is not None and tid is not None:
            rows.append((v[0], tid, v[1:]))
    times = np.asarray([r[0] for r in rows], dtype=np.float64)
    order = _sort_by_time(times, rejects)
    out: list[tuple[float, IntArray, FloatArray]] = []
    for a, b in _runs(times[order]):
        sel = [rows[i] for i in order[a:b].tolist()]
        out.append(
            (sel[0][0], np.asarray([r[1] for r in sel], np.int64), np.asarray([r[2] for r in sel]))
        )
    return out


def _runs(sorted_times: FloatArray) -> Iterator[tuple[int, int]]:
    """(start, end) of each run of equal times in a sorted array."""
    if sorted_times.size == 0:
        return
    edges = np.flatnonzero(np.r_[True, sorted_times[1:] != sorted_times[:-1], True])
    yield from zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)


def format_tracks(tables: Iterable[TrackTable]) -> Iterator[str]:
    """Lines of a tracks file (header first), one row per track per table."""
    yield ",".join(TRACK_COLUMNS) + "\n"
    for tab in tables:
        for i in range(len(tab)):
            x, p = tab.x[i], tab.p[i]
            yield (
                f"{tab.time:.6f},{int(tab.ids[i])},{x[0]:.6f},{x[1]:.6f},{x[2]:.6f},{x[3]:.6f},"
                f"{p[0, 0]:.9g},{p[0, 1]:.9g},{p[1, 1]:.9g}\n"
            )


def format_detections(time: FloatArray, det: Detections) -> Iterator[str]:
    yield ",".join(DETECTION_COLUMNS) + "\n"
    for t, name, z, s in zip(time.tolist(), det.sensor.tolist(), det.z, det.sigma, strict=True):
        yield f"{t:.6f},{name},{z[0]:.3f},{z[1]:.3f},{s:.6g}\n"


def format_truth(time: FloatArray, ids: IntArray, x: FloatArray) -> Iterator[str]:
    yield ",".join(TRUTH_COLUMNS) + "\n"
    for t, i, s in zip(time.tolist(), ids.tolist(), x, strict=True):
        yield f"{t:.6f},{i},{s[0]:.3f},{s[1]:.3f},{s[2]:.4f},{s[3]:.4f}\n"


def hints_of(spec: ScenarioSpec) -> dict[str, object]:
    """The scenario.json a generated scenario ships with."""
    side_km2 = (spec.side / 1000) ** 2
    return {
        "dt": spec.dt,
        "q": spec.tracker_q,
        "sigma": {s.name: s.sigma for s in spec.sensors},
        "pd": {s.name: s.pd for s in spec.sensors},
        "clutter_density": {s.name: s.clutter_per_km2 / 1e6 for s in spec.sensors},
        "area_km2": side_km2,
    }


@dataclass(frozen=True, slots=True)
class ScenarioHints:
    """Tracker hints from ``scenario.json``; every field is optional."""

    dt: float | None = None
    q: float | None = None
    sigma: dict[str, float] = field(default_factory=dict)
    pd: dict[str, float] = field(default_factory=dict)
    clutter_density: dict[str, float] = field(default_factory=dict)


def _positive(raw: dict[str, object], key: str) -> float | None:
    v = raw.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise ConfigError("must be a finite number >= 0", field=f"scenario.json: {key}")
    return float(v)


def _per_sensor(raw: dict[str, object], key: str) -> dict[str, float]:
    v = raw.get(key, {})
    if not isinstance(v, dict):
        raise ConfigError("must map sensor names to numbers", field=f"scenario.json: {key}")
    return {str(k): x for k in v if (x := _positive(v, k)) is not None}


def parse_hints(text: str) -> ScenarioHints:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"scenario.json: not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError("must be a JSON object", field="scenario.json")
    return ScenarioHints(
        dt=_positive(raw, "dt"),
        q=_positive(raw, "q"),
        sigma=_per_sensor(raw, "sigma"),
        pd=_per_sensor(raw, "pd"),
        clutter_density=_per_sensor(raw, "clutter_density"),
    )
