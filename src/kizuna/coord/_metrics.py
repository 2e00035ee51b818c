"""Run metrics, computed from the event history alone (so a stored log gives the same)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType

import numpy as np

from kizuna.coord._arch import Architecture
from kizuna.coord._cycle import TargetCycle
from kizuna.coord._model import Event, Stage

__all__ = ["CriticalPath", "Percentiles", "RunMetrics", "run_metrics"]


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Seconds; NaN when there were no samples."""

    n: int
    p50: float
    p90: float

    @classmethod
    def of(cls, xs: Iterable[float]) -> Percentiles:
        arr = np.fromiter(xs, dtype=float)
        if arr.size == 0:
            return cls(0, float("nan"), float("nan"))
        return cls(int(arr.size), float(np.percentile(arr, 50)), float(np.percentile(arr, 90)))

    def to_json(self) -> dict[str, object]:
        nan = self.n == 0
        return {
            "n": self.n,
            "p50_s": None if nan else round(self.p50, 3),
            "p90_s": None if nan else round(self.p90, 3),
        }


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """A nation's approvals in the engagements it approved."""

    approvals: int  # engagements this nation approved that reached execution
    longest_step: int  # of those, how often approval was the longest step of the kill chain
    share_of_kill_chain: float  # approval time / kill-chain time, summed over those


@dataclass(frozen=True, slots=True)
class RunMetrics:
    architecture: str
    targets: int
    outcome: Mapping[str, int]
    destroyed: int
    kill_chain: Percentiles
    kill_chain_by_target: Mapping[str, float]  # nomination to first execution, seconds
    steps: Mapping[str, Percentiles]
    gates: Mapping[str, Percentiles]
    approval: Mapping[str, Percentiles]
    tst_vetted: int
    tst_in_window: int
    reattack_rate: float
    bda_cycle: Percentiles
    bda_by_nation: Mapping[str, Percentiles]  # by the nominating nation, who judges the BDA
    utilisation: Mapping[str, float]
    critical_path: Mapping[str, CriticalPath]
    horizon_s: float

    @property
    def tst_share(self) -> float:
        return self.tst_in_window / self.tst_vetted if self.tst_vetted else float("nan")

    @property
    def mean_utilisation(self) -> float:
        return float(np.mean(list(self.utilisation.values()))) if self.utilisation else 0.0

    def to_json(self, *, per_target: bool = False) -> dict[str, object]:
        """Summary figures; ``per_target`` adds each engaged target's kill-chain latency."""
        out = self._summary()
        if per_target:
            out["kill_chain_by_target"] = {k: round(v, 3) for k, v in
                                           self.kill_chain_by_target.items()}  # fmt: skip
        return out

    def _summary(self) -> dict[str, object]:
        return {
            "architecture": self.architecture,
            "targets": self.targets,
            "outcome": dict(self.outcome),
            "destroyed": self.destroyed,
            "kill_chain": self.kill_chain.to_json(),
            "steps": {k: v.to_json() for k, v in self.steps.items()},
            "gates": {k: v.to_json() for k, v in self.gates.items()},
            "approval": {k: v.to_json() for k, v in self.approval.items()},
            "tst_vetted": self.tst_vetted,
            "tst_in_window": self.tst_in_window,
            "tst_share": None if not self.tst_vetted else round(self.tst_share, 4),
            "reattack_rate": round(self.reattack_rate, 4),
            "bda_cycle": self.bda_cycle.to_json(),
            "bda_by_nation": {k: v.to_json() for k, v in self.bda_by_nation.items()},
            "utilisation": {k: round(v, 4) for k, v in self.utilisation.items()},
            "mean_utilisation": round(self.mean_utilisation, 4),
            "critical_path": {
                k: {
                    "approvals": v.approvals,
                    "longest_step": v.longest_step,
                    "share_of_kill_chain": round(v.share_of_kill_chain, 4),
                }
                for k, v in self.critical_path.items()
            },
            "horizon_s": self.horizon_s,
        }


