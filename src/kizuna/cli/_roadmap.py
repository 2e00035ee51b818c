"""``kizuna roadmap``: standards, a partner's evidence, its tier and the gaps to the next."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kizuna.clock import RealClock
from kizuna.errors import ConfigError, ParseError
from kizuna.labels import parse_date
from kizuna.roadmap import (
    Assessment,
    Catalogue,
    TierResult,
    assess,
    latest,
    load_assessments,
    load_catalogue,
)

roadmap_app = typer.Typer(help="The sharing roadmap: standards, assessments, tiers.")


def _history(
    cat: Catalogue, assessments: tuple[Assessment, ...], nation: str
) -> list[dict[str, str]]:
    mine = sorted((a for a in assessments if a.partner == nation), key=lambda a: a.on)
    return [{"date": a.on.isoformat(), "tier": assess(cat, nation, a).tier.name} for a in mine]


def _to_json(r: TierResult, history: list[dict[str, str]]) -> dict[str, object]:
    return {
        "partner": r.partner,
        "assessed": r.on.isoformat() if r.on else None,
        "tier": r.tier.name,
        "summary": r.rule.summary,
        "lets_through": {"max_rank": r.rule.max_rank, "categories": sorted(r.rule.categories)},
        "next_tier": r.next_tier.name if r.next_tier else None,
        "standards": [
            {
                "id": s.standard.id,
                "area": s.standard.area.value,
                "name": s.standard.name,
                "metric": s.standard.metric,
                "value": s.value,
                "unit": s.standard.unit,
                "evidence": s.evidence,
                "meets": s.met.name,
                "gap": s.gap,
            }
            for s in r.standards
        ],
        "gaps_to_next_tier": [s.standard.id for s in r.gaps()],
        "history": history,
    }


def _table(r: TierResult) -> Table:
    nxt = r.next_tier.name if r.next_tier else "-"
    t = Table(
        title=f"{r.partner}: tier {r.tier.name} ({r.rule.summary}); next {nxt}",
        caption=f"assessed {r.on or 'never'}; lets through rank <= {r.rule.max_rank}, "
        f"categories {', '.join(sorted(r.rule.categories))}",
    )
    for col in ("standard", "area", "metric", "value", "evidence", "meets", "gap to next"):
        t.add_column(col)
    gaps = {s.standard.id for s in r.gaps()}
    for s in r.standards:
        value = "-" if s.value is None else f"{s.value:g} {s.standard.unit}"
        gap = f"[red]{s.gap}[/red]" if s.standard.id in gaps else s.gap
        t.add_row(
            f"{s.standard.id} {s.standard.name}", s.standard.area.value, s.standard.metric,
            value, s.evidence or "[red]none[/red]", s.met.name, gap,
        )  # fmt: skip
    return t


@roadmap_app.command("status")
def status(
    nation: Annotated[str, typer.Argument(help="The partner, e.g. JPN.")],
    on: Annotated[str | None, typer.Option(help="Date (ISO) to assess at; default today.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    catalogue: Annotated[Path | None, typer.Option(help="Standards catalogue (TOML).")] = None,
    assessments: Annotated[Path | None, typer.Option(help="Assessments (TOML).")] = None,
) -> None:
    """Each standard, its evidence, the tier earned and the gaps to the next tier."""
    try:
        day = parse_date(on) if on else RealClock().now().date()
    except ParseError as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        cat = load_catalogue(catalogue)
        rows = load_assessments(cat, assessments)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    result = assess(cat, nation, latest(rows, nation, day))
    history = _history(cat, rows, nation)
    if as_json:
        typer.echo(json.dumps(_to_json(result, history)))
        return
    console = Console()
    console.print(_table(result))
    if history:
        console.print("history: " + ", ".join(f"{h['date']} {h['tier']}" for h in history))
