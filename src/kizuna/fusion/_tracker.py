"""The multi-target tracker: components run in order over a batch of trackers.

``step(trackers, time, scans)`` steps several trackers at one instant in one set of array
operations: their tracks and detections are stacked, each row knowing its tracker, and each
component (``kizuna.fusion.base``) runs once on the stack. ``Tracker.step`` is the same for
a batch of one. A pair never joins two trackers, so each tracker sees its own problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from kizuna.errors import ValidationError
from kizuna.fusion._components import (
    EllipsoidGater,
    GnnAssociator,
    ImmPredictor,
    KalmanUpdater,
    MissDeleter,
    MofNInitiator,
    ScoreDeleter,
    ScoreInitiator,
    book,
)
from kizuna.fusion._models import ConstantVelocity, MotionMix, MotionModel
from kizuna.fusion._types import BoolArray, Detections, FloatArray, IntArray, Rejects, TrackTable
from kizuna.fusion.base import (
    Associator,
    Deleter,
    Gater,
    Initiator,
    Rules,
    Scan,
    Tracks,
    Updater,
)

__all__ = ["Components", "ScanResult", "Tracker", "TrackerConfig", "step"]

CV_Q = 1.0  # m²/s³, a lone CV model's process noise when none is given
IMM_Q_QUIET = 0.1  # m²/s³, the IMM's quiet mode when no q is given
CV_GATE = 13.8  # χ², 2 degrees of freedom: 99.9 % of true detections
IMM_GATE = 20.0  # χ², 99.995 %: room for a turn's first scans


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tracker parameters. ``gate`` is a χ² threshold on the squared Mahalanobis distance;
    None: 13.8 for "cv" (99.9 % of true 2-D detections), 20 for "imm", whose merged
    estimate has heavier tails than one Gaussian when a turn begins (the tracker's own
    motion decides, whether from ``motion`` or from a model passed in).

    ``motion``: "imm" (default) mixes a quiet and a manoeuvring nearly-constant-velocity
    mode, so no process noise need be tuned; "cv" is one Kalman filter of noise ``q``
    (default 1 m²/s³). For "imm", ``q`` is the quiet mode's noise (default 0.1).
    ``confirm``: "score" (default) confirms and deletes by the track's log-likelihood ratio
    against clutter (a sequential probability ratio test with false- and missed-track
    chances ``false_track_prob`` and ``missed_track_prob``), given the sensor's ``pd`` and
    ``clutter_density`` (false detections per m² per scan); "m_of_n" confirms after
    ``confirm_m`` hits in ``confirm_n`` scans. Either way a confirmed track goes after about
    ``max_misses`` missed scans in a row, or when its position variance passes
    ``max_position_var``.
    """

    gate: float | None = None
    motion: Literal["cv", "imm"] = "imm"
    q: float | None = None
    q_manoeuvre: float = 80.0
    confirm: Literal["score", "m_of_n"] = "score"
    pd: float = 0.9
    clutter_density: float = 1e-8
    false_track_prob: float = 1e-2
    missed_track_prob: float = 0.1
    confirm_m: int = 3
    confirm_n: int = 4
    max_misses: int = 4
    max_position_var: float = 1.0e6  # m²; a confirmed track this unsure is deleted
    init_speed_sigma: float = 150.0  # m/s, velocity std of a track born from one detection
    max_tracks: int = 50_000
    sensors: frozenset[str] | None = None  # None: accept any sensor name

    def __post_init__(self) -> None:
        if not 1 <= self.confirm_m <= self.confirm_n <= 62:
            raise ValidationError("need 1 <= M <= N <= 62", field="confirm_m")
        if self.gate_for(1) <= 0 or self.max_misses < 1 or self.max_tracks < 1:
            raise ValidationError("gate, max_misses and max_tracks must be positive")
        if self.motion not in ("cv", "imm"):
            raise ValidationError('must be "cv" or "imm"', field="motion")
        if self.confirm not in ("score", "m_of_n"):
            raise ValidationError('must be "score" or "m_of_n"', field="confirm")
        if self.q is not None and not (math.isfinite(self.q) and self.q >= 0):
            raise ValidationError("must be finite and >= 0", field="q")
        if not (math.isfinite(self.q_manoeuvre) and self.q_manoeuvre >= 0):
            raise ValidationError("must be finite and >= 0", field="q_manoeuvre")
        if not 0 < self.pd < 1:
            raise ValidationError("must be in (0, 1)", field="pd")
        if not (math.isfinite(self.clutter_density) and self.clutter_density > 0):
            raise ValidationError("must be finite and > 0", field="clutter_density")
        for name in ("false_track_prob", "missed_track_prob"):
            if not 0 < getattr(self, name) < 0.5:
                raise ValidationError("must be in (0, 0.5)", field=name)

    def gate_for(self, modes: int) -> float:
        """The χ² gate in force for a filter of ``modes`` motion modes."""
        if self.gate is not None:
            return self.gate
        return CV_GATE if modes == 1 else IMM_GATE

    def motion_mix(self, dim: int = 2) -> MotionMix:
        """The motion this configuration asks for."""
        if self.motion == "cv":
            return MotionMix.single(ConstantVelocity(CV_Q if self.q is None else self.q, dim))
        quiet = IMM_Q_QUIET if self.q is None else self.q
        return MotionMix.quiet_and_manoeuvring(quiet, self.q_manoeuvre, dim)


