"""The reciprocity ledger: a fold over the audit log, so the report and the API can only ever
show the numbers the log proves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from kizuna.gateway._audit import AuditEntry

__all__ = ["Ledger", "Tally"]

OUT, IN = "out", "in"


@dataclass(slots=True)
class Tally:
    offered: int = 0
    released: int = 0
    sanitised: int = 0
    held: int = 0
    denied: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, object]:
        return {
            "offered": self.offered,
            "released": self.released,
            "sanitised": self.sanitised,
            "held": self.held,
            "denied": self.denied,
            "reasons": dict(sorted(self.reasons.items())),
        }


def _level(label: str) -> str:
    return label.split("//", 1)[0] if label else "(none)"


class Ledger:
    """Per direction, partner, category, label level and day."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, str, str, str], Tally] = {}

    @classmethod
    def of(cls, entries: Iterable[AuditEntry]) -> Ledger:
        ledger = cls()
        for e in entries:
            ledger.add(e)
        return ledger

    def add(self, e: AuditEntry) -> None:
        if e.event not in ("outbound", "inbound", "approve", "reject"):
            return
        direction = IN if e.event == "inbound" else OUT
        key = (direction, e.partner, e.category or "(none)", _level(e.label), e.at[:10])
        t = self.cells.get(key)
        if t is None:
            t = self.cells[key] = Tally()
        if e.event in ("outbound", "inbound"):
            t.offered += 1
        if e.outcome in ("RELEASE", "SANITISE", "ACCEPT"):
            t.released += 1
            t.sanitised += e.outcome == "SANITISE"
        elif e.outcome == "HOLD":
            t.held += 1
        elif e.outcome == "DENY":
            t.denied += 1
            t.reasons.update(e.reasons)

    def total(self, direction: str, partner: str | None = None) -> Tally:
        out = Tally()
        for (d, p, _, _, _), t in self.cells.items():
            if d == direction and partner in (None, p):
                out.offered += t.offered
                out.released += t.released
                out.sanitised += t.sanitised
                out.held += t.held
                out.denied += t.denied
                out.reasons.update(t.reasons)
        return out

    def partners(self) -> list[str]:
        return sorted({p for (_, p, _, _, _) in self.cells})

    def balance(self, partner: str) -> dict[str, object]:
        """Items we released to the partner against items it released to us."""
        out, inn = self.total(OUT, partner), self.total(IN, partner)
        return {
            "partner": partner,
            "out": out.to_json(),
            "in": inn.to_json(),
            "balance": out.released - inn.released,
            "ratio_out_to_in": out.released / inn.released if inn.released else None,
        }

    def to_json(self) -> dict[str, object]:
        rows = [
            {"direction": d, "partner": p, "category": c, "level": lv, "day": day, **t.to_json()}
            for (d, p, c, lv, day), t in sorted(self.cells.items())
        ]
        return {"partners": [self.balance(p) for p in self.partners()], "cells": rows}
