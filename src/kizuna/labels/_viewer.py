"""Reading a viewer from untrusted JSON-shaped data without ever raising."""

from __future__ import annotations

from collections.abc import Mapping

from kizuna.errors import ParseError
from kizuna.labels._date import parse_date
from kizuna.labels._model import Clearance, ClearanceStatus, Viewer

__all__ = ["parse_clearance", "viewer_from_mapping"]


def parse_clearance(code: object, status: object, expires: object) -> Clearance | None:
    """``POLICY:LEVEL`` plus status and an RFC 3339 full-date (``YYYY-MM-DD`` exactly); None
    if any part is missing or malformed."""
    if not (isinstance(code, str) and isinstance(status, str) and isinstance(expires, str)):
        return None
    policy, sep, level = code.partition(":")
    if not sep or not policy or not level:
        return None
    try:
        return Clearance(policy, level, ClearanceStatus(status), parse_date(expires))
    except (ValueError, ParseError):
        return None


def _categories(raw: object) -> frozenset[tuple[str, str]] | None:
    if raw is None:
        return frozenset()
    if not isinstance(raw, Mapping):
        return None
    out: set[tuple[str, str]] = set()
    for tag, values in raw.items():
        if not isinstance(tag, str) or not isinstance(values, list):
            return None
        for value in values:
            if not isinstance(value, str):
                return None
            out.add((tag, value))
    return frozenset(out)


def viewer_from_mapping(raw: object) -> Viewer | None:
    """A Viewer from a JSON object; None when not even a nation can be read.

    A clearance that cannot be read becomes None: it matters only for classified labels,
    where decide() then reports DENY_MALFORMED_REQUEST.
    """
    if not isinstance(raw, Mapping):
        return None
    nation = raw.get("nation")
    categories = _categories(raw.get("categories"))
    if not isinstance(nation, str) or categories is None:
        return None
    clearance = parse_clearance(raw.get("clearance"), raw.get("status"), raw.get("expires"))
    return Viewer(nation, clearance, categories)
