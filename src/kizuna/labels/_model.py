"""Label values: frozen, comparable, free of any policy table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

__all__ = [
    "UNCLASSIFIED",
    "Category",
    "CategoryType",
    "Clearance",
    "ClearanceStatus",
    "Decision",
    "Label",
    "Reason",
    "Viewer",
]

UNCLASSIFIED = "UNCLASSIFIED"


class Reason(StrEnum):
    DENY_MISSING_LABEL = "DENY_MISSING_LABEL"
    DENY_MALFORMED_LABEL = "DENY_MALFORMED_LABEL"
    DENY_UNSATISFIABLE_LABEL = "DENY_UNSATISFIABLE_LABEL"
    DENY_NOT_RELEASABLE = "DENY_NOT_RELEASABLE"
    DENY_CLEARANCE_REVOKED = "DENY_CLEARANCE_REVOKED"
    DENY_CLEARANCE_SUSPENDED = "DENY_CLEARANCE_SUSPENDED"
    DENY_CLEARANCE_EXPIRED = "DENY_CLEARANCE_EXPIRED"
    DENY_NO_EQUIVALENCE = "DENY_NO_EQUIVALENCE"
    DENY_INSUFFICIENT_CLEARANCE = "DENY_INSUFFICIENT_CLEARANCE"
    DENY_MISSING_CATEGORY = "DENY_MISSING_CATEGORY"
    DENY_MALFORMED_REQUEST = "DENY_MALFORMED_REQUEST"


@dataclass(frozen=True, slots=True)
class Decision:
    """PERMIT, or DENY with every reason; ``detail`` says which element, for a log line.

    ``detail`` is left out of equality, so a decision compares by its outcome and reasons.
    """

    permit: bool
    reasons: tuple[Reason, ...] = ()
    detail: str = field(default="", compare=False)

    @classmethod
    def allow(cls) -> Decision:
        return cls(True)

    @classmethod
    def deny(cls, *reasons: Reason, detail: str = "") -> Decision:
        if not reasons:
            raise ValueError("a denial needs at least one reason")
        return cls(False, tuple(sorted(set(reasons))), detail)

    def to_json(self) -> dict[str, object]:
        return {
            "decision": "PERMIT" if self.permit else "DENY",
            "reasons": [r.value for r in self.reasons],
        }


class CategoryType(StrEnum):
    """STANAG 4774 category semantics."""

    RESTRICTIVE = "RESTRICTIVE"  # the viewer must hold every value
    PERMISSIVE = "PERMISSIVE"  # the viewer must hold at least one value
    INFORMATIVE = "INFORMATIVE"  # no effect on access


@dataclass(frozen=True, slots=True, order=True)
class Category:
    tag: str
    type: CategoryType
    values: frozenset[str]

    def __post_init__(self) -> None:
        if not self.tag or not self.values:
            raise ValueError("a category needs a tag name and at least one value")


@dataclass(frozen=True, slots=True)
class Label:
    """A confidentiality label.

    ``policy`` is None only for UNCLASSIFIED. ``rel_to`` keeps the codes as written (FVEY is
    not expanded) and is None when the label has no REL TO block. ``categories`` holds STANAG
    4774 categories beyond REL TO and NOFORN, which have their own fields.
    """

    policy: str | None
    level: str
    rel_to: frozenset[str] | None = None
    noforn: bool = False
    categories: frozenset[Category] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if (self.policy is None) != (self.level == UNCLASSIFIED):
            raise ValueError("UNCLASSIFIED, and only UNCLASSIFIED, has no policy")

    @property
    def classified(self) -> bool:
        return self.policy is not None


class ClearanceStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Clearance:
    """POLICY:LEVEL with status and expiry; valid through the end of ``expires`` (UTC)."""

    policy: str
    level: str
    status: ClearanceStatus
    expires: date

    @property
    def code(self) -> str:
        return f"{self.policy}:{self.level}"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks to see an item. ``clearance`` is None when it is missing or malformed."""

    nation: str
    clearance: Clearance | None = None
    categories: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    # Viewers key the decision cache, so their hash is worked out once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.nation, self.clearance, self.categories)))

    def __hash__(self) -> int:
        return self._hash
