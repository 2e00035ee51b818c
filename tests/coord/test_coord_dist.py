from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.coord import Constant, LogNormal, Uniform, parse_distribution, parse_duration
from kizuna.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12s", 12.0), ("30m", 1800.0), ("2h", 7200.0), ("1.5d", 129600.0), (45, 45.0), ("0", 0.0)],
)
def test_durations_read_with_units(text: object, seconds: float) -> None:
    assert parse_duration(text, "f") == seconds


@pytest.mark.parametrize("bad", ["-5m", -1, "5 parsecs", "soon", True, None, float("inf")])
def test_bad_durations_name_the_field(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^edges\[0\]\.latency"):
        parse_duration(bad, "edges[0].latency")


def test_lognormal_hits_its_median_and_p90() -> None:
    d = parse_distribution({"median": "30m", "p90": "2h"}, "f")
    assert isinstance(d, LogNormal)
    z = np.array([0.0, 1.2815515655446004])
    assert np.allclose(d.from_normal(z), [1800.0, 7200.0])
    draws = np.array([d.sample(np.random.default_rng(s)) for s in range(4000)])
    assert abs(np.median(draws) / 1800.0 - 1) < 0.1
    assert abs(np.percentile(draws, 90) / 7200.0 - 1) < 0.15


def test_forms_and_degenerate_cases() -> None:
    assert parse_distribution({"constant": 0}, "f") == Constant(0.0)
    assert parse_distribution({"median": 0, "p90": 0}, "f") == Constant(0.0)
    assert parse_distribution({"min": "20m", "max": "60m"}, "f") == Uniform(1200.0, 3600.0)


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        (None, "missing"),
        ({"median": "2h", "p90": "30m"}, "median <= p90"),
        ({"median": "-1m", "p90": "30m"}, "negative"),
        ({"min": "1h", "max": "5m"}, "below min"),
        ({"mean": 3}, "unknown distribution keys"),
        ("5m", "expected a mapping"),
    ],
)
def test_bad_distributions_are_named(spec: object, where: str) -> None:
    with pytest.raises(ConfigError, match=where) as info:
        parse_distribution(spec, "approvals.JPN.latency")
    assert "approvals.JPN.latency" in str(info.value)


@given(st.floats(-6, 6), st.floats(-6, 6))
def test_every_family_is_monotone_and_non_negative(a: float, b: float) -> None:
    z = np.array(sorted([a, b]))
    for d in (LogNormal(300.0, 900.0), Uniform(1200.0, 3600.0), Constant(5.0)):
        x = d.from_normal(z)
        assert (x >= 0).all() and x[0] <= x[1]
