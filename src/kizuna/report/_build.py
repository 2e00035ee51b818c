"""Build ``report.html`` from the run files an exercise left in a directory."""

from __future__ import annotations

import json
from pathlib import Path

from kizuna.errors import KizunaError
from kizuna.report._html import Assumption, render_report
from kizuna.sim import load_results

__all__ = ["ASSUMPTIONS_FILE", "build_report", "save_assumptions"]

ASSUMPTIONS_FILE = "assumptions.json"


def save_assumptions(out: Path, rows: tuple[tuple[str, str, str], ...]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / ASSUMPTIONS_FILE).write_text(json.dumps([list(r) for r in rows], indent=1))


def build_report(out: Path, notes: tuple[str, ...] = ()) -> Path:
    """Read ``out/runs/*.sqlite`` (and the assumptions) and write ``out/report.html``."""
    results = load_results(out / "runs")
    if not results:
        raise KizunaError(f"no finished runs under {out / 'runs'}")
    rows: list[list[str]] = []
    path = out / ASSUMPTIONS_FILE
    if path.exists():
        rows = json.loads(path.read_text())
    assumptions = [Assumption(*r) for r in rows]
    target = out / "report.html"
    tmp = target.with_suffix(".partial")
    tmp.write_text(render_report(results, assumptions, notes=notes), encoding="utf-8")
    tmp.replace(target)
    return target
