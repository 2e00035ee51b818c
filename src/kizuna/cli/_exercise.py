"""``kizuna exercise``: play the sweep, keep every finished run, write the report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizuna.errors import KizunaError
from kizuna.report import build_report, save_assumptions
from kizuna.sim import RunKey, load_results, prepare, run_experiment

exercise_app = typer.Typer(
    help="The exercise: simulation sweeps and the report.", no_args_is_help=True
)


class _Bars:
    """Runs done overall, and simulated hours for each run under way."""

    def __init__(self, progress: Progress, total: int, hours: float) -> None:
        self.p = progress
        self.hours = hours
        self.overall = progress.add_task("runs", total=total)
        self.tasks: dict[RunKey, TaskID] = {}

    def started(self, key: RunKey) -> None:
        self.tasks[key] = self.p.add_task(key.slug, total=self.hours, visible=False)

    def advanced(self, key: RunKey, sim_s: float) -> None:
        task = self.tasks.get(key)
        if task is not None:
            self.p.update(task, completed=sim_s / 3600.0, visible=True)
            self.p.refresh()

    def finished(self, key: RunKey, ok: bool) -> None:  # noqa: ARG002
        task = self.tasks.pop(key, None)
        if task is not None:
            self.p.remove_task(task)
        self.p.advance(self.overall)
        self.p.refresh()


def _summary(out: Path, console: Console) -> None:
    table = Table(title="Exercise summary (means over seeds)")
    table.add_column("architecture", overflow="fold", min_width=14)
    for col in (
        "tier",
        "runs",
        "kill chain p50 min",
        "TST in window",
        "kills",
        "COP USA/JPN",
        "released U→J/J→U",
    ):
        table.add_column(col)
    groups: dict[tuple[str, str], list[dict[str, float]]] = {}
    for r in load_results(out / "runs"):
        groups.setdefault((r.key.architecture, r.key.tier), []).append(dict(r.metrics))

    def mean(rows: list[dict[str, float]], k: str) -> float:
        vals = [row[k] for row in rows if k in row and row[k] == row[k]]
        return sum(vals) / len(vals) if vals else float("nan")

    for (arch, tier), rows in sorted(groups.items()):
        table.add_row(
            arch,
            tier,
            str(len(rows)),
            f"{mean(rows, 'killchain_p50_s') / 60:.0f}",
            f"{mean(rows, 'tst_in_window'):.2f}",
            f"{mean(rows, 'targets_destroyed'):.1f}",
            f"{mean(rows, 'cop_completeness.USA'):.2f} / {mean(rows, 'cop_completeness.JPN'):.2f}",
            f"{mean(rows, 'releasable_share.USA->JPN'):.2f} / "
            f"{mean(rows, 'releasable_share.JPN->USA'):.2f}",
        )
    console.print(table)


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@exercise_app.command("run")
def run_cmd(
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: shipped).")] = None,
    architectures: Annotated[str | None, typer.Option(help="Comma-separated names.")] = None,
    tiers: Annotated[str | None, typer.Option(help="Comma-separated, e.g. T1,T2,T3.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds per arm (1..N).")] = None,
    hours: Annotated[float | None, typer.Option(help="Simulated hours per run.")] = None,
    out: Annotated[Path, typer.Option(help="Where runs and report.html go.")] = Path("out"),
    jobs: Annotated[int, typer.Option(help="Worker processes.")] = max(os.cpu_count() or 1, 1),
) -> None:
    """Play architectures x tiers x seeds and write OUT/report.html."""
    console = Console()
    try:
        plan = prepare(
            scenario,
            architectures=_split(architectures),
            tiers=_split(tiers),
            seeds=seeds,
            hours=hours,
        )
    except KizunaError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    save_assumptions(out, plan.scenario.assumptions)
    keys = plan.experiment.runs()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
    )
    # Redrawn as reports arrive rather than by rich's refresh thread: with no other thread
    # running, the sweep's workers can be forked with everything already imported.
    with Progress(*columns, console=console, transient=True, auto_refresh=False) as progress:
        bars = _Bars(progress, len(keys), plan.scenario.hours)
        outcome = run_experiment(plan.run, plan.experiment, out / "runs", bars, jobs=jobs)
    for failure in outcome.failures:
        console.print(
            f"[red]run {failure.key.slug} (seed {failure.key.seed}) failed:[/red]\n{failure.error}"
        )
    notes = tuple(
        f"Run {f.key.slug} (seed {f.key.seed}) failed and is not in this report."
        for f in outcome.failures
    )
    if outcome.interrupted:
        console.print("[yellow]stopped: finished runs are kept[/yellow]")
        notes += ("The sweep was stopped before the end; the report covers finished runs.",)
    try:
        report = build_report(out, notes)
    except KizunaError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _summary(out, console)
    console.print(
        f"report: {report}  ({len(outcome.written)} new, "
        f"{len(outcome.skipped)} kept, {len(outcome.failures)} failed)"
    )
    if outcome.interrupted:
        raise typer.Exit(130)
    if outcome.failures:
        raise typer.Exit(1)


@exercise_app.command("report")
def report_cmd(out: Annotated[Path, typer.Argument(help="An exercise output directory.")]) -> None:
    """Rebuild OUT/report.html from the stored runs."""
    try:
        path = build_report(out)
    except KizunaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"report: {path}")


@exercise_app.command("validate")
def validate_cmd(scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")]) -> None:
    """Check a scenario and its references; list every problem."""
    try:
        plan = prepare(scenario)
    except KizunaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"{scenario}: ok ({plan.scenario.entities} entities, "
        f"{len(plan.experiment.runs())} runs in its sweep)"
    )
