"""A run set as one self-contained HTML page: plotly.js is inlined, nothing is fetched.

Metric names follow one convention, so a plot is a query over names:
series ``killchain_s`` and ``gate_s.<gate>``; scalars ``tst_in_window``, ``reattack_rate``,
``bda_cycle_s``, ``shooter_utilisation``, ``cop_gospa.<nation>``, ``cop_completeness.<nation>``,
``releasable_share.<from>-><to>``, ``reciprocity_ratio``, ``days_to_exhaustion.<type>``,
``approval_critical.<nation>``; series ``stock.<type>`` (hourly rounds on hand).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from kizuna import __version__
from kizuna.report._stats import estimate
from kizuna.sim._results import RunResult

__all__ = ["PLOT_IDS", "Assumption", "render_report"]

PLOT_IDS = (
    "plot-killchain",
    "plot-gates",
    "plot-tst",
    "plot-cop",
    "plot-completeness",
    "plot-sharing",
    "plot-munitions",
)


@dataclass(frozen=True, slots=True)
class Assumption:
    name: str
    value: str
    source: str  # a FACTS.md row, or "assumed"


def _fig_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(
        template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 60}, height=420
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id))


def _by(results: Sequence[RunResult], attr: str) -> dict[str, list[RunResult]]:
    out: dict[str, list[RunResult]] = defaultdict(list)
    for r in results:
        out[getattr(r.key, attr)].append(r)
    return dict(sorted(out.items()))


def _killchain(results: Sequence[RunResult]) -> str:
    fig = go.Figure()
    for arch, runs in _by(results, "architecture").items():
        values = [v / 60 for r in runs for v in r.series.get("killchain_s", ())]
        fig.add_trace(go.Box(y=values, name=arch, boxmean=True))
    fig.update_layout(
        title="Kill-chain latency by C2 architecture (nomination to effect)",
        yaxis_title="minutes",
        yaxis_type="log",
    )
    return _fig_html(fig, "plot-killchain")


def _gates(results: Sequence[RunResult]) -> str:
    fig = go.Figure()
    for arch, runs in _by(results, "architecture").items():
        xs: list[str] = []
        ys: list[float] = []
        for r in runs:
            for name, vals in r.series.items():
                if name.startswith("gate_s."):
                    gate = name.removeprefix("gate_s.")
                    xs.extend([gate] * len(vals))
                    ys.extend(v / 60 for v in vals)
        fig.add_trace(go.Box(x=xs, y=ys, name=arch))
    fig.update_layout(
        title="Latency per stage of the targeting cycle",
        boxmode="group",
        yaxis_title="minutes",
        yaxis_type="log",
    )
    return _fig_html(fig, "plot-gates")


def _bars(
    results: Sequence[RunResult],
    *,
    group: str,
    metrics: Sequence[str],
    title: str,
    div_id: str,
    yaxis: str,
) -> str:
    fig = go.Figure()
    for metric in metrics:
        xs, ys, err = [], [], []
        for name, runs in _by(results, group).items():
            e = estimate([r.metrics[metric] for r in runs if metric in r.metrics])
            xs.append(name)
            ys.append(e.mean)
            err.append(e.half_width)
        fig.add_trace(go.Bar(x=xs, y=ys, name=metric, error_y={"type": "data", "array": err}))
    fig.update_layout(title=title, barmode="group", yaxis_title=yaxis)
    return _fig_html(fig, div_id)


def _metric_names(results: Sequence[RunResult], prefix: str) -> list[str]:
    return sorted({m for r in results for m in r.metrics if m.startswith(prefix)})


def _munitions(results: Sequence[RunResult]) -> str:
    fig = go.Figure()
    names = sorted({n for r in results for n in r.series if n.startswith("stock.")})
    for arch, runs in _by(results, "architecture").items():
        for name in names:
            curves = [r.series[name] for r in runs if name in r.series]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            mean = [sum(c[i] for c in curves) / len(curves) for i in range(length)]
            fig.add_trace(
                go.Scatter(
                    y=mean,
                    x=list(range(length)),
                    mode="lines",
                    name=f"{name.removeprefix('stock.')} · {arch}",
                )
            )
    fig.update_layout(
        title="Munitions on hand over the exercise (mean over runs)",
        xaxis_title="hour",
        yaxis_title="rounds",
    )
    return _fig_html(fig, "plot-munitions")


def _exhaustion(results: Sequence[RunResult]) -> str:
    names = _metric_names(results, "days_to_exhaustion.")
    head = "".join(f"<th>{html.escape(n.removeprefix('days_to_exhaustion.'))}</th>" for n in names)
    rows = []
    for arch, runs in _by(results, "architecture").items():
        cells = []
        for n in names:
            e = estimate([r.metrics[n] for r in runs if n in r.metrics])
            cells.append("not fired" if e.n == 0 else f"{e.mean:.1f} ± {e.half_width:.1f}")
        rows.append(
            f"<tr><th>{html.escape(arch)}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        )
    return (
        "<p>Days until national stocks of each shooter's munition run out at the rate the "
        "exercise fired them (95% CI over seeds):</p><table id='exhaustion'><thead><tr>"
        f"<th>architecture</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _summary_table(results: Sequence[RunResult]) -> str:
    metrics = (
        "tst_in_window",
        "reattack_rate",
        "bda_cycle_s",
        "shooter_utilisation",
        "reciprocity_ratio",
    )
    rows = []
    for arch, runs in _by(results, "architecture").items():
        kc = sorted(v for r in runs for v in r.series.get("killchain_s", ()))
        p50 = kc[len(kc) // 2] / 60 if kc else float("nan")
        cells = [f"{p50:.1f}"]
        for m in metrics:
            e = estimate([r.metrics[m] for r in runs if m in r.metrics])
            cells.append(f"{e.mean:.3g} ± {e.half_width:.2g}")
        rows.append(
            "<tr><th>"
            + html.escape(arch)
            + "</th>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ("architecture", "kill chain p50 (min)", *metrics)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _assumptions(items: Sequence[Assumption]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(a.name)}</td><td>{html.escape(a.value)}</td>"
        f"<td>{html.escape(a.source)}</td></tr>"
        for a in items
    )
    return (
        "<table id='assumptions'><thead><tr><th>parameter</th><th>value</th><th>source</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
h1{margin-bottom:0}.sub{color:#666}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f4f4f4}
.warn{color:#a40}"""


