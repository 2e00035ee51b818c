"""The per-target state machine: every transition is an event, illegal ones raise."""

from __future__ import annotations

from types import MappingProxyType

from kizuna.coord._model import TERMINAL, Event, IllegalTransitionError, Stage, Target

__all__ = ["ALLOWED", "TargetCycle"]

_S = Stage
ALLOWED: MappingProxyType[Stage | None, frozenset[Stage]] = MappingProxyType(
    {
        None: frozenset({_S.NOMINATED}),
        _S.NOMINATED: frozenset({_S.VETTED, _S.REJECTED}),
        _S.VETTED: frozenset({_S.PRIORITISED, _S.EXPIRED}),
        _S.PRIORITISED: frozenset({_S.ALLOCATED, _S.EXPIRED}),
        # back to PRIORITISED when a nation denies approval: the target is offered again
        _S.ALLOCATED: frozenset({_S.APPROVED, _S.PRIORITISED, _S.EXPIRED}),
        _S.APPROVED: frozenset({_S.TASKED, _S.EXPIRED}),
        _S.TASKED: frozenset({_S.EXECUTED, _S.EXPIRED}),
        _S.EXECUTED: frozenset({_S.ASSESSED}),
        _S.ASSESSED: frozenset({_S.DONE, _S.PRIORITISED, _S.EXPIRED}),
        _S.DONE: frozenset(),
        _S.REJECTED: frozenset(),
        _S.EXPIRED: frozenset(),
    }
)


class TargetCycle:
    """One target's path through the cycle, with its full history."""

    __slots__ = (
        "attempt",
        "destroyed",
        "excluded",
        "gates",
        "history",
        "priority",
        "shooter",
        "stage",
        "target",
    )

    def __init__(self, target: Target) -> None:
        self.target = target
        self.stage: Stage | None = None
        self.history: list[Event] = []
        self.attempt = 0  # engagements started (1 on the first allocation)
        self.shooter: str | None = None
        self.priority = 0.0
        self.destroyed = False
        self.excluded: set[str] = set()  # nations that denied approval for this target
        self.gates: list[tuple[str, bool, tuple[str, ...], float]] = []

    @property
    def terminal(self) -> bool:
        return self.stage in TERMINAL

    def move(self, to: Stage, t: float, actor: str, nation: str, reason: str) -> Event:
        if to not in ALLOWED[self.stage]:
            raise IllegalTransitionError(
                f"target {self.target.id}: {self.stage} -> {to} is not a legal transition"
            )
        if self.history and t < self.history[-1].t:
            raise IllegalTransitionError(
                f"target {self.target.id}: {to} at {t} precedes the last event "
                f"at {self.history[-1].t}"
            )
        event = Event(
            t, self.target.id, self.stage, to, actor, nation, reason, self.attempt, self.shooter
        )
        self.history.append(event)
        self.stage = to
        return event
