"""The one date form every input uses: an RFC 3339 full-date, ``YYYY-MM-DD`` exactly.

``date.fromisoformat`` also reads ``20270331`` and week dates such as ``2027-W13-3``, and a
YAML reader takes ``2027-3-31``; two components reading one record through different
readers could then disagree about when a clearance ends. Clearance expiries (viewer JSON,
the registry) and roadmap assessment dates are all read here, and nothing else is accepted.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from kizuna.errors import ConfigError, ParseError

__all__ = ["date_field", "parse_date"]

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


def date_field(raw: object, where: str) -> date:
    """A date read from a file: text ``YYYY-MM-DD`` exactly, or a TOML local date (whose
    grammar is exactly that); nothing else, and never a date with a time. ConfigError
    naming ``where`` for anything else."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return parse_date(raw)
        except ParseError as exc:
            raise ConfigError(str(exc), field=where) from exc
    raise ConfigError(f"{raw!r} is not an RFC 3339 full-date (YYYY-MM-DD)", field=where)
