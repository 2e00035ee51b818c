"""The SPIF-driven label engine beside today's table-driven one, in one run (issue 23).

Prints one JSON line. Inputs are diverse: every label and every viewer in a timed loop is
different from every other, so no cache can answer; the table engine is timed through
``decide()`` (no Decider, so nothing is remembered) and the SPIF engine through ``access()``.
The batch figure times ``BatchDecider.decide`` whole (validation and array building included)
and its array step alone.
"""

from __future__ import annotations

import itertools
import json
import platform
import random
import sys
import time
from datetime import UTC, date, datetime
from importlib import resources

from kizuna.labels import (
    BatchDecider,
    CategoryType,
    Clearance,
    ClearanceStatus,
    Label,
    PolicyLabel,
    SpifClearance,
    Viewer,
    access,
    decide,
    default_table,
    parse_spif,
    read_4774,
    shipped_policies,
    shipped_policy,
    validate,
)

AT = datetime(2026, 12, 8, tzinfo=UTC)
PERM, RESTR = CategoryType.PERMISSIVE, CategoryType.RESTRICTIVE
USA_LEVELS = ["CONFIDENTIAL", "SECRET", "TOP SECRET"]
CODES = ["USA", "JPN", "AUS", "CAN", "GBR", "NZL", "KOR", "PHL", "FVEY"]
NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
EXCLUDED_AT_RESTRICTED = {"EAPC", "ISAF", "RESOLUTE SUPPORT"}


def best(fn: object, rounds: int = 5) -> float:
    """Best wall time of ``rounds`` calls of fn()."""
    assert callable(fn)
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def distinct_subsets(rng: random.Random, items: list[str], n: int) -> list[frozenset[str]]:
    seen: set[frozenset[str]] = set()
    out = []
    while len(out) < n:
        s = frozenset(x for x in items if rng.random() < 0.5) | {"USA"}
        if s not in seen or len(seen) >= 2 ** (len(items) - 1):
            seen.add(s)
            out.append(s)
    return out


def table_cases(rng: random.Random, n: int) -> list[tuple[Label, Viewer]]:
    """Today's engine: each label distinct (level, REL TO, NOFORN), each viewer distinct."""
    labels = list(
        itertools.islice(
            (
                Label("USA", lv, rel, nf)
                for rel in distinct_subsets(rng, CODES, 256)
                for lv in USA_LEVELS
                for nf in (False, True)
            ),
            n,
        )
    )
    rng.shuffle(labels)
    viewers = [
        Viewer(
            rng.choice(["USA", "JPN", "GBR"]),
            Clearance(
                "USA",
                rng.choice(USA_LEVELS),
                ClearanceStatus.ACTIVE,
                date(2027, 1, 1 + i % 28).replace(year=2027 + i // 28),
            ),
        )
        for i in range(n)
    ]
    return list(zip(labels, viewers, strict=True))


def spif_cases(rng: random.Random, n: int) -> list[tuple[PolicyLabel, SpifClearance]]:
    """The SPIF engine on the same shapes: distinct labels, distinct clearances."""
    usa = shipped_policy("usa.xml")
    names = [c.name for c in usa.classifications]
    labels = [
        PolicyLabel(
            usa.id,
            lv,
            frozenset({("Releasable To", PERM, c) for c in rel})
            | ({("Dissemination", RESTR, "NOFORN")} if nf else set()),
        )
        for rel in distinct_subsets(rng, CODES, 256)
        for lv in USA_LEVELS
        for nf in (False, True)
    ][:n]
    rng.shuffle(labels)
    seen: set[SpifClearance] = set()
    clearances: list[SpifClearance] = []
    while len(clearances) < n:
        c = SpifClearance(
            usa.id,
            frozenset(x for x in names if rng.random() < 0.6),
            frozenset(("Releasable To", PERM, x) for x in CODES if rng.random() < 0.3)
            | ({("Dissemination", RESTR, "NOFORN")} if rng.random() < 0.5 else set()),
        )
        if c not in seen:
            seen.add(c)
            clearances.append(c)
    return list(zip(labels, clearances, strict=True))


def nato_labels(rng: random.Random, n: int) -> list[str]:
    nato = shipped_policy("nato.xml")
    rel = nato.tag_set("Releasable To")
    assert rel is not None
    values = [v.name for v in rel.tags[0].values]
    out = set()
    while len(out) < n:
        chosen = [v for v in values if rng.random() < 0.3] or ["USA"]
        if rng.random() < 0.9:  # most labels in circulation are valid: drop the excluded
            chosen = [v for v in chosen if v not in EXCLUDED_AT_RESTRICTED] or ["USA"]
        body = "".join(f"<GenericValue>{v}</GenericValue>" for v in chosen)
        out.add(
            f'<originatorConfidentialityLabel xmlns="{NS}"><ConfidentialityInformation>'
            '<PolicyIdentifier URI="urn:oid:1.3.26.1.3.1">NATO</PolicyIdentifier>'
            "<Classification>RESTRICTED</Classification>"
            '<Category TagName="Context" Type="PERMISSIVE"><GenericValue>NATO</GenericValue>'
            "</Category>"
            f'<Category TagName="Releasable To" Type="PERMISSIVE">{body}</Category>'
            "</ConfidentialityInformation></originatorConfidentialityLabel>"
        )
    return sorted(out)


def main() -> None:
    rng = random.Random(23)
    n = 1500
    table = default_table()
    policies = shipped_policies()
    tcases = table_cases(rng, n)
    scases = spif_cases(rng, n)

    def run_table() -> None:
        for label, viewer in tcases:
            decide(label, viewer, AT, table)

    def run_spif() -> None:
        for label, clearance in scases:
            access(label, clearance, policies)

    # interleave the two so that machine noise falls on both alike
    t_table = t_spif = float("inf")
    for _ in range(7):
        t_table = min(t_table, best(run_table, 1))
        t_spif = min(t_spif, best(run_spif, 1))

    usa = shipped_policy("usa.xml")
    batch = BatchDecider(usa)
    labels = [lb for lb, _ in scases]
    clearances = [c for _, c in scases][:1000]
    pairs = len(labels) * len(clearances)
    t_batch = best(lambda: batch.decide(labels, clearances), 3)
    compiled_l = batch.compile_labels(labels)
    compiled_c = batch.compile_clearances(clearances)
    t_arrays = best(lambda: batch.decide_arrays(compiled_l, compiled_c), 3)

    raw = resources.files("kizuna.labels").joinpath("data/spif/nato.xml").read_bytes()
    t_load = best(lambda: parse_spif(raw, "nato.xml"), 10)

    texts = nato_labels(rng, 3000)  # about one in ten breaks the policy
    nato = shipped_policy("nato.xml")

    def run_4774() -> None:
        for text in texts:
            validate(read_4774(text, policies), nato)

    t_4774 = best(run_4774, 7)
    print(
        json.dumps(
            {
                "bench": "labels_spif",
                "python": platform.python_version(),
                "machine": platform.machine(),
                "diverse_pairs": n,
                "table_decide_us": round(t_table / n * 1e6, 3),
                "spif_access_us": round(t_spif / n * 1e6, 3),
                "spif_vs_table": round(t_spif / t_table, 3),
                "batch_pairs": pairs,
                "batch_decisions_per_s": round(pairs / t_batch),
                "batch_array_step_decisions_per_s": round(pairs / t_arrays),
                "nato_spif_bytes": len(raw),
                "nato_spif_load_ms": round(t_load * 1e3, 3),
                "s4774_labels": len(texts),
                "s4774_parse_validate_per_s": round(len(texts) / t_4774),
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
