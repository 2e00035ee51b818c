"""The one date form every input uses: an RFC 3339 full-date, ``YYYY-MM-DD`` exactly.

``date.fromisoformat`` also reads ``20270331`` and week dates such as ``2027-W13-3``, and a
YAML reader takes ``2027-3-31``; two components reading one record through different
readers could then disagree about when a clearance ends. Clearance expiries (viewer JSON,
the registry) and roadmap assessment dates are all read here, and nothing else is accepted.
"""

from __future__ import annotations

import re
from datetime import date

from kizuna.errors import ParseError

__all__ = ["parse_date"]

_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` (RFC 3339 full-date, ASCII digits, a real calendar day) as a date;
    ParseError for anything else."""
    if not isinstance(text, str) or not _FULL_DATE.match(text):
        raise ParseError(f"{str(text)[:40]!r} is not an RFC 3339 full-date (YYYY-MM-DD)")
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError as exc:
        raise ParseError(f"{text!r} is not a calendar date: {exc}") from exc
