from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kizuna.clock import Clock, ManualClock, RealClock


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(RealClock(), Clock)
    assert isinstance(ManualClock(), Clock)
    assert RealClock().now().tzinfo is not None


def test_manual_clock_moves_only_forwards() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)
    clock = ManualClock(start)
    clock.advance(90)
    assert clock.now() == start + timedelta(seconds=90)
    assert clock.monotonic() == 90
    clock.set(start + timedelta(hours=1))
    assert clock.monotonic() == 3600
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="backwards"):
        clock.set(start)
    with pytest.raises(ValueError, match="timezone"):
        ManualClock(datetime(2026, 1, 1))
