"""Hypothesis strategies for labels and viewers."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from kizuna.labels import (
    UNCLASSIFIED,
    Category,
    CategoryType,
    Clearance,
    ClearanceStatus,
    Label,
    Viewer,
    default_table,
)

TABLE = default_table()
TRIGRAPHS = sorted(TABLE.trigraphs)
CODES = sorted(TABLE.codes)
LEVELS = [(None, UNCLASSIFIED)] + [(p, lv) for p, lvs in TABLE.levels.items() for lv in lvs]

rel_sets = st.frozensets(st.sampled_from(CODES), min_size=1, max_size=5)
categories = st.frozensets(
    st.builds(
        Category,
        st.sampled_from(["SIGINT", "OPERATION KUSUNOKI", "TACTICAL"]),
        st.sampled_from(list(CategoryType)),
        st.frozensets(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=2),
    ),
    max_size=2,
)


@st.composite
def labels(draw: st.DrawFn, *, with_categories: bool = False) -> Label:
    policy, level = draw(st.sampled_from(LEVELS))
    rel = draw(st.none() | rel_sets)
    noforn = draw(st.booleans())
    cats = draw(categories) if with_categories else frozenset()
    return Label(policy, level, rel, noforn, cats)


AT = date(2026, 6, 1)


@st.composite
def viewers(draw: st.DrawFn) -> Viewer:
    nation = draw(st.sampled_from(TRIGRAPHS))
    # mostly the viewer's own policy, sometimes a foreign one to exercise DENY_NO_EQUIVALENCE
    own = [nation] if nation in TABLE.levels else []
    policy = draw(st.sampled_from(own * 3 + list(TABLE.levels)))
    level = draw(st.sampled_from(["NONE", *TABLE.levels[policy]]))
    status = draw(st.sampled_from(list(ClearanceStatus)))
    expires = AT + timedelta(days=draw(st.integers(-3, 3)))
    tags = st.tuples(st.sampled_from(["SIGINT", "TACTICAL"]), st.sampled_from(["A", "B"]))
    held = draw(st.frozensets(tags, max_size=3))
    return Viewer(nation, Clearance(policy, level, status, expires), held)
