"""Small sustainment model documents, for hand-checkable cases."""

from __future__ import annotations

from typing import Any

from kizuna.sustain import DAYS_PER_MONTH

Doc = dict[str, Any]


def base_doc() -> Doc:
    """One factory yard feeding one forward depot; one type; a line with a component."""
    return {
        "munitions": [
            {"id": "M1", "owner": "USA", "unit_cost_usd": 1e6, "source": "test"},
            {"id": "M2", "owner": "JPN", "unit_cost_usd": 2e6, "source": "test"},
        ],
        "depots": [
            {
                "id": "rear",
                "nation": "USA",
                "lat": 0,
                "lon": 0,
                "capacity": None,
                "stock": {},
                "source": "test",
            },
            {
                "id": "front",
                "nation": "USA",
                "lat": 1,
                "lon": 1,
                "capacity": 1000,
                "stock": {"M1": 10},
                "source": "test",
            },
            {
                "id": "jpn",
                "nation": "JPN",
                "lat": 2,
                "lon": 2,
                "capacity": 500,
                "stock": {"M1": 4, "M2": 7},
                "source": "test",
            },
        ],
        "links": [],
        "suppliers": [
            {"id": "s1", "nation": "USA", "source": "test"},
            {"id": "s2", "nation": "USA", "source": "test"},
            {"id": "s3", "nation": "JPN", "source": "test"},
        ],
        "components": [
            {"id": "chem", "suppliers": ["s3"], "source": "test"},
            {"id": "motor", "suppliers": ["s1", "s2"], "inputs": ["chem"], "source": "test"},
            {"id": "seeker", "suppliers": ["s1"], "source": "test"},
        ],
        "lines": [],
    }


def one_per_day_line(**over: Any) -> Doc:
    """A line making exactly one round a day at the front (rate = days per month)."""
    line: Doc = {
        "id": "L1", "nation": "USA", "munition": "M1", "depot": "front",
        "rate_per_month": DAYS_PER_MONTH, "source": "test",
    }  # fmt: skip
    line.update(over)
    return line