@dataclass(frozen=True, slots=True)
class Components:
    """The components a tracker runs after its predictor. Equal components let trackers
    step together, so implementations should be frozen dataclasses (or compare equal)."""

    gater: Gater = field(default_factory=EllipsoidGater)
    associator: Associator = field(default_factory=GnnAssociator)
    updater: Updater = field(default_factory=KalmanUpdater)
    initiator: Initiator = field(default_factory=ScoreInitiator)
    deleter: Deleter = field(default_factory=ScoreDeleter)

    @classmethod
    def of(cls, config: TrackerConfig) -> Components:
        """The default components for ``config.confirm``."""
        if config.confirm == "m_of_n":
            return cls(initiator=MofNInitiator(), deleter=MissDeleter())
        return cls()


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What one scan changed: the confirmed tracks now, and the tracks deleted by it."""

    tracks: TrackTable
    confirmed_now: IntArray  # ids first confirmed in this scan
    deleted: IntArray  # ids of confirmed tracks deleted in this scan
    rejects: Rejects = field(default_factory=Rejects)


def _rules(cfg: TrackerConfig, modes: int) -> FloatArray:
    """A tracker's parameters as one row, in ``Rules`` field order; ``_stack_rules`` turns
    the rows of a batch into the arrays the components index by owner."""
    alpha, beta = cfg.false_track_prob, cfg.missed_track_prob
    log_miss = math.log1p(-cfg.pd)
    return np.array(
        [
            cfg.gate_for(modes),
            math.log(cfg.pd),
            log_miss,
            math.log(cfg.clutter_density),
            math.log((1 - beta) / alpha),
            math.log(beta / (1 - alpha)),
            -cfg.max_misses * log_miss - 1e-9,
            cfg.confirm_m,
            cfg.confirm_n,
            cfg.max_misses,
            cfg.max_position_var,
            cfg.init_speed_sigma,
        ]
    )


_INT_RULES = frozenset({"confirm_m", "confirm_n", "max_misses"})


def _stack_rules(rows: list[FloatArray]) -> Rules:
    table = np.stack(rows, axis=1)  # one row per field: each field a contiguous array
    return Rules(
        *(
            table[i].astype(np.int64) if name in _INT_RULES else table[i]
            for i, name in enumerate(Rules.__slots__)
        )
    )


class Tracker:
    """Turns scans of detections into confirmed tracks. Feed scans in time order.

    ``model`` overrides ``config.motion``: one ``MotionModel`` is a Kalman filter, a
    ``MotionMix`` an IMM. ``components`` swaps the gater, associator, updater, initiator or
    deleter (see ``kizuna.fusion.base``).
    """

    def __init__(
        self,
        model: MotionModel | MotionMix | None = None,
        config: TrackerConfig | None = None,
        *,
        components: Components | None = None,
    ) -> None:
        self.config = config or TrackerConfig()
        if model is None:
            mix = self.config.motion_mix()
        elif isinstance(model, MotionMix):
            mix = model
        else:
            mix = MotionMix.single(model)
        self.predictor = ImmPredictor(mix)
        self.components = components or Components.of(self.config)
        self.dim = mix.dim
        self._time: float | None = None
        self._next_id = 1
        self._tracks = Tracks.empty(self.predictor.modes, self.dim)
        self._rules = _rules(self.config, self.predictor.modes)
        self.rejects = Rejects()

    @property
    def time(self) -> float | None:
        return self._time

    def __len__(self) -> int:
        return len(self._tracks)

    def tracks(self, *, confirmed_only: bool = True) -> TrackTable:
        t = self._time if self._time is not None else 0.0
        tr = self._tracks.take(self._tracks.confirmed) if confirmed_only else self._tracks
        x, p = tr.estimate()
        return TrackTable(t, tr.ids, x, p)

    def step(self, time: float, detections: Detections) -> ScanResult:
        """Predict to ``time``, associate and update, start and delete tracks."""
        return step([self], time, [detections])[0]

    def _key(self) -> tuple[object, ...]:
        return (self.predictor, self.components, self.dim)


def step(trackers: Sequence[Tracker], time: float, scans: Sequence[Detections]) -> list[ScanResult]:
    """``[t.step(time, d) for t, d in zip(trackers, scans)]`` in one set of array operations
    for trackers with equal components. A scan of the wrong dimension refuses the whole
    call before any tracker steps."""
    if len(trackers) != len(scans):
        raise ValidationError("need one scan per tracker", field="scans")
    for t, d in zip(trackers, scans, strict=True):
        if len(d) and d.z.shape[1] != t.dim:
            raise ValidationError(f"positions must have {t.dim} columns", field="z")
    if len({id(t) for t in trackers}) != len(trackers):  # a tracker twice: one scan at a time
        return [step([t], time, [d])[0] for t, d in zip(trackers, scans, strict=True)]
    results: list[ScanResult | None] = [None] * len(trackers)
    groups: dict[tuple[object, ...], list[int]] = {}
    valid: dict[int, tuple[Detections, Rejects]] = {}
    for i, (t, d) in enumerate(zip(trackers, scans, strict=True)):
        rejects = Rejects()
        if not math.isfinite(time):
            rejects.add("nonfinite_time", max(len(d), 1), "time: NaN or inf")
        elif t.time is not None and time < t.time:
            rejects.add("out_of_order_scan", max(len(d), 1), "time: before last scan")
        else:
            valid[i] = (d.validated(rejects, t.config.sensors), rejects)
            groups.setdefault(t._key(), []).append(i)
            continue
        t.rejects.merge(rejects)
        empty = np.zeros(0, dtype=np.int64)
        results[i] = ScanResult(t.tracks(), empty, empty.copy(), rejects)
    for members in groups.values():
        out = _step_group(
            [trackers[i] for i in members],
            time,
            [valid[i][0] for i in members],
            [valid[i][1] for i in members],
        )
        for i, r in zip(members, out, strict=True):
            results[i] = r
    return [r for r in results if r is not None]


def _step_group(
    group: list[Tracker], time: float, scans: list[Detections], rejects: list[Rejects]
) -> list[ScanResult]:
    """One scan of trackers with equal components: predict, then per sensor pass gate,
    associate, update and initiate, then book, confirm and delete; each tracker then
    takes its own rows back."""
    lead = group[0]
    comp, predictor = lead.components, lead.predictor
    k = len(group)
    rules = _stack_rules([t._rules for t in group])
    tracks = Tracks.concat([t._tracks for t in group])  # each tracker keeps its rows as owner 0
    sizes = np.array([len(t._tracks) for t in group], dtype=np.int64)
    tracks = _with_owner(tracks, np.repeat(np.arange(k, dtype=np.int64), sizes))
    dt = np.array([0.0 if t.time is None else time - t.time for t in group])
    tracks = predictor.predict(tracks, dt[tracks.owner])
    for t in group:
        t._time = time
    next_id = np.array([t._next_id for t in group], dtype=np.int64)
    batch = _Batch(comp, predictor, rules, group, rejects)
    was = tracks.confirmed.copy()
    hit = np.zeros(len(tracks), dtype=bool)
    gain = np.zeros(len(tracks))
    for scan in _passes(
        scans, [t.config.sensors is not None and len(t.config.sensors) == 1 for t in group]
    ):
        tracks, hit, gain, next_id = _pass(batch, (tracks, hit, gain), scan, next_id)
        was = np.concatenate([was, np.zeros(len(tracks) - was.size, dtype=bool)])
    tracks = book(tracks, hit, gain, rules)
    confirmed = comp.initiator.confirm(tracks, rules)
    tracks = _with(tracks, confirmed)
    x, p = tracks.estimate()
    d = lead.dim
    var = np.trace(p[:, :d, :d], axis1=1, axis2=2)
    drop = comp.deleter.delete(tracks, var, rules)
    keep = ~drop
    gone = drop & was
    fresh = confirmed & ~was & keep
    # Each tracker's rows, in order: stable by owner keeps old rows before newborns.
    order = np.argsort(tracks.owner[keep], kind="stable")
    kept = tracks.take(np.flatnonzero(keep)[order])
    kx, kp = x[keep][order], p[keep][order]
    counts = np.bincount(kept.owner, minlength=k)
    zeros = np.zeros(int(counts.max()) if k else 0, dtype=np.int64)
    cuts = np.concatenate([[0], np.cumsum(counts)])
    newly = _by_owner(tracks.ids, tracks.owner, fresh, k)
    deleted = _by_owner(tracks.ids, tracks.owner, gone, k)
    out = []
    for j, t in enumerate(group):
        a, b = int(cuts[j]), int(cuts[j + 1])
        mine = kept.take(slice(a, b))
        t._tracks = _with_owner(mine, zeros[: b - a])
        t._next_id = int(next_id[j])
        shown = mine.confirmed
        table = TrackTable(time, mine.ids[shown], kx[a:b][shown], kp[a:b][shown])
        t.rejects.merge(rejects[j])
        out.append(ScanResult(table, np.sort(newly[j]), deleted[j], rejects[j]))
    return out


def _by_owner(ids: IntArray, owner: IntArray, mask: BoolArray, k: int) -> list[IntArray]:
    """The ids of the masked rows, one array per tracker, each in row order."""
    sel = np.flatnonzero(mask)
    order = np.argsort(owner[sel], kind="stable")
    cuts = np.cumsum(np.bincount(owner[sel], minlength=k))[:-1]
    return np.split(ids[sel][order], cuts)


def _passes(scans: list[Detections], single: list[bool]) -> list[tuple[IntArray, Detections]]:
    """The batch's detections in passes, one sensor of each tracker per pass (a tracker's
    scan from several sensors is taken sensor by sensor): (owner, detections) each."""
    per: list[list[Detections]] = []
    for d, one in zip(scans, single, strict=True):
        # A tracker that knows one sensor has only its rows left after validation.
        if one or not len(d) or bool(np.all(d.sensor == d.sensor[0])):
            per.append([d])
        else:
            per.append([d.select(d.sensor == name) for name in np.unique(d.sensor)])
    out = []
    for k in range(max(len(p) for p in per)):
        parts = [(j, p[k]) for j, p in enumerate(per) if k < len(p)]
        owner = np.concatenate([np.full(len(d), j, dtype=np.int64) for j, d in parts])
        z = np.concatenate([d.z for _, d in parts])
        sigma = np.concatenate([d.sigma for _, d in parts])
        out.append((owner, Detections(z, sigma, np.concatenate([d.sensor for _, d in parts]))))
    return out


@dataclass(frozen=True, slots=True)
class _Batch:
    """What every pass of a group's step shares."""

    comp: Components
    predictor: ImmPredictor
    rules: Rules
    group: list[Tracker]
    rejects: list[Rejects]


