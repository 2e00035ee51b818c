"""C2 architectures as graphs, and routing a decision through them for its latency."""

from __future__ import annotations

import heapq
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from kizuna.coord._dist import Constant, Distribution
from kizuna.coord._gates import NoStrikeEntry
from kizuna.coord._model import EdgeKind, NodeKind, TargetType

__all__ = ["Approval", "Architecture", "Edge", "Node", "Router", "ShooterSpec"]

_BLOCK = 256
_NOT_RELAYS = frozenset({NodeKind.SENSOR, NodeKind.SHOOTER})


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: NodeKind
    nation: str
    label: str | None = None  # a sensor's default banner for what it nominates
    bda: bool = False  # a sensor able to assess battle damage


@dataclass(frozen=True, slots=True)
class ShooterSpec:
    id: str
    nation: str
    x_km: float
    y_km: float
    range_km: float
    speed_kmh: float
    munition: str
    capacity: int  # simultaneous engagements
    salvo: int  # rounds per engagement
    pk: float
    can_engage: frozenset[str]


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str
    kind: EdgeKind
    latency: Distribution

    @property
    def key(self) -> str:
        return f"{self.src}->{self.dst}:{self.kind.value}"


@dataclass(frozen=True, slots=True)
class Approval:
    """A nation's approval of its own strikes, as data."""

    nation: str
    authority: str
    latency: Distribution
    p_approve: float = 1.0
    permitted: frozenset[str] | None = None  # target types it may approve; None: all


@dataclass(frozen=True, slots=True)
class Architecture:
    name: str
    description: str
    target_types: Mapping[str, TargetType]
    nodes: Mapping[str, Node]
    shooters: Mapping[str, ShooterSpec]
    edges: tuple[Edge, ...]
    targeting: Mapping[str, str]  # nominating nation -> node that vets and prioritises
    assessment: Mapping[str, str]  # nominating nation -> node that judges BDA
    allocation: str  # node of the joint allocation board
    tasking: Mapping[str, str]  # shooter nation -> national node every tasking passes
    approvals: Mapping[str, Approval]
    gate_latency: Mapping[str, Distribution]  # in gate order
    no_strike: tuple[NoStrikeEntry, ...]
    cde_max_tier: int
    bda: Distribution
    board_interval: float
    max_attacks: int

    def sensors(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes.values() if n.kind is NodeKind.SENSOR)

    def zero_hops(self) -> Architecture:
        """The same architecture with every hop instantaneous (for what-if comparisons)."""
        return replace(self, edges=tuple(replace(e, latency=Constant(0.0)) for e in self.edges))

    def with_edge(self, edge: Edge) -> Architecture:
        return replace(self, edges=(*self.edges, edge))


class Router:
    """Routes decisions through an architecture's graph.

    A decision travels every open channel at once and arrives by the earliest: its latency is
    the shortest path under one realisation of every edge's latency. Each edge draws from its
    own stream, so adding an edge never changes the draws of the others and can only make a
    decision arrive earlier. Sensors and shooters originate or receive decisions but never
    relay them; tasking follows command edges inside one nation only; ISR products follow data
    edges only.
    """

    def __init__(self, arch: Architecture, rng: np.random.Generator) -> None:
        self._arch = arch
        base = int(rng.integers(0, 2**63 - 1))
        self._dists = [e.latency for e in arch.edges]
        self._gens = [np.random.default_rng([base, zlib.crc32(e.key.encode())]) for e in arch.edges]
        self._block = np.zeros((len(arch.edges), 0))
        self._col = 0
        self._adj: dict[str, list[tuple[str, int]]] = {n: [] for n in arch.nodes}
        self._cmd: dict[str, list[tuple[str, int]]] = {n: [] for n in arch.nodes}
        self._data: dict[str, list[tuple[str, int]]] = {n: [] for n in arch.nodes}
        for i, e in enumerate(arch.edges):
            self._adj[e.src].append((e.dst, i))
            self._adj[e.dst].append((e.src, i))
            if e.kind is EdgeKind.DATA:
                self._data[e.src].append((e.dst, i))
                self._data[e.dst].append((e.src, i))
            if e.kind is EdgeKind.COMMAND:
                self._cmd[e.src].append((e.dst, i))
        self._relay = frozenset(n.id for n in arch.nodes.values() if n.kind not in _NOT_RELAYS)
        self._national: dict[str, tuple[dict[str, list[tuple[str, int]]], frozenset[str]]] = {}
        for nation in {n.nation for n in arch.nodes.values()}:
            own = frozenset(n for n in self._relay if arch.nodes[n].nation == nation)
            cmd = {
                n: [(m, i) for m, i in nbrs if arch.nodes[m].nation == nation]
                for n, nbrs in self._cmd.items()
                if arch.nodes[n].nation == nation
            }
            self._national[nation] = (cmd, own)

    def draw(self) -> list[float]:
        """One realisation: a latency in seconds for every edge, in edge order."""
        if self._col >= self._block.shape[1]:
            rows = [
                d.from_normal(g.standard_normal(_BLOCK))
                for d, g in zip(self._dists, self._gens, strict=True)
            ]
            self._block = np.array(rows).reshape(len(self._dists), _BLOCK)
            self._col = 0
        col: list[float] = self._block[:, self._col].tolist()
        self._col += 1
        return col

    def latency(self, src: str, dst: str, w: list[float], *, data_only: bool = False) -> float:
        """Earliest arrival from ``src`` to ``dst`` (inf when there is no path).

        ``data_only`` is for ISR products (battle-damage imagery), which need a data channel:
        a liaison officer or a VTC carries decisions, not the product itself.
        """
        return _dijkstra(src, dst, self._data if data_only else self._adj, w, self._relay)[0]

    def tasking(self, nation: str, src: str, dst: str, w: list[float]) -> tuple[float, list[str]]:
        """Latency and path of a tasking along ``nation``'s own command edges."""
        cmd, own = self._national.get(nation, ({}, frozenset()))
        return _dijkstra(src, dst, cmd, w, own)


def _dijkstra(
    src: str,
    dst: str,
    adj: Mapping[str, list[tuple[str, int]]],
    w: list[float],
    relay: frozenset[str],
) -> tuple[float, list[str]]:
    if src == dst:
        return 0.0, [src]
    best = {src: 0.0}
    prev: dict[str, str] = {}
    heap = [(0.0, src)]
    while heap:
        d, node = heapq.heappop(heap)
        if node == dst:
            path = [dst]
            while path[-1] != src:
                path.append(prev[path[-1]])
            return d, path[::-1]
        if d > best[node] or (node != src and node not in relay):
            continue
        for nxt, i in adj.get(node, ()):
            nd = d + w[i]
            if nd < best.get(nxt, math.inf):
                best[nxt] = nd
                prev[nxt] = node
                heapq.heappush(heap, (nd, nxt))
    return math.inf, []
