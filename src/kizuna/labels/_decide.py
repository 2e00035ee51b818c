"""decide(label, viewer, at): the fail-closed release decision, with every applicable reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from kizuna.errors import ParseError
from kizuna.labels._banner import ASCII_WS, parse_banner
from kizuna.labels._model import (
    Category,
    CategoryType,
    ClearanceStatus,
    Decision,
    Label,
    Reason,
    Viewer,
)
from kizuna.labels._table import NONE_LEVEL, PolicyTable, default_table
from kizuna.labels._viewer import viewer_from_mapping

__all__ = ["Decider", "LabelInput", "ViewerInput", "decide", "releasable_to"]

LabelInput = Label | str | None | object
ViewerInput = Viewer | Mapping[str, object] | object

_PERMIT = Decision.allow()


@dataclass(frozen=True, slots=True)
class _Compiled:
    """What decide() needs of a well-formed label, worked out once."""

    label: Label
    releasable: frozenset[str] | None  # None: everyone
    unsatisfiable: bool


def releasable_to(label: Label, table: PolicyTable) -> frozenset[str] | None:
    """The nations a label may be released to (None: everyone; empty: no one)."""
    home = table.home(label.policy)
    if label.rel_to is not None:
        expanded = table.expand(label.rel_to)
        if label.noforn or (label.classified and home not in expanded):
            return frozenset()
        return expanded
    if label.noforn or label.classified:
        return frozenset((home,))
    return None


def _compile(label: Label, table: PolicyTable) -> _Compiled:
    releasable = releasable_to(label, table)
    return _Compiled(label, releasable, releasable is not None and not releasable)


def _day(at: datetime) -> date:
    if at.tzinfo is None:  # a naive time is taken as UTC
        return at.date()
    return at.astimezone(UTC).date()


def _label_or_reason(label: LabelInput, table: PolicyTable) -> _Compiled | Reason:
    if isinstance(label, Label):
        if label.policy is not None and (label.policy, label.level) not in table.banner_of:
            return Reason.DENY_MALFORMED_LABEL
        if label.rel_to is not None and not label.rel_to <= table.codes:
            return Reason.DENY_MALFORMED_LABEL
        return _compile(label, table)
    if label is None:
        return Reason.DENY_MISSING_LABEL
    if not isinstance(label, str):
        return Reason.DENY_MALFORMED_LABEL
    if not label.strip(ASCII_WS):
        return Reason.DENY_MISSING_LABEL
    try:
        return _compile(parse_banner(label, table), table)
    except ParseError:
        return Reason.DENY_MALFORMED_LABEL


def _viewer(viewer: ViewerInput) -> Viewer | None:
    if isinstance(viewer, Viewer):
        return viewer
    return viewer_from_mapping(viewer)


def _clearance_reasons(c: _Compiled, v: Viewer, day: date, table: PolicyTable) -> list[Reason]:
    cl = v.clearance
    if cl is None or cl.policy not in table.levels:
        return [Reason.DENY_MALFORMED_REQUEST]
    if cl.level != NONE_LEVEL and cl.level not in table.levels[cl.policy]:
        return [Reason.DENY_MALFORMED_REQUEST]
    out: list[Reason] = []
    if cl.status is ClearanceStatus.REVOKED:
        out.append(Reason.DENY_CLEARANCE_REVOKED)
    elif cl.status is ClearanceStatus.SUSPENDED:
        out.append(Reason.DENY_CLEARANCE_SUSPENDED)
    if day > cl.expires:
        out.append(Reason.DENY_CLEARANCE_EXPIRED)
    assert c.label.policy is not None
    mapped = table.equivalent(c.label.policy, c.label.level, cl.policy)
    if cl.policy != v.nation or mapped is None:
        out.append(Reason.DENY_NO_EQUIVALENCE)
    elif table.rank(cl.policy, mapped) > table.rank(cl.policy, cl.level):
        out.append(Reason.DENY_INSUFFICIENT_CLEARANCE)
    return out


def _category_ok(cat: Category, held: frozenset[tuple[str, str]]) -> bool:
    if cat.type is CategoryType.RESTRICTIVE:
        return all((cat.tag, value) in held for value in cat.values)
    if cat.type is CategoryType.PERMISSIVE:
        return any((cat.tag, value) in held for value in cat.values)
    return True


def _evaluate(c: _Compiled, v: Viewer | None, day: date, table: PolicyTable) -> Decision:
    if c.unsatisfiable:
        return Decision.deny(Reason.DENY_UNSATISFIABLE_LABEL)
    if v is None or v.nation not in table.trigraphs:
        return Decision.deny(Reason.DENY_MALFORMED_REQUEST)
    reasons: list[Reason] = []
    if c.releasable is not None and v.nation not in c.releasable:
        reasons.append(Reason.DENY_NOT_RELEASABLE)
    if c.label.classified:
        reasons.extend(_clearance_reasons(c, v, day, table))
    if not all(_category_ok(cat, v.categories) for cat in c.label.categories):
        reasons.append(Reason.DENY_MISSING_CATEGORY)
    return Decision.deny(*reasons) if reasons else _PERMIT


def decide(
    label: LabelInput,
    viewer: ViewerInput,
    at: datetime,
    table: PolicyTable | None = None,
) -> Decision:
    """May ``viewer`` see an item labelled ``label`` at time ``at``? Never raises on bad input."""
    table = table or default_table()
    compiled = _label_or_reason(label, table)
    if isinstance(compiled, Reason):
        return Decision.deny(compiled)
    return _evaluate(compiled, _viewer(viewer), _day(at), table)


class Decider:
    """decide() with its work remembered: labels parsed once, decisions kept per UTC day.

    A decision depends only on the label, the viewer and the UTC date, so the cache key is
    exactly that; both caches are bounded and simply cleared when full.
    """

    def __init__(
        self,
        table: PolicyTable | None = None,
        *,
        cache_size: int = 1 << 16,
        cache_decisions: bool = True,
    ) -> None:
        self.table = table or default_table()
        self._size = cache_size
        self._cache_decisions = cache_decisions
        self._labels: dict[object, _Compiled | Reason] = {}
        self._decisions: dict[tuple[object, object, date], Decision] = {}
        self._last_at: datetime | None = None
        self._last_day = date.min

    def compile(self, label: LabelInput) -> _Compiled | Reason:
        try:
            hit = self._labels.get(label)
        except TypeError:  # unhashable input is never a valid label
            return Reason.DENY_MALFORMED_LABEL
        if hit is None:
            hit = _label_or_reason(label, self.table)
            if len(self._labels) >= self._size:
                self._labels.clear()
            if not isinstance(label, str) or len(label) <= 256:
                self._labels[label] = hit
        return hit

    def decide(self, label: LabelInput, viewer: ViewerInput, at: datetime) -> Decision:
        if at is not self._last_at:
            self._last_at, self._last_day = at, _day(at)
        day = self._last_day
        key = (label, viewer, day)
        try:
            return self._decisions[key]
        except (KeyError, TypeError):  # not seen yet, or an unhashable (raw) input
            pass
        if not isinstance(viewer, Viewer):
            return self._decide(label, _viewer(viewer), day)
        decision = self._decide(label, viewer, day)
        if self._cache_decisions and isinstance(label, str | Label):
            if len(self._decisions) >= self._size:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def _decide(self, label: LabelInput, viewer: Viewer | None, day: date) -> Decision:
        compiled = self.compile(label)
        if isinstance(compiled, Reason):
            return Decision.deny(compiled)
        return _evaluate(compiled, viewer, day, self.table)