def _pass(
    b: _Batch,
    state: tuple[Tracks, BoolArray, FloatArray],
    batch: tuple[IntArray, Detections],
    next_id: IntArray,
) -> tuple[Tracks, BoolArray, FloatArray, IntArray]:
    """One sensor's detections of each tracker: confirmed tracks choose first, then
    tentative ones among the detections left; the rest start tracks."""
    comp, predictor, rules = b.comp, b.predictor, b.rules
    tracks, hit, gain = state
    owner, det = batch
    scan = Scan(owner, det.z, det.sigma**2)
    n, m = len(tracks), len(scan)
    free = np.ones(m, dtype=bool)
    if n and m:
        pairs = comp.gater.gate(tracks, scan, rules)
        first = tracks.confirmed[pairs.rows]
        ti, dk = comp.associator.associate(n, m, pairs.take(first), rules, tracks.owner)
        free[dk] = False
        second = ~first & free[pairs.cols]
        t2, d2 = comp.associator.associate(n, m, pairs.take(second), rules, tracks.owner)
        free[d2] = False
        ti, dk = np.concatenate([ti, t2]), np.concatenate([dk, d2])
        if ti.size:
            tracks = comp.updater.update(tracks, ti, scan, dk)
            # The score gains the matched pair's likelihood against clutter.
            key = pairs.rows * m + pairs.cols
            at = np.argsort(key, kind="stable")
            where = at[np.searchsorted(key[at], ti * m + dk)]
            o = owner[dk]
            gain = gain.copy()
            gain[ti] += rules.log_pd[o] + pairs.loglik[where] - rules.log_clutter[o]
            hit = hit.copy()
            hit[ti] = True
    births = scan.take(np.flatnonzero(free))
    births = _room(births, tracks, b)
    if len(births):
        born = comp.initiator.initiate(births, rules, predictor, next_id)
        next_id = next_id + np.bincount(births.owner, minlength=next_id.size)
        tracks = Tracks.concat([tracks, born])
        hit = np.concatenate([hit, np.ones(len(born), dtype=bool)])
        gain = np.concatenate([gain, np.zeros(len(born))])
    return tracks, hit, gain, next_id


