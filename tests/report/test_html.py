from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from kizuna.report import PLOT_IDS, Assumption, estimate, render_report
from kizuna.sim import RunKey, RunResult


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("src", "href") and value:
                self.srcs.append(value)


def _results() -> list[RunResult]:
    out = []
    for arch in ("parallel", "integrated"):
        for tier in ("T1", "T2"):
            for seed in (1, 2, 3):
                out.append(
                    RunResult(
                        RunKey(arch, tier, seed),
                        86400.0,
                        1.0,
                        {
                            "tst_in_window": 0.3 + seed / 10,
                            "cop_gospa.JPN": 100.0 * seed,
                            "cop_gospa.USA": 80.0,
                            "releasable_share.USA->JPN": 0.5,
                            "reciprocity_ratio": 1.1,
                        },
                        {
                            "killchain_s": (600.0, 1200.0),
                            "gate_s.legal": (60.0,),
                            "stock.tomahawk": (400.0, 390.0, 380.0),
                        },
                    )
                )
    return out


def test_report_is_self_contained_and_has_every_plot() -> None:
    page = render_report(_results(), [Assumption("JPN approval", "median 45 min", "assumed")])
    parser = _Collector()
    parser.feed(page)
    assert set(PLOT_IDS) <= parser.ids
    assert "assumptions" in parser.ids
    assert not [s for s in parser.srcs if re.match(r"(https?:)?//", s)]  # nothing fetched
    assert "Plotly.newPlot" in page or "Plotly.react" in page


def test_empty_report_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        render_report([], [])


def test_confidence_interval() -> None:
    e = estimate([1.0, 2.0, 3.0])
    assert e.mean == 2.0
    assert e.low < 2.0 < e.high
    assert e.half_width == pytest.approx(2.4841, rel=1e-3)  # t(0.975, 2) * 1 / sqrt(3)
    assert estimate([5.0]).half_width == 0
    assert estimate([]).n == 0
