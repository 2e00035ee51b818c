"""Track-to-track fusion of two nations' pictures, with stable identities and labels.

``TrackFuser`` associates two track sets (GNN on the Mahalanobis distance between positions)
and fuses each pair by covariance intersection, since the nations' errors are correlated in
ways neither knows. A fused track's label is the high-water mark of its inputs' labels.

``ReleaseAwareFuser`` builds each viewer's picture only from the inputs that viewer may see,
with a separate fuser (and so separate identity memory) per viewer: nothing a viewer may not
see can change what it is shown, not even which id a track gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from kizuna.errors import ValidationError
from kizuna.fusion._assoc import candidate_pairs, gnn_assign, mahalanobis_sq
from kizuna.fusion._ci import covariance_intersection
from kizuna.fusion._kalman import inv_sym
from kizuna.fusion._types import IntArray, Rejects, TrackTable
from kizuna.labels import Decider, Label, Viewer, high_water_mark

__all__ = ["FusedPicture", "NationalTracks", "ReleaseAwareFuser", "TrackFuser"]

Source = tuple[str, int]  # (nation, that nation's track id)


@dataclass(frozen=True, slots=True)
class NationalTracks:
    """One nation's tracks at one time, each with its own label."""

    nation: str
    tracks: TrackTable
    labels: tuple[Label, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.tracks):
            raise ValidationError("need one label per track", field="labels")

    def __len__(self) -> int:
        return len(self.tracks)

    def select(self, keep: Sequence[int] | IntArray) -> NationalTracks:
        idx = np.asarray(keep, dtype=np.int64)
        return NationalTracks(
            self.nation, self.tracks.select(idx), tuple(self.labels[i] for i in idx.tolist())
        )


@dataclass(frozen=True, slots=True)
class FusedPicture:
    """Fused tracks with, for each, its label and the input tracks it was built from."""

    tracks: TrackTable
    labels: tuple[Label, ...]
    sources: tuple[tuple[Source, ...], ...]
    rejects: Rejects


def _usable(nt: NationalTracks, rejects: Rejects) -> NationalTracks:
    """Drop tracks with a non-finite state or a covariance that is not positive definite."""
    t = nt.tracks
    finite = np.isfinite(t.x).all(axis=1) & np.isfinite(t.p).all(axis=(1, 2))
    ok: NDArray[np.bool_] = np.array(finite, dtype=bool)
    if finite.any():
        sym = 0.5 * (t.p[finite] + t.p[finite].transpose(0, 2, 1))
        ok[finite] = np.linalg.eigvalsh(sym)[:, 0] > 0
    rejects.add("nonfinite_track", int((~finite).sum()), f"{nt.nation}: NaN or inf in a track")
    rejects.add(
        "singular_covariance", int((finite & ~ok).sum()), f"{nt.nation}: p not positive definite"
    )
    return nt if ok.all() else nt.select(np.flatnonzero(ok))


