"""The campaign plot, drawn with matplotlib's Agg canvas (no display, no global pyplot state)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kizuna.errors import KizunaError
from kizuna.sustain import CampaignResult


def write_plot(runs: tuple[CampaignResult, ...], path: Path) -> None:
    """Top: the baseline's theatre stock per type. Bottom: cumulative demand met per run."""
    base = runs[0]
    fig = Figure(figsize=(11, 8), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    days = range(base.days + 1)
    stock = base.theatre_on_hand() + base.in_transit
    for m, mid in enumerate(base.munitions):
        top.plot(days, stock[:, m], label=mid)
    top.set_ylabel("rounds on hand + in transit")
    top.set_title(f"{base.name}: theatre stock by type (baseline)")
    top.legend(fontsize="small", ncol=2)
    demand = base.demand.sum(axis=(1, 2)).cumsum()
    bottom.plot(days, demand, color="black", linestyle="--", label="demand")
    for run in runs:
        fired = run.demand.sum(axis=(1, 2)).cumsum() - run.shortfall.sum(axis=(1, 2)).cumsum()
        bottom.plot(days, fired, label=run.name if run is not base else "baseline")
    bottom.set_xlabel("campaign day")
    bottom.set_ylabel("rounds fired (cumulative)")
    bottom.set_title("Demand met: baseline and excursions")
    bottom.legend(fontsize="small")
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise KizunaError(f"cannot write the plot to {path}: {exc}") from exc
