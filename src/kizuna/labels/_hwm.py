"""High-water mark: the least label that dominates every input, for derived items.

The result depends only on four aggregates of the inputs (the highest equivalence rank, the
intersection of releasability, whether any input carries NOFORN, the union of categories),
so the combination is commutative, associative and idempotent by construction.
"""

from __future__ import annotations

from collections.abc import Iterable

from kizuna.errors import PolicyError
from kizuna.labels._decide import releasable_to
from kizuna.labels._model import UNCLASSIFIED, Category, Label
from kizuna.labels._table import PolicyTable, default_table

__all__ = ["dominates", "high_water_mark", "rank"]


def rank(label: Label, table: PolicyTable) -> int:
    """The label's equivalence rank: 0 for UNCLASSIFIED, row number otherwise."""
    if label.policy is None:
        return 0
    row = table.row_of.get((label.policy, label.level))
    if row is None:
        raise PolicyError(f"{label.policy}:{label.level} has no equivalence row")
    return row + 1


def _compress(nations: frozenset[str], home: str, table: PolicyTable) -> frozenset[str]:
    """Write whole groups as their tetragraph, keeping the home nation named."""
    codes = set(nations)
    for tetra in sorted(table.tetragraphs):
        members = table.tetragraphs[tetra]
        if members <= nations:
            codes -= members
            codes.add(tetra)
    if home in nations:
        codes.add(home)
    return frozenset(codes)


def _nobody(top: int, categories: frozenset[Category], table: PolicyTable) -> Label:
    """A label no one may see: REL TO together with NOFORN can never be satisfied."""
    if top == 0:
        home = table.unclassified_home
        return Label(None, UNCLASSIFIED, frozenset((home,)), True, categories)
    policy = next(p for p in table.levels if p in table.rows[top - 1])
    return Label(policy, table.rows[top - 1][policy], frozenset((policy,)), True, categories)


def high_water_mark(labels: Iterable[Label], table: PolicyTable | None = None) -> Label:
    """Combine labels into the least label that dominates them all."""
    table = table or default_table()
    items = list(labels)
    if not items:
        raise ValueError("high_water_mark needs at least one label")
    top = max(rank(lb, table) for lb in items)
    noforn = any(lb.noforn for lb in items)
    categories = frozenset().union(*(lb.categories for lb in items))
    nations: frozenset[str] | None = None
    for lb in items:
        allowed = releasable_to(lb, table)
        if allowed is not None:
            nations = allowed if nations is None else nations & allowed
    if top == 0:
        home = table.unclassified_home
        if nations is None:
            return Label(None, UNCLASSIFIED, None, False, categories)
        if not nations:
            return _nobody(0, categories, table)
        if noforn:  # NOFORN narrows to the home nation, so nations is exactly {home} here
            return Label(None, UNCLASSIFIED, None, True, categories)
        return Label(None, UNCLASSIFIED, _compress(nations, home, table), False, categories)
    assert nations is not None  # every classified label releases to a finite set
    row = table.rows[top - 1]
    policy = next((p for p in table.levels if p in row and p in nations), None)
    if policy is None:
        return _nobody(top, categories, table)
    level = row[policy]
    if nations == {policy}:
        return Label(policy, level, None, noforn, categories)
    return Label(policy, level, _compress(nations, policy, table), False, categories)


def dominates(a: Label, b: Label, table: PolicyTable | None = None) -> bool:
    """True when ``a`` is at least as restrictive as ``b`` in every respect."""
    table = table or default_table()
    if rank(a, table) < rank(b, table) or not a.categories >= b.categories:
        return False
    ra, rb = releasable_to(a, table), releasable_to(b, table)
    if ra is None:
        return rb is None
    return rb is None or ra <= rb
