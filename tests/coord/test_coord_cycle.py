from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kizuna.coord import ALLOWED, IllegalTransitionError, Stage, Target, TargetCycle

TARGET = Target("T1", "tel", 900.0, 0.0, "us_mq9", "USA", "SECRET", 2, 0.0, None)
HAPPY = [
    Stage.NOMINATED, Stage.VETTED, Stage.PRIORITISED, Stage.ALLOCATED, Stage.APPROVED,
    Stage.TASKED, Stage.EXECUTED, Stage.ASSESSED, Stage.PRIORITISED, Stage.ALLOCATED,
    Stage.APPROVED, Stage.TASKED, Stage.EXECUTED, Stage.ASSESSED, Stage.DONE,
]  # fmt: skip


def test_a_re_attack_cycle_keeps_its_whole_history() -> None:
    rec = TargetCycle(TARGET)
    for i, stage in enumerate(HAPPY):
        rec.move(stage, float(i), "bcc", "BILATERAL", f"step {i}")
    assert [e.to for e in rec.history] == HAPPY
    assert rec.history[0].frm is None and rec.history[1].frm is Stage.NOMINATED
    assert rec.terminal
    assert rec.history[-1].to_json()["to"] == "done"


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([Stage.NOMINATED], Stage.EXECUTED),  # no executing an unvetted target
        ([Stage.NOMINATED, Stage.VETTED, Stage.PRIORITISED], Stage.TASKED),  # nor unapproved
        ([Stage.NOMINATED, Stage.REJECTED], Stage.VETTED),  # terminal is terminal
        ([], Stage.VETTED),
    ],
)
def test_illegal_transitions_raise(path: list[Stage], bad: Stage) -> None:
    rec = TargetCycle(TARGET)
    for i, stage in enumerate(path):
        rec.move(stage, float(i), "a", "USA", "r")
    with pytest.raises(IllegalTransitionError, match="not a legal transition"):
        rec.move(bad, 99.0, "a", "USA", "r")
    assert len(rec.history) == len(path)  # nothing recorded for the refused move


def test_time_never_runs_backwards() -> None:
    rec = TargetCycle(TARGET)
    rec.move(Stage.NOMINATED, 10.0, "a", "USA", "r")
    with pytest.raises(IllegalTransitionError, match="precedes"):
        rec.move(Stage.VETTED, 9.0, "a", "USA", "r")


def test_execution_is_reachable_only_through_approval() -> None:
    into = {s: {f for f, tos in ALLOWED.items() if s in tos} for s in Stage}
    assert into[Stage.EXECUTED] == {Stage.TASKED}
    assert into[Stage.TASKED] == {Stage.APPROVED}
    assert into[Stage.APPROVED] == {Stage.ALLOCATED}
    assert into[Stage.VETTED] == {Stage.NOMINATED}


@given(st.lists(st.sampled_from(list(Stage)), max_size=30))
def test_random_walks_follow_the_table(moves: list[Stage]) -> None:
    rec = TargetCycle(TARGET)
    for i, to in enumerate(moves):
        legal = to in ALLOWED[rec.stage]
        if legal:
            rec.move(to, float(i), "a", "USA", "r")
        else:
            with pytest.raises(IllegalTransitionError):
                rec.move(to, float(i), "a", "USA", "r")
    stages = [None, *(e.to for e in rec.history)]
    assert all(b in ALLOWED[a] for a, b in pairwise(stages))
