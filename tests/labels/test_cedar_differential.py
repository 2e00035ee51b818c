"""Differential test: Kizuna's decide() against the independent Cedar encoding."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import cedarpy
import pytest

from kizuna.labels import Reason, decide

from .cedar_oracle import AT, CLASSES, CODES, POLICIES, POLICY_IDS, SCHEMA, cedar_inputs


def random_label(rng: random.Random) -> object:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([None, "", "  ", 7, ["SECRET"]])
    blocks = [rng.choice(list(CLASSES))]
    if rng.random() < 0.6:
        codes = rng.sample(CODES, rng.randint(1, 4))
        if rng.random() < 0.5:  # the alliance's usual marking, so that permits are common
            codes = rng.sample(["USA", "JPN", *rng.sample(CODES, 1)], 3)
        if rng.random() < 0.1:
            codes.append(codes[0])
        blocks.append("REL TO " + ", ".join(codes))
    if rng.random() < 0.25:
        blocks.append("NOFORN")
    head, tail = blocks[0], blocks[1:]
    rng.shuffle(tail)
    text = "//".join([head, *tail])
    if roll > 0.85:  # damage it
        damage = rng.choice(
            [
                lambda s: s.lower(),
                lambda s: s.replace(", ", ","),
                lambda s: s + "//NOFORN",
                lambda s: s.replace("//", " // "),
                lambda s: "\u00a0" + s,
                lambda s: s + "\x00",
                lambda s: s.replace("REL TO", "REL  TO"),
                lambda s: s + "//REL TO XYZ",
                lambda s: " \t" + s + "\n",
                lambda s: s.replace("E", "\u0415", 1),
            ]
        )
        text = damage(text)
    return text


def random_viewer(rng: random.Random) -> object:
    if rng.random() < 0.02:
        return rng.choice([None, "JPN", [], {"nation": 5}])
    nation = rng.choice(["USA", "JPN", "JPN", "USA", "GBR", "KOR", "AUS", "XYZ", "jpn"])
    policy = (
        nation
        if nation in ("USA", "JPN") and rng.random() < 0.8
        else rng.choice(["USA", "JPN", "KOR"])
    )
    levels = {
        "USA": ["NONE", "CONFIDENTIAL", "SECRET", "TOP SECRET"],
        "JPN": ["NONE", "HI", "GOKUHI", "KIMITSU"],
        "KOR": ["SECRET"],
    }[policy]
    viewer: dict[str, object] = {
        "nation": nation,
        "clearance": f"{policy}:{rng.choice(levels)}",
        "expires": (AT.date() + timedelta(days=rng.randint(-2, 2))).isoformat(),
        "status": rng.choice(["active"] * 6 + ["suspended", "revoked", "ACTIVE"]),
    }
    if rng.random() < 0.05:
        viewer.pop(rng.choice(["clearance", "expires", "status"]))
    if rng.random() < 0.03:
        viewer["expires"] = rng.choice(
            ["2026-02-30", "soon", "2026/06/01", "20260601", "2026-W23-1"]
        )
    return viewer


@pytest.mark.parametrize("seed", range(4))
def test_kizuna_and_cedar_agree_on_random_cases(seed: int) -> None:
    rng = random.Random(seed)
    cases = [(random_label(rng), random_viewer(rng)) for _ in range(500)]
    entities, requests = cedar_inputs(cases, AT)
    results = cedarpy.is_authorized_batch(requests, POLICIES, json.dumps(entities), SCHEMA)
    mismatches = []
    for (label, viewer), result in zip(cases, results, strict=True):
        ours = decide(label, viewer, AT)
        assert not result.diagnostics.errors, result.diagnostics.errors
        cedar_reasons = sorted(
            {POLICY_IDS.get(r, r) for r in result.diagnostics.reasons} - {"PERMIT"}
        )
        cedar_permit = result.decision == cedarpy.Decision.Allow
        if (ours.permit, [r.value for r in ours.reasons]) != (cedar_permit, cedar_reasons):
            mismatches.append((label, viewer, ours, cedar_reasons))
    assert not mismatches, mismatches[:5]
    # the random cases exercise permits and every reason the banner grammar can produce
    decisions = [decide(lb, v, AT) for lb, v in cases]
    assert sum(d.permit for d in decisions) >= 20
    seen = {r for d in decisions for r in d.reasons}
    assert seen == set(Reason) - {Reason.DENY_MISSING_CATEGORY}
