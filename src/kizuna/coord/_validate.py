"""Graph rules every architecture must keep, checked at load time.

- No Japanese unit under a foreign command: a command edge into a JPN node comes from JPN.
- No cycle without national approval: every nation with shooters has an approval authority,
  and each shooter is reachable from it along its own nation's command edges, through the
  nation's tasking node (for Japan, the JJOC).
- Every nominating sensor reaches a shooter: sensor -> targeting node -> allocation board ->
  some nation's approval authority -> a shooter.
- Every nominating nation's assessment node has a data path from a BDA-capable sensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from kizuna.coord._arch import _NOT_RELAYS, Approval, Edge, Node, ShooterSpec, _dijkstra
from kizuna.coord._model import EdgeKind, NodeKind

__all__ = ["SOVEREIGN_COMMAND", "check_graph"]

# Nations whose units may never come under another nation's command (FACTS.md: "no
# Self-Defense Force unit under US command").
SOVEREIGN_COMMAND = frozenset({"JPN"})

Add = Callable[[str, str], None]


def check_graph(
    nodes: Mapping[str, Node],
    *,
    shooters: Mapping[str, ShooterSpec],
    edges: list[Edge],
    targeting: Mapping[str, str],
    assessment: Mapping[str, str],
    allocation: str,
    tasking: Mapping[str, str],
    approvals: Mapping[str, Approval],
    add: Add,
) -> None:
    _check_command(nodes, edges, add)
    unit = [1.0] * len(edges)
    adj: dict[str, list[tuple[str, int]]] = {n: [] for n in nodes}
    cmd: dict[str, list[tuple[str, int]]] = {n: [] for n in nodes}
    data: dict[str, list[tuple[str, int]]] = {n: [] for n in nodes}
    for i, e in enumerate(edges):
        adj[e.src].append((e.dst, i))
        adj[e.dst].append((e.src, i))
        if e.kind is EdgeKind.DATA:
            data[e.src].append((e.dst, i))
            data[e.dst].append((e.src, i))
        if e.kind is EdgeKind.COMMAND and nodes[e.src].nation == nodes[e.dst].nation:
            cmd[e.src].append((e.dst, i))
    relay = frozenset(n for n, v in nodes.items() if v.kind not in _NOT_RELAYS)

    def reach(a: str, b: str, *, data_only: bool = False) -> bool:
        return math.isfinite(_dijkstra(a, b, data if data_only else adj, unit, relay)[0])

    def national(nation: str, a: str, b: str) -> bool:
        own = frozenset(n for n in relay if nodes[n].nation == nation)
        return math.isfinite(_dijkstra(a, b, cmd, unit, own)[0])

    if allocation in nodes and nodes[allocation].kind in _NOT_RELAYS:
        add("roles.allocation", f"{allocation} is a {nodes[allocation].kind}, not a C2 node")
    tasked = _check_shooters(
        nodes, shooters=shooters, tasking=tasking, approvals=approvals, national=national, add=add
    )
    for s in (n for n in nodes.values() if n.kind is NodeKind.SENSOR):
        _check_sensor(
            s,
            targeting=targeting,
            allocation=allocation,
            approvals=approvals,
            tasked=tasked,
            reach=reach,
            add=add,
        )
    bda = [n.id for n in nodes.values() if n.kind is NodeKind.SENSOR and n.bda]
    for nation in sorted({n.nation for n in nodes.values() if n.kind is NodeKind.SENSOR}):
        where = assessment.get(nation)
        if where is None:
            add(f"roles.assessment.{nation}", "missing for a nominating nation")
        elif not any(reach(b, where, data_only=True) for b in bda):
            add(
                f"roles.assessment.{nation}",
                f"node {where} has no data path from a BDA-capable sensor (bda: true)",
            )


def _check_command(nodes: Mapping[str, Node], edges: list[Edge], add: Add) -> None:
    for e in edges:
        if e.kind is not EdgeKind.COMMAND:
            continue
        src, dst = nodes[e.src], nodes[e.dst]
        name = f"edge {e.src}->{e.dst} (command)"
        if src.kind in _NOT_RELAYS:
            add(name, f"a {src.kind} cannot command")
        if dst.nation in SOVEREIGN_COMMAND and src.nation != dst.nation:
            add(
                name,
                f"would put a {dst.nation} unit ({e.dst}) under {src.nation} command ({e.src})",
            )


def _check_shooters(
    nodes: Mapping[str, Node],
    *,
    shooters: Mapping[str, ShooterSpec],
    tasking: Mapping[str, str],
    approvals: Mapping[str, Approval],
    national: Callable[[str, str, str], bool],
    add: Add,
) -> set[str]:
    """Check every shooter's national chain; return the nations with a tasked shooter."""
    ok: set[str] = set()
    for nation in sorted({s.nation for s in shooters.values()}):
        mine = sorted(s.id for s in shooters.values() if s.nation == nation)
        approval, hub = approvals.get(nation), tasking.get(nation)
        if approval is None:
            add(
                f"approvals.{nation}",
                f"missing: a cycle without national approval for "
                f"{nation} shooters ({', '.join(mine)})",
            )
        if hub is None:
            add(f"roles.tasking.{nation}", f"missing for {nation} shooters ({', '.join(mine)})")
        elif nodes[hub].nation != nation:
            add(
                f"roles.tasking.{nation}",
                f"node {hub} belongs to {nodes[hub].nation}: "
                f"{nation} units are tasked through their own chain only",
            )
            hub = None
        if approval is None or hub is None:
            continue
        if not national(nation, approval.authority, hub):
            add(
                f"approvals.{nation}.authority",
                f"no {nation} command path from {approval.authority} to the tasking node {hub}",
            )
            continue
        for sid in mine:
            if national(nation, hub, sid):
                ok.add(nation)
            else:
                add(
                    f"node {sid} (shooter, {nation})",
                    f"no {nation} command path from {hub}: it could only be tasked by a "
                    "foreign chain or not at all",
                )
    return ok


def _check_sensor(
    s: Node,
    *,
    targeting: Mapping[str, str],
    allocation: str,
    approvals: Mapping[str, Approval],
    tasked: set[str],
    reach: Callable[[str, str], bool],
    add: Add,
) -> None:
    name = f"node {s.id} (sensor, {s.nation})"
    where = targeting.get(s.nation)
    if where is None:
        add(f"roles.targeting.{s.nation}", f"missing: {s.id} nominates for {s.nation}")
        return
    if not reach(s.id, where):
        add(
            name,
            f"nominating nation {s.nation} has no path to a shooter: no route to its "
            f"targeting node {where}",
        )
    elif not reach(where, allocation):
        add(
            name,
            f"nominating nation {s.nation} has no path to a shooter: no route from "
            f"{where} to the allocation board {allocation}",
        )
    elif not any(reach(allocation, approvals[n].authority) for n in tasked):
        add(
            name,
            f"nominating nation {s.nation} has no path to a shooter: the allocation "
            f"board {allocation} reaches no approval authority with a shooter",
        )
