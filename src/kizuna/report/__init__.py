"""Reports: a set of exercise runs as one self-contained HTML page."""

from kizuna.report._build import build_report, save_assumptions
from kizuna.report._html import PLOT_IDS, Assumption, render_report
from kizuna.report._stats import Estimate, estimate

__all__ = [
    "PLOT_IDS",
    "Assumption",
    "Estimate",
    "build_report",
    "estimate",
    "render_report",
    "save_assumptions",
]
