"""``kizuna sustain``: campaign sustainment runs and the host-nation-support budget planner."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from kizuna.cli._sustain_plot import write_plot
from kizuna.errors import KizunaError
from kizuna.sustain import (
    CampaignResult,
    HnsPlan,
    InfeasiblePlanError,
    Objective,
    default_campaign,
    default_hns,
    default_model,
    load_campaign,
    load_hns,
    load_model,
    plan,
    what_if,
)

sustain_app = typer.Typer(
    help="Munitions sustainment and the host-nation-support budget planner.",
    no_args_is_help=True,
)


def _fail(exc: KizunaError) -> NoReturn:
    Console(stderr=True).print(f"[bold red]error[/] {exc}", highlight=False)
    raise typer.Exit(1)


def _days(value: int | None, horizon: int) -> str:
    return f">{horizon}" if value is None else str(value)


def _types_table(runs: tuple[CampaignResult, ...]) -> Table:
    base = runs[0]
    legend = "; ".join(f"#{k} {r.name}" for k, r in enumerate(runs[1:], start=1))
    table = Table(
        title="Days of full supply by munition type · share of demand met",
        caption=legend or None,
    )
    table.add_column("Munition")
    table.add_column("Baseline", justify="right")
    for k in range(1, len(runs)):
        table.add_column(f"#{k}", justify="right")
    exhaustion = [r.days_to_exhaustion() for r in runs]
    fills = [r.fill_rate() for r in runs]
    for mid in base.munitions:
        if fills[0][mid] is None:
            continue
        cells = [
            f"{_days(e[mid], base.days)} · {(f[mid] or 0.0):.0%}"
            for e, f in zip(exhaustion, fills, strict=True)
        ]
        table.add_row(mid, *cells)
    return table


def _depot_table(run: CampaignResult) -> Table:
    table = Table(title="Baseline: days of full supply by depot")
    for col in ("Depot", "Munition", "Days", "Unmet rounds"):
        table.add_column(col, justify="right" if col in {"Days", "Unmet rounds"} else "left")
    unmet = run.shortfall.sum(axis=0)
    for (depot, mid), days in run.depot_days_to_exhaustion().items():
        i, m = run.depots.index(depot), run.munitions.index(mid)
        table.add_row(depot, mid, _days(days, run.days), str(int(unmet[i, m])))
    return table


def _run_json(runs: tuple[CampaignResult, ...], plot: Path) -> str:
    return json.dumps(
        {
            "plot": str(plot),
            "runs": [
                {
                    "name": r.name,
                    "days_to_exhaustion": r.days_to_exhaustion(),
                    "fill_rate": r.fill_rate(),
                    "unmet": r.unmet(),
                    "depot_days_to_exhaustion": [
                        {"depot": d, "munition": m, "days": v}
                        for (d, m), v in r.depot_days_to_exhaustion().items()
                    ],
                }
                for r in runs
            ],
        }
    )


@sustain_app.command("run")
def run_cmd(
    campaign: Annotated[
        Path | None,
        typer.Option(help="Campaign YAML (default: the shipped notional campaign)."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Sustainment model YAML (default: the shipped model).")
    ] = None,
    plot: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = Path("sustain.png"),
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Run a campaign day by day with its excursions: days to exhaustion per type and depot."""
    try:
        the_model = default_model() if model is None else load_model(model)
        the_campaign = (
            default_campaign(the_model) if campaign is None else load_campaign(campaign, the_model)
        )
    except (KizunaError, OSError) as exc:
        _fail(exc if isinstance(exc, KizunaError) else KizunaError(str(exc)))
    runs = what_if(the_model, the_campaign)
    try:
        write_plot(runs, plot)
    except KizunaError as exc:
        _fail(exc)
    if as_json:
        typer.echo(_run_json(runs, plot))
        return
    console = Console()
    console.print(f"[bold]{the_campaign.name}[/] — {the_campaign.days} days")
    console.print(_types_table(runs))
    console.print(_depot_table(runs[0]))
    console.print(f"plot written to {plot}")


def _plan_tables(result: HnsPlan) -> tuple[Table, Table]:
    alloc = Table(
        title=f"HNS plan, objective {result.objective.value}, "
        f"budget ¥{result.budget_yen / 1e9:,.1f} bn"
    )
    for col in (
        "Category",
        "Current ¥bn",
        "Planned ¥bn",
        "Change",
        "Next ¥1 bn adds",
        "¥1 bn buys",
    ):
        alloc.add_column(col, justify="left" if col in {"Category", "¥1 bn buys"} else "right")
    for a in result.allocations:
        alloc.add_row(
            a.category,
            f"{a.current_yen / 1e9:,.1f}",
            f"{a.planned_yen / 1e9:,.1f}",
            f"{(a.planned_yen - a.current_yen) / 1e9:+,.1f}",
            f"{a.marginal_per_bn:.4g}",
            a.buys_per_bn or "",
        )
    binding = Table(title="Binding constraints and their shadow prices")
    for col in ("Constraint", "Meaning", "Shadow price per ¥1 bn"):
        binding.add_column(col, justify="right" if col.startswith("Shadow") else "left")
    for c in result.binding:
        binding.add_row(c.id, c.description, f"{c.shadow_per_bn:+.4g}")
    return alloc, binding


@sustain_app.command("hns")
def hns_cmd(
    objective: Annotated[Objective, typer.Option(help="What to maximise.")] = Objective.STOCKS,
    budget_yen: Annotated[
        float | None, typer.Option(help="Annual budget in yen, e.g. 211e9 (default: data).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="HNS data YAML (default: the shipped SMA figures).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Reallocate the host-nation-support budget with a linear program (HiGHS)."""
    try:
        model = default_hns() if data is None else load_hns(data)
        result = plan(model, objective, budget_yen)
    except InfeasiblePlanError as exc:
        if as_json:
            doc: dict[str, object] = {"status": "infeasible", "field": exc.field}
            doc |= {"conflict": list(exc.conflict)}
            doc |= {"explanation": exc.explanation, "floor_yen": exc.floor_yen}
            typer.echo(json.dumps(doc))
            raise typer.Exit(1) from None
        _fail(exc)
    except (KizunaError, OSError) as exc:
        _fail(exc if isinstance(exc, KizunaError) else KizunaError(str(exc)))
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    console = Console()
    alloc, binding = _plan_tables(result)
    console.print(alloc)
    console.print(binding)
    budget = result.constraint("budget")
    console.print(
        f"{objective.value} score {result.value:.4g} "
        f"(stocks {result.scores['stocks']:.4g}, training {result.scores['training']:.4g}); "
        f"each further ¥1 bn of budget adds {budget.shadow_per_bn:.4g}."
    )
    sys.stdout.flush()
