"""``kizuna demo``: a short tour of the label engine as a decision table."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from kizuna.labels import Decider

_LABELS = (
    "UNCLASSIFIED",
    "UNCLASSIFIED//NOFORN",
    "CONFIDENTIAL//REL TO USA, JPN",
    "SECRET//REL TO USA, JPN",
    "SECRET//REL TO USA, FVEY",
    "SECRET//NOFORN",
    "TOP SECRET//REL TO USA, JPN",
    "JPN GOKUHI//REL TO JPN, USA",
    "JPN KIMITSU",
    "SECRET//REL TO JPN",
    "secret//rel to usa",
)
_VIEWERS = {
    "US analyst (S)": {
        "nation": "USA",
        "clearance": "USA:SECRET",
        "expires": "2027-12-31",
        "status": "active",
    },
    "JSDF officer (GOKUHI)": {
        "nation": "JPN",
        "clearance": "JPN:GOKUHI",
        "expires": "2027-03-31",
        "status": "active",
    },
    "JSDF officer (HI)": {
        "nation": "JPN",
        "clearance": "JPN:HI",
        "expires": "2027-03-31",
        "status": "active",
    },
    "UK liaison (S)": {
        "nation": "GBR",
        "clearance": "USA:SECRET",
        "expires": "2027-12-31",
        "status": "active",
    },
    "JPN, expired": {
        "nation": "JPN",
        "clearance": "JPN:KIMITSU",
        "expires": "2026-01-31",
        "status": "active",
    },
}


def demo() -> None:
    """Print a release decision table for typical labels and viewers."""
    at = datetime(2026, 6, 1, tzinfo=UTC)
    decider = Decider()
    table = Table(title=f"Kizuna release decisions at {at:%Y-%m-%d}")
    table.add_column("label")
    for name in _VIEWERS:
        table.add_column(name)
    for label in _LABELS:
        cells = []
        for viewer in _VIEWERS.values():
            d = decider.decide(label, viewer, at)
            cells.append(
                "[green]PERMIT[/green]"
                if d.permit
                else "[red]"
                + ", ".join(r.value.removeprefix("DENY_") for r in d.reasons)
                + "[/red]"
            )
        table.add_row(label, *cells)
    Console(width=200).print(table)
