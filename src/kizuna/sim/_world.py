"""One exercise run: SimPy processes drive RED, the sensors, national fusion, the pictures
and gateways, the coordination cell and the stockpile, all through their public APIs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import msgspec
import numpy as np
import simpy
from scipy.spatial import cKDTree

from kizuna.clock import Clock
from kizuna.coord import Architecture, CoordinationCell, Nomination, Stage
from kizuna.cop import Picture
from kizuna.cot import Event, Point
from kizuna.errors import KizunaError
from kizuna.fusion import Tracker, TrackerConfig
from kizuna.fusion import step as step_trackers
from kizuna.labels import Clearance, ClearanceStatus, Decider, Viewer, parse_banner
from kizuna.sim._clock import SimClock
from kizuna.sim._forces import Forces
from kizuna.sim._geo import Grid
from kizuna.sim._picture import Crossing, NationalPicture, TrackGroup, tracks_to_events
from kizuna.sim._scenario import Scenario
from kizuna.sim._sensors import SensorSpec, coverage, observe
from kizuna.sim._stock import NationalStock
from kizuna.store import Record
from kizuna.sustain import Stockpile, SustainModel

__all__ = ["PICTURE_NATIONS", "World"]

PICTURE_NATIONS = ("USA", "JPN")  # the two national nodes joined by gateways
_DUTY = {"USA": ("USA", "TOP SECRET"), "JPN": ("JPN", "KIMITSU")}
_HOUR = 3600.0
_DAY = 86_400.0


def _duty_officer(nation: str) -> Viewer:
    policy, level = _DUTY[nation]
    return Viewer(nation, Clearance(policy, level, ClearanceStatus.ACTIVE, date(2099, 12, 31)))


@dataclass(slots=True)
class _Counts:
    nominated: int = 0
    nominated_by: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    killed: int = 0


class World:
    """Everything one run needs, wired once; ``run`` plays it to the end."""

    def __init__(
        self,
        scenario: Scenario,
        arch: Architecture,
        crossing: Callable[[Clock], Crossing],
        model: SustainModel,
        seed: int,
    ) -> None:
        self.scenario, self.arch = scenario, arch
        self.env = simpy.Environment()
        self.clock = SimClock(self.env, scenario.epoch)
        self.crossing = crossing(self.clock)
        self.grid = Grid(*scenario.origin)
        # Truth and sensing draw from streams that do not depend on the architecture or
        # tier, so every arm of the experiment faces the same RED and the same looks.
        self.forces = Forces(scenario.red, scenario.theatre, np.random.default_rng([seed, 1]))
        self._sense_rng = np.random.default_rng([seed, 2])
        self.box = (scenario.theatre.x_km, scenario.theatre.y_km)
        self.sensors = self._sensors()
        self._cover = {sid: coverage(s, self.forces, self.box) for sid, s in self.sensors.items()}
        self.groups = self._groups()
        self._trackers = {sid: self._tracker(spec) for sid, spec in self.sensors.items()}
        # A track stays in a picture for two of its sensor's revisits, and at least two
        # exchanges; what was last published of each, and when, decides what is news.
        self._stale_s = {
            sid: 2.0 * max(scenario.picture_s, spec.revisit_s) for sid, spec in self.sensors.items()
        }
        self._published: dict[str, tuple[Point, float]] = {}
        self._last_look = dict.fromkeys(self.sensors, -math.inf)
        decider = Decider()
        self.pictures = {
            n: NationalPicture(
                n,
                _duty_officer(n),
                Picture(self.clock, decider),
                self.grid,
                scenario.gospa_c_m,
            )
            for n in PICTURE_NATIONS
        }
        self.stockpile = Stockpile.standing(model, days=max(scenario.campaign_days, 1))
        self.stock = NationalStock(self.stockpile, {s.id: s.nation for s in arch.shooters.values()})
        self.cell = CoordinationCell(arch, rng=np.random.default_rng([seed, 3]), stock=self.stock)
        self._wake = self.env.event()
        self._tactical_label = parse_banner(scenario.tactical_label)
        self._nominated: set[int] = set()
        self._nominate_ok = np.array([g.nominate for g in scenario.red])[self.forces.group]
        self.counts = _Counts()
        self.stock_series: dict[str, list[float]] = {m.id: [] for m in model.munitions}
        self.sharing_series: list[tuple[float, str, int, int]] = []

    # ---- wiring -------------------------------------------------------------------------
    def _sensors(self) -> dict[str, SensorSpec]:
        out = {}
        for sid, kin in self.scenario.sensors.items():
            node = self.arch.nodes[sid]
            out[sid] = SensorSpec(
                sid,
                node.nation,
                node.label or "",  # prepare() refuses unlabelled sensors
                kin.revisit_s,
                kin.pd,
                kin.sigma_m,
                kin.clutter,
                kin.x_km,
                kin.y_km,
                kin.sees,
            )
        return out

    def _groups(self) -> dict[str, TrackGroup]:
        # One tracker per sensor, stepped when that sensor looks: a satellite's half-hourly
        # looks and a drone's minute-by-minute ones each keep their own tracks.
        return {
            sid: TrackGroup(sid, s.nation, parse_banner(s.label), (sid,))
            for sid, s in sorted(self.sensors.items())
        }

    def _tracker(self, spec: SensorSpec) -> Tracker:
        # A track may coast one revisit at a target's pace before it is too unsure to keep.
        drift = max(spec.revisit_s * 15.0, 1000.0)
        # Ground forces move in straight legs at walking to driving pace: one CV model
        # (the IMM is for air and surface targets). Looks minutes to half an hour apart
        # leave a second point nearly uninformative, so a track score would drop what
        # M-of-N confirms: these trackers keep M-of-N.
        config = TrackerConfig(
            motion="cv",
            confirm="m_of_n",
            sensors=frozenset((spec.id,)),
            max_position_var=drift**2,
        )
        return Tracker(config=config)

    # ---- processes ----------------------------------------------------------------------
    def _tick(self) -> simpy.events.ProcessGenerator:
        step = self.scenario.step_s
        while True:
            yield self.env.timeout(step)
            self.forces.advance(step)
            now = float(self.env.now)
            due = [
                sid
                for sid, spec in self.sensors.items()
                if now - self._last_look[sid] >= spec.revisit_s - 1e-9
            ]
            if not due:
                continue
            # Looks draw from one stream in sensor order; the trackers of sensors that look
            # at the same instant then step as one batch, each on its own problem.
            visible = self.forces.visible()
            scans = []
            for sid in due:
                self._last_look[sid] = now
                spec, cover = self.sensors[sid], self._cover[sid]
                scans.append(observe(spec, self.forces, self._sense_rng, cover, visible))
            stepped = step_trackers([self._trackers[sid] for sid in due], now, scans)
            for sid, result in zip(due, stepped, strict=True):
                self.groups[sid].tracks = result.tracks

    def _exchange(self) -> simpy.events.ProcessGenerator:
        every = self.scenario.picture_s
        while True:
            yield self.env.timeout(every)
            outgoing: dict[str, list[Event]] = {n: [] for n in PICTURE_NATIONS}
            for g in self.groups.values():
                stale_s = self._stale_s[g.key]
                events = self._news(tracks_to_events(g, self.grid, self.clock, stale_s), stale_s)
                if g.nation in self.pictures:
                    self.pictures[g.nation].add(f"{g.nation}-fusion", events)
                    outgoing[g.nation].extend(events)
            for origin, partner in (("USA", "JPN"), ("JPN", "USA")):
                offered = outgoing[origin]
                released = self.crossing.send(origin, partner, offered)
                tactical = self._tactical(offered, {e.uid for e in released})
                released += self.crossing.send(origin, partner, tactical)
                self.pictures[partner].add(f"gateway-{origin}", released)
                self.sharing_series.append(
                    (float(self.env.now), f"{origin}->{partner}", len(offered), len(released))
                )
            truth = self.forces.pos[self.forces.visible()]
            views = {n: pic.positions() for n, pic in self.pictures.items()}
            for n, pic in self.pictures.items():
                pic.score(truth, self.scenario.associate_m, views[n][0])
            self._nominate(views)

    def _news(self, events: list[Event], stale_s: float) -> list[Event]:
        """What a node publishes: a track whose state changed since it last went out, or one
        that would go stale before the next exchange, as a heartbeat. Re-sending an
        unchanged track every exchange is traffic, not information (a satellite's track
        changes once a revisit)."""
        now = float(self.env.now)
        beat = stale_s - self.scenario.picture_s
        out = []
        for e in events:
            last = self._published.get(e.uid)
            if last is None or last[0] != e.point or now - last[1] >= beat - 1e-6:
                self._published[e.uid] = (e.point, now)
                out.append(e)
        return out

    def _tactical(self, offered: list[Event], released: set[str]) -> list[Event]:
        """Tracks the partner was refused, written for release where their sensor allows."""
        label = self._tactical_label
        return [
            msgspec.structs.replace(e, uid=f"{e.uid}-tac", label=label)
            for e in offered
            if e.uid not in released and self.scenario.sensors[self._sensor_of(e.uid)].tactical
        ]

    @staticmethod
    def _sensor_of(uid: str) -> str:
        return uid.split("-", 1)[0] if "-" in uid else uid

    def _nominate(self, views: dict[str, tuple[np.ndarray, list[Record]]]) -> None:
        """Analysts tie picture items to RED objects and nominate each target once."""
        candidates = np.flatnonzero(self.forces.visible() & self._nominate_ok)
        candidates = np.array([i for i in candidates if i not in self._nominated], dtype=np.int64)
        if candidates.size == 0:
            return
        tree = cKDTree(self.forces.pos[candidates])
        self.cell.step(float(self.env.now))
        for nation in PICTURE_NATIONS:
            xy, items = views[nation]
            if not items:
                continue
            dist, idx = tree.query(xy, distance_upper_bound=self.scenario.associate_m)
            for d, j, rec in zip(dist.tolist(), idx.tolist(), items, strict=True):
                if not math.isfinite(d) or candidates[j] in self._nominated:
                    continue
                self._nominate_one(int(candidates[j]), rec.event.uid)
        if not self._wake.triggered:
            self._wake.succeed()

    def _nominate_one(self, red: int, uid: str) -> None:
        group = self.groups[self._sensor_of(uid)]
        nation = group.nation  # the nomination is credited to the sensor's nation
        x, y = self.forces.pos[red]
        nomination = Nomination(
            f"red-{red}",
            str(self.forces.type[red]),
            x / 1e3,
            y / 1e3,
            group.sensors[0],
            at=float(self.env.now),
            label=None,
        )
        self._nominated.add(red)
        try:
            self.cell.nominate(nomination)
        except KizunaError:  # a refused nomination is counted; the run goes on
            self.counts.refused += 1
            return
        self.counts.nominated += 1
        self.counts.nominated_by[nation] = self.counts.nominated_by.get(nation, 0) + 1

    def _cell(self) -> simpy.events.ProcessGenerator:
        while True:
            due = self.cell.next_due()
            waits = [self._wake]
            if due is not None:
                waits.append(self.env.timeout(max(due - float(self.env.now), 0.0)))
            yield self.env.any_of(waits)
            if self._wake.triggered:
                self._wake = self.env.event()
            for ev in self.cell.step(float(self.env.now)):
                if ev.to is Stage.EXECUTED and self.cell.records[ev.target].destroyed:
                    self.forces.kill(int(ev.target.removeprefix("red-")))
                    self.counts.killed += 1

    def _logistics(self) -> simpy.events.ProcessGenerator:
        while True:
            for m, series in self.stock_series.items():
                series.append(float(sum(self.stockpile.on_hand(n, m) for n in PICTURE_NATIONS)))
            yield self.env.timeout(_HOUR)
            if self.env.now % _DAY < _HOUR:
                self.stockpile.step()

    def close(self) -> None:
        close = getattr(self.crossing, "close", None)
        if close is not None:
            close()

    def run(self, progress: Callable[[float], None] | None = None) -> float:
        """Play to the scenario's end; return the wall time it took."""
        t0 = time.perf_counter()
        for proc in (self._tick, self._exchange, self._cell, self._logistics):
            self.env.process(proc())
        horizon = self.scenario.hours * _HOUR
        while self.env.now < horizon:
            self.env.run(until=min(float(self.env.now) + _HOUR, horizon))
            if progress is not None:
                progress(float(self.env.now))
        self.cell.step(horizon)
        return time.perf_counter() - t0
