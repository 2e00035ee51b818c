"""Release decisions per second: Kizuna in process vs cedarpy on the same mix, and the batch CLI.

Prints one JSON line. The mix is realistic: a few dozen labels in circulation and a few hundred
viewers, so labels repeat and parsing is cached; Cedar gets the same cases with its policies,
schema and entities pre-parsed once (handles reused), so only evaluation is timed on both sides.
"""

from __future__ import annotations

import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cedarpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.labels.cedar_oracle import AT, POLICIES, SCHEMA, cedar_inputs  # noqa: E402

from kizuna.labels import Decider, Viewer, viewer_from_mapping  # noqa: E402

LABELS = [
    "UNCLASSIFIED",
    "UNCLASSIFIED//NOFORN",
    "UNCLASSIFIED//REL TO USA, JPN",
    "CONFIDENTIAL//REL TO USA, JPN",
    "SECRET//REL TO USA, JPN",
    "SECRET//REL TO USA, FVEY",
    "SECRET//REL TO USA, JPN, FVEY",
    "SECRET//NOFORN",
    "SECRET",
    "TOP SECRET//REL TO USA, JPN",
    "TOP SECRET//NOFORN",
    "JPN HI//REL TO JPN, USA",
    "JPN GOKUHI//REL TO JPN, USA",
    "JPN GOKUHI",
    "JPN KIMITSU//REL TO JPN, USA",
    "JPN KIMITSU",
    "SECRET//REL TO USA, JPN, KOR",
    "CONFIDENTIAL//REL TO USA, JPN, AUS",
    "secret//rel to usa",
    "SECRET//REL TO JPN",
]


def make_viewers(rng: random.Random, n: int) -> list[dict[str, object]]:
    out = []
    for _ in range(n):
        nation = rng.choice(["USA", "USA", "JPN", "JPN", "GBR", "AUS", "KOR"])
        policy = nation if nation in ("USA", "JPN") else "USA"
        levels = {
            "USA": ["NONE", "CONFIDENTIAL", "SECRET", "TOP SECRET"],
            "JPN": ["NONE", "HI", "GOKUHI", "KIMITSU"],
        }[policy]
        out.append(
            {
                "nation": nation,
                "clearance": f"{policy}:{rng.choice(levels)}",
                "expires": rng.choice(["2026-05-31", "2027-03-31", "2028-12-31"]),
                "status": rng.choice(["active"] * 8 + ["suspended", "revoked"]),
            }
        )
    return out


def kizuna_rate(cases: list[tuple[str, Viewer]], decider: Decider, rounds: int) -> float:
    decide = decider.decide
    at = AT
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for label, viewer in cases:
            decide(label, viewer, at)
        best = max(best, len(cases) / (time.perf_counter() - t0))
    return best


def cedar_rate(cases: list[tuple[str, dict[str, object]]]) -> float:
    entities, requests = cedar_inputs(list(cases), AT)
    policies = cedarpy.PolicySet.from_str(POLICIES) if hasattr(cedarpy, "PolicySet") else POLICIES
    schema = cedarpy.Schema.from_str(SCHEMA) if hasattr(cedarpy, "Schema") else SCHEMA
    ents = cedarpy.Entities.from_json_str(json.dumps(entities))
    t0 = time.perf_counter()
    cedarpy.is_authorized_batch(requests, policies, ents, schema)
    return len(requests) / (time.perf_counter() - t0)


def batch_cli_rate(cases: list[tuple[str, dict[str, object]]], lines: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.jsonl"
        with path.open("w") as f:
            for i in range(lines):
                label, viewer = cases[i % len(cases)]
                f.write(json.dumps({"id": i, "label": label, "viewer": viewer}) + "\n")
        exe = [
            sys.executable,
            "-m",
            "kizuna.cli",
            "labels",
            "decide",
            "--batch",
            str(path),
            "--at",
            AT.isoformat(),
        ]
        t0 = time.perf_counter()
        with Path(os.devnull).open("wb") as sink:
            subprocess.run(exe, stdout=sink, check=True)
        return lines / (time.perf_counter() - t0)


def main() -> None:
    rng = random.Random(7)
    raw_viewers = make_viewers(rng, 300)
    raw_cases = [(rng.choice(LABELS), rng.choice(raw_viewers)) for _ in range(200_000)]
    parsed = {id(v): viewer_from_mapping(v) for v in raw_viewers}
    cases = [(lb, parsed[id(v)]) for lb, v in raw_cases]
    assert all(v is not None for _, v in cases)
    typed = [(lb, v) for lb, v in cases if v is not None]
    cached = kizuna_rate(typed, Decider(), 5)
    uncached = kizuna_rate(typed, Decider(cache_decisions=False), 3)
    cedar = cedar_rate(raw_cases[:20_000])
    cli = batch_cli_rate(raw_cases, 500_000)
    print(
        json.dumps(
            {
                "bench": "labels_decide",
                "kizuna_per_s": round(cached),
                "kizuna_label_cache_only_per_s": round(uncached),
                "cedarpy_per_s": round(cedar),
                "ratio": round(cached / cedar, 1),
                "ratio_label_cache_only": round(uncached / cedar, 1),
                "batch_cli_lines_per_s": round(cli),
                "targets": {
                    "kizuna_per_s": 1_000_000,
                    "ratio": 50,
                    "batch_cli_lines_per_s": 200_000,
                },
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