def _room(births: Scan, tracks: Tracks, b: _Batch) -> Scan:
    """The births each tracker has room for under its ``max_tracks``; the rest are counted."""
    group, rejects = b.group, b.rejects
    k = len(group)
    room = np.array([t.config.max_tracks for t in group]) - np.bincount(tracks.owner, minlength=k)
    want = np.bincount(births.owner, minlength=k)
    if np.all(want <= room):
        return births
    order = np.argsort(births.owner, kind="stable")
    starts = np.concatenate([[0], np.cumsum(want)[:-1]])
    rank = np.empty(len(births), dtype=np.int64)
    rank[order] = np.arange(len(births)) - np.repeat(starts, want)
    ok = rank < np.maximum(room, 0)[births.owner]
    for j in np.flatnonzero(want > room).tolist():
        rejects[j].add("births_dropped", int(want[j] - max(room[j], 0)), "max_tracks reached")
    return births.take(np.flatnonzero(ok))


def _with_owner(tracks: Tracks, owner: IntArray) -> Tracks:
    values = {k: getattr(tracks, k) for k in Tracks.__slots__}
    values["owner"] = owner
    return Tracks(**values)


def _with(tracks: Tracks, confirmed: BoolArray) -> Tracks:
    values = {k: getattr(tracks, k) for k in Tracks.__slots__}
    values["confirmed"] = confirmed
    return Tracks(**values)