class TrackFuser:
    """Fuses two nations' track sets scan after scan, keeping fused ids stable."""

    def __init__(self, *, gate: float = 13.8, stickiness: float = 0.5) -> None:
        self.gate = gate
        self.stickiness = stickiness  # share of the gate a previous pairing gets as a bonus
        self._owner: dict[Source, int] = {}  # input track → fused id at the last scan
        self._next = 1
        self._hwm: dict[tuple[Label, Label], Label] = {}  # few distinct labels, many tracks

    def fuse(self, a: NationalTracks, b: NationalTracks) -> FusedPicture:
        """Fuse two track sets of the same time (the fuser does not predict between times)."""
        if len(a) and len(b) and abs(a.tracks.time - b.tracks.time) > 1e-6:
            raise ValidationError(
                f"{a.nation} tracks at {a.tracks.time}, {b.nation} at {b.tracks.time}: "
                "predict both to one time first",
                field="time",
            )
        rejects = Rejects()
        a, b = _usable(a, rejects), _usable(b, rejects)
        ia, ib = self._pairs(a, b)
        ta, tb = a.tracks, b.tracks
        x, p, _ = covariance_intersection(ta.x[ia], ta.p[ia], tb.x[ib], tb.p[ib])
        lone_a = np.setdiff1d(np.arange(len(ta)), ia)
        lone_b = np.setdiff1d(np.arange(len(tb)), ib)
        xs = np.concatenate([x, ta.x[lone_a], tb.x[lone_b]])
        ps = np.concatenate([p, ta.p[lone_a], tb.p[lone_b]])
        sources: list[tuple[Source, ...]] = []
        labels: list[Label] = []
        for i, j in zip(ia.tolist(), ib.tolist(), strict=True):
            sources.append(((a.nation, int(ta.ids[i])), (b.nation, int(tb.ids[j]))))
            labels.append(self._combine(a.labels[i], b.labels[j]))
        for nt, lone in ((a, lone_a), (b, lone_b)):
            for i in lone.tolist():
                sources.append(((nt.nation, int(nt.tracks.ids[i])),))
                labels.append(nt.labels[i])
        ids = self._identify(sources)
        time = max(ta.time, tb.time)
        table = TrackTable(time, ids, xs, ps)
        return FusedPicture(table, tuple(labels), tuple(sources), rejects)

    def _combine(self, la: Label, lb: Label) -> Label:
        key = (la, lb)
        hit = self._hwm.get(key)
        if hit is None:
            if len(self._hwm) > 4096:
                self._hwm.clear()
            hit = self._hwm[key] = high_water_mark(key)
        return hit

    def _pairs(self, a: NationalTracks, b: NationalTracks) -> tuple[IntArray, IntArray]:
        ta, tb = a.tracks, b.tracks
        if len(ta) == 0 or len(tb) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy()
        pa, pb = ta.position_covariances, tb.position_covariances
        spread = np.trace(pa, axis1=1, axis2=2) + float(np.trace(pb, axis1=1, axis2=2).max())
        rows, cols = candidate_pairs(ta.positions, np.sqrt(self.gate * spread), tb.positions)
        if rows.size == 0:
            return rows, cols
        nu = tb.positions[cols] - ta.positions[rows]
        cost = mahalanobis_sq(nu, inv_sym(pa[rows] + pb[cols]))
        fa = np.array([self._owner.get((a.nation, int(t)), -1) for t in ta.ids[rows]])
        fb = np.array([self._owner.get((b.nation, int(t)), -2) for t in tb.ids[cols]])
        # Pairs fused last scan get a bonus, so identities do not flicker between near ties.
        cost = np.where((fa == fb) & (cost < self.gate), cost * (1 - self.stickiness), cost)
        return gnn_assign(len(ta), len(tb), rows, cols, cost, miss_cost=self.gate)

    def _identify(self, sources: list[tuple[Source, ...]]) -> IntArray:
        """Each fused track keeps the oldest id among its inputs' previous fused ids."""
        used: set[int] = set()
        ids = np.empty(len(sources), dtype=np.int64)
        owner: dict[Source, int] = {}
        order = sorted(
            range(len(sources)),
            key=lambda k: min((self._owner.get(s, 1 << 62) for s in sources[k]), default=0),
        )
        for k in order:
            known = sorted(
                f for s in sources[k] if (f := self._owner.get(s)) is not None and f not in used
            )
            if known:
                fid = known[0]
            else:
                fid = self._next
                self._next += 1
            used.add(fid)
            ids[k] = fid
            for s in sources[k]:
                owner[s] = fid
        self._owner = owner
        return ids


class ReleaseAwareFuser:
    """Per-viewer fused pictures built only from the inputs each viewer may see."""

    def __init__(self, decider: Decider | None = None, *, gate: float = 13.8) -> None:
        self.decider = decider or Decider()
        self.gate = gate
        self._fusers: dict[Viewer, TrackFuser] = {}

    def visible(self, nt: NationalTracks, viewer: Viewer, at: datetime) -> NationalTracks:
        keep = [i for i, lb in enumerate(nt.labels) if self.decider.decide(lb, viewer, at).permit]
        return nt.select(keep)

    def picture(
        self, viewer: Viewer, at: datetime, a: NationalTracks, b: NationalTracks
    ) -> FusedPicture:
        va, vb = self.visible(a, viewer, at), self.visible(b, viewer, at)
        withheld = len(a) + len(b) - len(va) - len(vb)
        fuser = self._fusers.setdefault(viewer, TrackFuser(gate=self.gate))
        pic = fuser.fuse(va, vb)
        pic.rejects.add("withheld_not_releasable", withheld)
        # Fail closed: a fused label the viewer may not see (never expected) is dropped.
        ok = [self.decider.decide(lb, viewer, at).permit for lb in pic.labels]
        if all(ok):
            return pic
        idx = np.flatnonzero(ok)
        pic.rejects.add("fused_label_not_releasable", len(ok) - idx.size)
        return FusedPicture(
            pic.tracks.select(idx),
            tuple(pic.labels[i] for i in idx.tolist()),
            tuple(pic.sources[i] for i in idx.tolist()),
            pic.rejects,
        )