def render_report(
    results: Sequence[RunResult],
    assumptions: Sequence[Assumption],
    *,
    title: str = "Kizuna exercise report",
    notes: Sequence[str] = (),
) -> str:
    """The whole report as one HTML string."""
    if not results:
        raise ValueError("a report needs at least one finished run")
    archs = sorted({r.key.architecture for r in results})
    tiers = sorted({r.key.tier for r in results})
    seeds = sorted({r.key.seed for r in results})
    sections = [
        ("Command and control: how fast is the targeting cycle?", _killchain(results)),
        ("Where the time goes", _gates(results)),
        (
            "Time-sensitive targets engaged within their window",
            _bars(
                results,
                group="architecture",
                metrics=["tst_in_window"],
                title="Share of time-sensitive targets engaged in window (95% CI over seeds)",
                div_id="plot-tst",
                yaxis="share",
            ),
        ),
        (
            "Information sharing: each nation's picture against truth",
            _bars(
                results,
                group="tier",
                metrics=_metric_names(results, "cop_gospa."),
                title="COP error (mean GOSPA, lower is better) by sharing tier",
                div_id="plot-cop",
                yaxis="GOSPA (m)",
            ),
        ),
        (
            "What crosses the guard, each way",
            _bars(
                results,
                group="tier",
                metrics=[*_metric_names(results, "releasable_share."), "reciprocity_ratio"],
                title="Released share per direction and reciprocity ratio by tier",
                div_id="plot-sharing",
                yaxis="share / ratio",
            ),
        ),
        (
            "Share of RED each nation's picture holds",
            _bars(
                results,
                group="tier",
                metrics=_metric_names(results, "cop_completeness."),
                title="COP completeness: visible RED objects within 2 km of a picture item",
                div_id="plot-completeness",
                yaxis="share",
            ),
        ),
        ("Munitions: what is left", _munitions(results) + _exhaustion(results)),
    ]
    body = "".join(f"<h2>{html.escape(h)}</h2>{fig}" for h, fig in sections)
    note_html = "".join(f"<p class='warn'>{html.escape(n)}</p>" for n in notes)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style><script>{get_plotlyjs()}</script></head><body>
<h1>{html.escape(title)}</h1>
<p class="sub">Kizuna {__version__} · {len(results)} runs · architectures {", ".join(archs)} ·
tiers {", ".join(tiers)} · seeds {", ".join(map(str, seeds))} · built {stamp}.
All data synthetic and notional.</p>{note_html}
<h2>Summary</h2>{_summary_table(results)}
{body}
<h2>Assumptions the conclusions depend on</h2>{_assumptions(assumptions)}
</body></html>"""
