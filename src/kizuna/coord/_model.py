"""Values of the coordination cell: stages, node and edge kinds, targets, events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kizuna.coord._dist import Distribution
from kizuna.errors import KizunaError

__all__ = [
    "EdgeKind",
    "Event",
    "IllegalTransitionError",
    "NodeKind",
    "Nomination",
    "Stage",
    "Target",
    "TargetType",
]


class Stage(StrEnum):
    """Where a target stands in the joint targeting cycle."""

    NOMINATED = "nominated"
    VETTED = "vetted"
    PRIORITISED = "prioritised"
    ALLOCATED = "allocated"
    APPROVED = "approved"
    TASKED = "tasked"
    EXECUTED = "executed"
    ASSESSED = "assessed"
    DONE = "done"
    REJECTED = "rejected"
    EXPIRED = "expired"


TERMINAL = frozenset({Stage.DONE, Stage.REJECTED, Stage.EXPIRED})


class NodeKind(StrEnum):
    NATIONAL_AUTHORITY = "national_authority"  # cabinet / NSC: national approval
    JOINT_HQ = "joint_hq"  # JJOC, US joint force HQ in Japan
    COMBATANT_COMMAND = "combatant_command"  # INDOPACOM
    BILATERAL_CELL = "bilateral_cell"  # ACM liaison or a standing collocated cell
    COMBINED_COMMAND = "combined_command"  # CFC Korea
    SENSOR = "sensor"
    SHOOTER = "shooter"


class EdgeKind(StrEnum):
    COMMAND = "command"  # directed, commander -> subordinate; the only path for tasking
    COORDINATION = "coordination"  # liaison, VTC or a collocated cell; both ways
    DATA = "data"  # sensor feeds, shared picture; both ways


@dataclass(frozen=True, slots=True)
class TargetType:
    id: str
    value: float
    cde_tier: int
    military_objective: bool = True
    dwell: Distribution | None = None  # time-sensitive when set

    @property
    def time_sensitive(self) -> bool:
        return self.dwell is not None


@dataclass(frozen=True, slots=True)
class Nomination:
    """What a nominating sensor or analyst hands the cell."""

    target_id: str
    type: str
    x_km: float
    y_km: float
    sensor: str
    at: float
    label: str | None = None  # banner; None takes the sensor's default label
    cde_tier: int | None = None  # None takes the target type's default


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    type: str
    x_km: float
    y_km: float
    nominated_by: str
    nation: str
    label: str
    cde_tier: int
    nominated_at: float
    window_end: float | None  # end of the dwell window of a time-sensitive target

    @property
    def time_sensitive(self) -> bool:
        return self.window_end is not None


@dataclass(frozen=True, slots=True)
class Event:
    """One transition of one target: when, who, for which nation, and why."""

    t: float
    target: str
    frm: Stage | None
    to: Stage
    actor: str
    nation: str
    reason: str
    attempt: int = 0
    shooter: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "t": self.t,
            "target": self.target,
            "from": None if self.frm is None else self.frm.value,
            "to": self.to.value,
            "actor": self.actor,
            "nation": self.nation,
            "reason": self.reason,
            "attempt": self.attempt,
            "shooter": self.shooter,
        }


class IllegalTransitionError(KizunaError):
    """A transition the targeting cycle does not allow (a bug in the driver, not a denial)."""
