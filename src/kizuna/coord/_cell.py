"""The bilateral coordination cell: a small discrete-event engine over the targeting cycle.

The cell never reads a clock. A driver — a SimPy process or a plain loop — tells it what was
nominated and when, and calls ``step(until)``; ``next_due()`` says when the cell next needs
to act. All randomness comes from the Generator passed in, so a seed fixes the history.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kizuna.clock import Clock
from kizuna.coord._alloc import Allocator, StockSource, assign_optimal
from kizuna.coord._arch import Architecture, Router
from kizuna.coord._board import Bools, Fleet, Floats
from kizuna.coord._cycle import TargetCycle
from kizuna.coord._gates import Gate
from kizuna.coord._intake import admit, default_gates
from kizuna.coord._model import Event, Nomination, Stage, Target
from kizuna.coord._priority import PriorityModel
from kizuna.errors import ConfigError, KizunaError, ValidationError
from kizuna.labels import PolicyTable, default_table, parse_banner, releasable_to

__all__ = ["CoordinationCell", "TaskOrder"]


@dataclass(frozen=True, slots=True)
class TaskOrder:
    """A tasking as the shooter receives it: through its own nation's chain only."""

    target: str
    shooter: str
    nation: str
    path: tuple[str, ...]
    at: float


class CoordinationCell:
    def __init__(
        self,
        arch: Architecture,
        *,
        rng: np.random.Generator,
        stock: StockSource,
        gates: Sequence[Gate] | None = None,
        priority: PriorityModel | None = None,
        allocator: Allocator = assign_optimal,
        table: PolicyTable | None = None,
    ) -> None:
        self.arch = arch
        self._rng = rng
        self._router = Router(arch, rng)
        self._stock = stock
        self._gates = tuple(gates) if gates is not None else default_gates(arch)
        for g in self._gates:
            if g.name not in arch.gate_latency:
                raise ConfigError(f"gate {g.name!r} has no latency in {arch.name}", field="gates")
        self._priority = priority or PriorityModel()
        self._allocate = allocator
        self._table = table or default_table()
        self._fleet = Fleet(arch)
        self._bda_sensors = [n.id for n in arch.sensors() if n.bda]
        self.records: dict[str, TargetCycle] = {}
        self.orders: list[TaskOrder] = []
        self.refused: list[tuple[Nomination, ValidationError]] = []
        self._order: dict[str, TaskOrder] = {}  # the standing order per target
        self._events: list[Event] = []
        self._heap: list[tuple[float, int, str, str]] = []
        self._seq = 0
        self._now = 0.0
        self._board_at: float | None = None
        self._queue: dict[str, None] = {}  # an ordered set of targets awaiting allocation
        self._static: dict[str, tuple[Bools, Floats]] = {}
        self._busy = np.zeros(len(self._fleet.ids), dtype=np.int64)
        self._committed = np.zeros(len(self._fleet.ids), dtype=np.int64)

    # ---- the driver's API -------------------------------------------------------------
    @property
    def now(self) -> float:
        return self._now

    @property
    def history(self) -> list[Event]:
        """Every event so far, in the order it happened."""
        return self._events

    def next_due(self) -> float | None:
        """When the cell next needs ``step``; None when it is idle until a nomination."""
        return self._heap[0][0] if self._heap else None

    def nominate(self, nomination: Nomination) -> Event:
        """Admit a nomination at ``nomination.at`` (not before the cell's time).

        Bad input raises ValidationError naming the field; the refused nomination is kept in
        ``refused`` so a driver can count it.
        """
        try:
            target, kind = admit(
                nomination, self.arch, self._table, self._rng, now=self._now, known=self.records
            )
        except ValidationError as exc:
            self.refused.append((nomination, exc))
            raise
        rec = TargetCycle(target)
        self.records[target.id] = rec
        sensor = nomination.sensor
        ev = self._move(
            rec,
            Stage.NOMINATED,
            nomination.at,
            sensor,
            f"nominated by {sensor} ({kind.id}, {target.label})",
        )
        w = self._router.draw()
        t = nomination.at + self._router.latency(sensor, self._targeting(target), w)
        for gate in self._gates:
            decision = gate.check(target, kind)
            dt = self.arch.gate_latency[gate.name].sample(self._rng)
            t += dt
            rec.gates.append((gate.name, decision.permit, decision.reasons, dt))
            if not decision.permit:
                self._at(t, "reject", target.id)
                return ev
        self._at(t, "vetted", target.id)
        return ev

    def step(self, until: float) -> list[Event]:
        """Do everything due at or before ``until``; return the events it produced."""
        start = len(self._events)
        while self._heap and self._heap[0][0] <= until:
            t, _, action, tid = heapq.heappop(self._heap)
            self._now = t
            getattr(self, f"_on_{action}")(t, tid)
        if math.isfinite(until):
            self._now = max(self._now, until)
        return self._events[start:]

    def step_to(self, clock: Clock) -> list[Event]:
        """``step`` to a Clock's reading: its ``monotonic()`` seconds are the run's time."""
        return self.step(clock.monotonic())

    def run(self, nominations: Iterable[Nomination] = ()) -> list[Event]:
        """A plain loop: nominate in time order, stepping between, until the cell is idle."""
        for n in sorted(nominations, key=lambda n: (n.at, n.target_id)):
            self.step(n.at)
            self.nominate(n)
        return self.step(math.inf)

    # ---- the cycle's actions ----------------------------------------------------------
    def _on_reject(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        name, _, reasons, _ = rec.gates[-1]
        self._move(
            rec,
            Stage.REJECTED,
            t,
            self._targeting(rec.target),
            f"gate {name}: {'; '.join(reasons)}",
        )

    def _on_vetted(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        where = self._targeting(rec.target)
        self._move(rec, Stage.VETTED, t, where, "passed " + ", ".join(g[0] for g in rec.gates))
        w = self._router.draw()
        self._at(t + self._router.latency(where, self.arch.allocation, w), "arrive", tid)

    def _on_arrive(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        if self._expired(rec, t):
            return
        if tid not in self._static:
            rel = releasable_to(parse_banner(rec.target.label, self._table), self._table)
            self._static[tid] = self._fleet.static(rec.target, rel)
        reason = "re-attack" if rec.attempt else "queued for the allocation board"
        self._move(rec, Stage.PRIORITISED, t, self.arch.allocation, reason)
        self._queue[tid] = None
        self._ensure_board(t)
        if rec.target.window_end is not None:
            self._at(rec.target.window_end, "window", tid)

    def _on_window(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        if tid in self._queue and rec.stage is Stage.PRIORITISED:
            del self._queue[tid]
            self._expired(rec, t)

    def _on_board(self, t: float, _: str) -> None:
        self._board_at = None
        for tid in list(self._queue):
            if self._expired(self.records[tid], t):
                del self._queue[tid]
        if not self._queue:
            return
        tids = list(self._queue)
        recs = [self.records[x] for x in tids]
        value = np.array([self.arch.target_types[r.target.type].value for r in recs])
        start = np.array([r.target.nominated_at for r in recs])
        end = np.array(
            [math.nan if r.target.window_end is None else r.target.window_end for r in recs]
        )
        prio = self._priority.priorities(value, start, end, t)
        problem = self._fleet.problem(
            t,
            masks=[self._static[x][0] for x in tids],
            tofs=[self._static[x][1] for x in tids],
            priority=prio,
            window_end=end,
            excluded=[r.excluded for r in recs],
            free=self._free(),
        )
        if np.isnan(problem.scores).all():
            return  # nothing feasible: a later release or arrival calls the board again
        for ti, si in self._allocate(problem):
            self._allocated(t, recs[ti], si, float(prio[ti]), float(problem.scores[ti, si]))

    def _allocated(self, t: float, rec: TargetCycle, si: int, prio: float, score: float) -> None:
        tid, sid = rec.target.id, self._fleet.ids[si]
        nation = self._fleet.nation[si]
        del self._queue[tid]
        rec.attempt += 1
        rec.shooter, rec.priority = sid, prio
        self._busy[si] += 1
        self._committed[si] += self._fleet.salvo[si]
        self._move(
            rec,
            Stage.ALLOCATED,
            t,
            self.arch.allocation,
            f"to {sid} ({nation}); priority {prio:.2f}, score {score:.3f}",
        )
        approval = self.arch.approvals[nation]
        w = self._router.draw()
        delay = self._router.latency(self.arch.allocation, approval.authority, w)
        self._at(t + delay + approval.latency.sample(self._rng), "approval", tid)

    def _on_approval(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        si = self._fleet.index[rec.shooter or ""]
        nation = self._fleet.nation[si]
        approval = self.arch.approvals[nation]
        if self._rng.random() >= approval.p_approve:
            self._release(si, t, fired=False)
            rec.excluded.add(nation)
            rec.shooter = None
            self._move(
                rec,
                Stage.PRIORITISED,
                t,
                approval.authority,
                f"{nation} national approval denied; offered to other nations",
            )
            self._queue[tid] = None
            self._ensure_board(t)
            return
        self._move(rec, Stage.APPROVED, t, approval.authority, f"{nation} national approval")
        w = self._router.draw()
        hub = self.arch.tasking[nation]
        up, p1 = self._router.tasking(nation, approval.authority, hub, w)
        down, p2 = self._router.tasking(nation, hub, rec.shooter or "", w)
        order = TaskOrder(tid, rec.shooter or "", nation, (*p1, *p2[1:]), t + up + down)
        self.orders.append(order)
        self._order[tid] = order
        self._at(t + up + down, "tasked", tid)

    def _on_tasked(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        si = self._fleet.index[rec.shooter or ""]
        spec = self._fleet.specs[si]
        self._move(
            rec,
            Stage.TASKED,
            t,
            self.arch.tasking[spec.nation],
            "tasked via " + " > ".join(self._order[tid].path),
        )
        tof = float(self._static[tid][1][si])
        end = rec.target.window_end
        if end is not None and t + tof > end:
            self._release(si, t, fired=False)
            self._move(
                rec,
                Stage.EXPIRED,
                t,
                self.arch.tasking[spec.nation],
                "strike aborted: time of effect after the dwell window closes",
            )
            return
        self._stock.expend(spec.id, spec.munition, spec.salvo, t)
        self._committed[si] -= spec.salvo
        self._at(t + tof, "executed", tid)

    def _on_executed(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        si = self._fleet.index[rec.shooter or ""]
        spec = self._fleet.specs[si]
        self._move(rec, Stage.EXECUTED, t, spec.id, f"{spec.salvo} x {spec.munition}")
        self._release(si, t, fired=True)
        rec.destroyed = bool(self._rng.random() < spec.pk)
        w = self._router.draw()
        where = self.arch.assessment[rec.target.nation]
        report = min(self._router.latency(s, where, w, data_only=True) for s in self._bda_sensors)
        self._at(t + self.arch.bda.sample(self._rng) + report, "assessed", tid)

    def _on_assessed(self, t: float, tid: str) -> None:
        rec = self.records[tid]
        where = self.arch.assessment[rec.target.nation]
        if rec.destroyed:
            self._move(rec, Stage.ASSESSED, t, where, "BDA: destroyed")
            self._move(rec, Stage.DONE, t, where, "destroyed")
            return
        self._move(rec, Stage.ASSESSED, t, where, "BDA: not destroyed")
        if rec.attempt >= self.arch.max_attacks:
            self._move(
                rec,
                Stage.DONE,
                t,
                where,
                f"re-attack limit {self.arch.max_attacks} reached; target survives",
            )
        elif not self._expired(rec, t):
            w = self._router.draw()
            self._at(t + self._router.latency(where, self.arch.allocation, w), "arrive", tid)

    # ---- helpers ----------------------------------------------------------------------
    def _targeting(self, target: Target) -> str:
        return self.arch.targeting[target.nation]

    def _at(self, t: float, action: str, tid: str) -> None:
        if not math.isfinite(t):
            raise KizunaError(f"target {tid}: no route for {action} in {self.arch.name}")
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, action, tid))

    def _move(self, rec: TargetCycle, to: Stage, t: float, actor: str, reason: str) -> Event:
        ev = rec.move(to, t, actor, self.arch.nodes[actor].nation, reason)
        self._events.append(ev)
        return ev

    def _expired(self, rec: TargetCycle, t: float) -> bool:
        end = rec.target.window_end
        if end is None or t < end:
            return False
        if rec.stage is Stage.PRIORITISED:
            actor = self.arch.allocation
        elif rec.stage is Stage.ASSESSED:
            actor = self.arch.assessment[rec.target.nation]
        else:
            actor = self._targeting(rec.target)
        self._move(rec, Stage.EXPIRED, t, actor, "dwell window closed before engagement")
        return True

    def _ensure_board(self, t: float) -> None:
        if self._board_at is None:
            step = self.arch.board_interval
            self._board_at = math.ceil(t / step) * step
            self._at(self._board_at, "board", "")

    def _free(self) -> npt.NDArray[np.int64]:
        f = self._fleet
        rounds: npt.NDArray[np.int64] = (
            np.array([self._stock.on_hand(s.id, s.munition) for s in f.specs], dtype=np.int64)
            - self._committed
        )
        free: npt.NDArray[np.int64] = np.maximum(
            0, np.minimum(f.capacity - self._busy, rounds // f.salvo)
        )
        return free

    def _release(self, si: int, t: float, *, fired: bool) -> None:
        self._busy[si] -= 1
        if not fired:
            self._committed[si] -= self._fleet.salvo[si]
        if self._queue:
            self._ensure_board(t)
