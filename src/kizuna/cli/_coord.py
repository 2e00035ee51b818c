"""``kizuna coord``: run the targeting cycle on C2 architectures and validate them."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from kizuna.coord import (
    Allocator,
    Architecture,
    CoordinationCell,
    FixedStock,
    RunMetrics,
    assign_greedy,
    assign_hungarian,
    assign_milp,
    assign_optimal,
    load_architecture,
    run_metrics,
    shipped_architectures,
    synthetic_nominations,
)
from kizuna.errors import ConfigError

coord_app = typer.Typer(
    help="The bilateral coordination cell: targeting cycle over C2 architectures.",
    no_args_is_help=True,
)


class AllocatorName(StrEnum):
    OPTIMAL = "optimal"
    HUNGARIAN = "hungarian"
    MILP = "milp"
    GREEDY = "greedy"


ALLOCATORS: dict[AllocatorName, Allocator] = {
    AllocatorName.OPTIMAL: assign_optimal,
    AllocatorName.HUNGARIAN: assign_hungarian,
    AllocatorName.MILP: assign_milp,
    AllocatorName.GREEDY: assign_greedy,
}


@coord_app.command("list")
def list_cmd() -> None:
    """The architectures shipped with Kizuna."""
    for name in shipped_architectures():
        arch = load_architecture(name)
        typer.echo(f"{name:16} {arch.description}")


@coord_app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Architecture YAML files.")],
) -> None:
    """Check architecture files; print every problem found, exit 1 if any file is invalid."""
    bad = 0
    for f in files:
        try:
            arch = load_architecture(f)
        except ConfigError as exc:
            bad += 1
            typer.echo(f"INVALID {f}\n{exc}", err=True)
            continue
        typer.echo(
            f"ok {f}: {arch.name}, {len(arch.nodes)} nodes, {len(arch.edges)} edges, "
            f"{len(arch.shooters)} shooters"
        )
    if bad:
        raise typer.Exit(1)


def _run(
    arch: Architecture, *, targets: int, hours: float, seed: int, stock: int, allocator: Allocator
) -> RunMetrics:
    noms = synthetic_nominations(
        arch, targets, np.random.default_rng([seed, 1]), horizon_s=hours * 3600.0
    )
    cell = CoordinationCell(
        arch,
        rng=np.random.default_rng([seed, 2]),
        stock=FixedStock({}, default=stock),
        allocator=allocator,
    )
    cell.run(noms)
    return run_metrics(arch, cell.records)


@coord_app.command("run")
def run_cmd(
    architectures: Annotated[
        list[str] | None,
        typer.Argument(help="Shipped names or YAML paths (default: all shipped)."),
    ] = None,
    *,
    targets: Annotated[int, typer.Option(min=0, help="Synthetic nominations.")] = 200,
    hours: Annotated[float, typer.Option(min=0.0, help="Nominations spread over hours.")] = 12.0,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same history.")] = 1,
    stock: Annotated[int, typer.Option(min=0, help="Rounds on hand per shooter.")] = 50,
    zero_hops: Annotated[bool, typer.Option(help="Make every hop instantaneous.")] = False,
    allocator: Annotated[
        AllocatorName, typer.Option(help="How the board assigns targets to shooters.")
    ] = AllocatorName.OPTIMAL,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per run.")] = False,
) -> None:
    """Run the cycle on synthetic nominations and print its metrics per architecture."""
    names = architectures or list(shipped_architectures())
    try:
        archs = [load_architecture(n) for n in names]
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    how = ALLOCATORS[allocator]
    results = [
        _run(
            a.zero_hops() if zero_hops else a,
            targets=targets,
            hours=hours,
            seed=seed,
            stock=stock,
            allocator=how,
        )
        for a in archs
    ]
    if as_json:
        for m in results:
            typer.echo(json.dumps(m.to_json(), allow_nan=False))
        return
    Console().print(_table(results))


def _minutes(x: float) -> str:
    return "-" if math.isnan(x) else f"{x / 60:.0f}"


def _table(results: list[RunMetrics]) -> Table:
    table = Table(title="Targeting cycle by architecture (minutes unless stated)")
    table.add_column("metric")
    for m in results:
        table.add_column(m.architecture, justify="right")
    nations = sorted({n for m in results for n in m.approval})
    rows: list[tuple[str, list[str]]] = [
        ("targets nominated", [str(m.targets) for m in results]),
        ("engaged / destroyed", [f"{m.kill_chain.n} / {m.destroyed}" for m in results]),
        ("kill chain p50", [_minutes(m.kill_chain.p50) for m in results]),
        ("kill chain p90", [_minutes(m.kill_chain.p90) for m in results]),
        ("TSTs engaged in window", [f"{m.tst_in_window}/{m.tst_vetted}" for m in results]),
        ("re-attack rate", [f"{m.reattack_rate:.0%}" for m in results]),
        ("BDA cycle p50", [_minutes(m.bda_cycle.p50) for m in results]),
        (
            "BDA cycle p50, JPN targets",
            [
                _minutes(m.bda_by_nation["JPN"].p50) if "JPN" in m.bda_by_nation else "-"
                for m in results
            ],
        ),
        ("shooter utilisation", [f"{m.mean_utilisation:.0%}" for m in results]),
    ]
    for n in nations:
        rows.append(
            (
                f"{n} approval p50",
                [_minutes(m.approval[n].p50) if n in m.approval else "-" for m in results],
            )
        )
        rows.append(
            (
                f"{n} approval longest step",
                [
                    f"{m.critical_path[n].longest_step}/{m.critical_path[n].approvals}"
                    if n in m.critical_path
                    else "-"
                    for m in results
                ],
            )
        )
    for label, cells in rows:
        table.add_row(label, *cells)
    return table
