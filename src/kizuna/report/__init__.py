"""Reports: a set of exercise runs as one self-contained HTML page."""

from kizuna.report._html import PLOT_IDS, Assumption, render_report
from kizuna.report._stats import Estimate, estimate

__all__ = ["PLOT_IDS", "Assumption", "Estimate", "estimate", "render_report"]
