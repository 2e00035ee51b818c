"""The coordination cell's stock port over the sustainment model's national stockpile.

A shooter fires from its nation's stocks; the cell asks per shooter, the stockpile answers
per nation, and a shot the stockpile cannot cover is counted, never invented.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from kizuna.sustain import Stockpile

__all__ = ["NationalStock"]


class NationalStock:
    def __init__(self, stockpile: Stockpile, nation_of: Mapping[str, str]) -> None:
        self._stock = stockpile
        self._nation_of = dict(nation_of)
        self.fired: Counter[str] = Counter()
        self.short: Counter[str] = Counter()

    def on_hand(self, holder: str, munition: str) -> int:
        return self._stock.on_hand(self._nation_of[holder], munition)

    def expend(self, holder: str, munition: str, count: int, at: float) -> None:  # noqa: ARG002
        if self._stock.consume(self._nation_of[holder], munition, count):
            self.fired[munition] += count
        else:
            self.short[munition] += count
