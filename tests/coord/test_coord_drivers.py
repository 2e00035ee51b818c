"""The cell under the drivers the project will use: a SimPy process and a Clock."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from typing import Any

import numpy as np
import simpy

from kizuna.clock import ManualClock
from kizuna.coord import (
    Architecture,
    CoordinationCell,
    FixedStock,
    Nomination,
    synthetic_nominations,
)
from tests.coord.helpers import run_cell


def _outcome(cell: CoordinationCell) -> list[tuple[str, str, float, str | None, int]]:
    return [(e.target, e.to.value, round(e.t, 6), e.shooter, e.attempt) for e in cell.history]


def test_a_simpy_process_drives_the_cell_to_the_same_history(
    shipped: dict[str, Architecture],
) -> None:
    arch = shipped["integrated+cfc"]
    reference = run_cell(arch, seed=11, targets=40, hours=3)
    noms = synthetic_nominations(arch, 40, np.random.default_rng([11, 1]), horizon_s=3 * 3600)
    cell = CoordinationCell(arch, rng=np.random.default_rng([11, 2]),
                            stock=FixedStock({}, default=50))  # fmt: skip
    env = simpy.Environment()
    wake: list[simpy.Event] = [env.event()]

    def sensors() -> Generator[simpy.Event, Any, None]:
        for n in noms:
            yield env.timeout(n.at - env.now)
            cell.step(env.now)
            cell.nominate(replace(n, at=env.now))  # the driver's time is the truth
            if not wake[0].triggered:
                wake[0].succeed()

    def coordination_cell() -> Generator[simpy.Event, Any, None]:
        while True:
            wake[0] = env.event()
            due = cell.next_due()
            waits = [wake[0]]
            if due is not None:
                waits.append(env.timeout(max(0.0, due - env.now)))
            yield env.any_of(waits)
            cell.step(env.now)

    env.process(sensors())
    env.process(coordination_cell())
    env.run()
    assert cell.next_due() is None
    assert _outcome(cell) == _outcome(reference)


def test_a_clock_drives_the_cell(shipped: dict[str, Architecture]) -> None:
    cell = CoordinationCell(shipped["parallel"], rng=np.random.default_rng(3),
                            stock=FixedStock({}, default=5))  # fmt: skip
    clock = ManualClock()
    cell.nominate(Nomination("A", "airfield", 1100.0, -50.0, "us_space_isr", clock.monotonic()))
    seen = []
    while cell.next_due() is not None:
        clock.advance(600.0)
        seen += cell.step_to(clock)
    assert cell.now == clock.monotonic()
    assert seen == cell.history[1:]
    assert cell.records["A"].terminal