def run_metrics(
    arch: Architecture, records: Mapping[str, TargetCycle], horizon_s: float | None = None
) -> RunMetrics:
    events = [e for r in records.values() for e in r.history]
    if horizon_s is None:
        horizon_s = max((e.t for e in events), default=0.0) - min(
            (e.t for e in events), default=0.0
        )
    steps: dict[str, list[float]] = defaultdict(list)
    approval: dict[str, list[float]] = defaultdict(list)
    busy: dict[str, float] = defaultdict(float)
    kill: dict[str, float] = {}
    bda: list[float] = []
    bda_nation: dict[str, list[float]] = defaultdict(list)
    critical: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    tst_vetted = tst_in = engaged = reattacked = 0
    for rec in records.values():
        h = rec.history
        for a, b in pairwise(h):
            steps[f"{a.to}->{b.to}"].append(b.t - a.t)
            if a.to is Stage.ALLOCATED and b.to is Stage.APPROVED:
                approval[b.nation].append(b.t - a.t)
            if a.to is Stage.EXECUTED and b.to is Stage.ASSESSED:
                bda.append(b.t - a.t)
                bda_nation[rec.target.nation].append(b.t - a.t)
            if a.to is Stage.ALLOCATED and a.shooter is not None:
                end = next(
                    (
                        e.t
                        for e in h
                        if e.t >= a.t
                        and e.attempt == a.attempt
                        and e.to in (Stage.EXECUTED, Stage.EXPIRED, Stage.PRIORITISED)
                        and e is not a
                    ),
                    a.t,
                )
                busy[a.shooter] += end - a.t
        executed = [e for e in h if e.to is Stage.EXECUTED]
        if executed:
            engaged += 1
            reattacked += len(executed) > 1
            kill[rec.target.id] = executed[0].t - h[0].t
            _critical(h, executed[0], critical)
        if rec.target.window_end is not None and any(e.to is Stage.VETTED for e in h):
            tst_vetted += 1
            tst_in += any(e.t <= rec.target.window_end for e in executed)
    util = {
        sid: busy[sid] / (spec.capacity * horizon_s) if horizon_s > 0 else 0.0
        for sid, spec in arch.shooters.items()
    }
    return RunMetrics(
        architecture=arch.name,
        targets=len(records),
        outcome=MappingProxyType(
            dict(sorted(Counter(str(r.stage) for r in records.values()).items()))
        ),
        destroyed=sum(r.destroyed and r.stage is Stage.DONE for r in records.values()),
        kill_chain=Percentiles.of(kill.values()),
        kill_chain_by_target=MappingProxyType(kill),
        steps=MappingProxyType({k: Percentiles.of(v) for k, v in sorted(steps.items())}),
        gates=MappingProxyType(_gates(records)),
        approval=MappingProxyType({k: Percentiles.of(v) for k, v in sorted(approval.items())}),
        tst_vetted=tst_vetted,
        tst_in_window=tst_in,
        reattack_rate=reattacked / engaged if engaged else 0.0,
        bda_cycle=Percentiles.of(bda),
        bda_by_nation=MappingProxyType(
            {k: Percentiles.of(v) for k, v in sorted(bda_nation.items())}
        ),
        utilisation=MappingProxyType(util),
        critical_path=MappingProxyType(
            {
                k: CriticalPath(int(v[0]), int(v[1]), v[2] / v[3] if v[3] else 0.0)
                for k, v in sorted(critical.items())
            }
        ),
        horizon_s=horizon_s,
    )


def _critical(h: list[Event], first: Event, acc: dict[str, list[float]]) -> None:
    """Attribute the first engagement's kill chain: was approval its longest step?"""
    chain = h[: h.index(first) + 1]
    durations = [(b.t - a.t, a, b) for a, b in pairwise(chain)]
    total = first.t - h[0].t
    appr = [
        (d, b)
        for d, a, b in durations
        if a.to is Stage.ALLOCATED and b.to is Stage.APPROVED and b.attempt == first.attempt
    ]
    if not appr:
        return
    d, b = appr[-1]
    slot = acc[b.nation]
    slot[0] += 1
    slot[1] += d >= max(x[0] for x in durations)
    slot[2] += d
    slot[3] += total


def _gates(records: Mapping[str, TargetCycle]) -> dict[str, Percentiles]:
    out: dict[str, list[float]] = defaultdict(list)
    for rec in records.values():
        for name, _, _, dt in rec.gates:
            out[name].append(dt)
    return {k: Percentiles.of(v) for k, v in out.items()}
