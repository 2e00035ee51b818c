"""The guard: a linear chain of small filters, each passing the work on or stopping it with a
reasoned verdict. Any exception in a filter is a denial: the guard never releases on an error
path, and an item is released only when every filter has passed it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import msgspec

from kizuna.gateway._envelope import Envelope
from kizuna.gateway._item import Item
from kizuna.gateway._rules import Rule
from kizuna.labels import Label, Reason
from kizuna.roadmap import Tier

__all__ = ["Filter", "Guard", "GuardReason", "Outcome", "Verdict", "Work"]


class Outcome(StrEnum):
    RELEASE = "RELEASE"  # outbound, as offered
    SANITISE = "SANITISE"  # outbound, after an originator's rule changed it
    HOLD = "HOLD"  # waits for a human of the originating nation
    DENY = "DENY"
    ACCEPT = "ACCEPT"  # inbound, stored with its origin


class GuardReason(StrEnum):
    HOLD_FOR_ORIGINATOR = "HOLD_FOR_ORIGINATOR"
    DENY_TOO_LARGE = "DENY_TOO_LARGE"
    DENY_PARSE = "DENY_PARSE"
    DENY_NOT_ORIGINATOR = "DENY_NOT_ORIGINATOR"
    DENY_NO_TIER = "DENY_NO_TIER"
    DENY_ABOVE_TIER = "DENY_ABOVE_TIER"
    DENY_CATEGORY_NOT_IN_TIER = "DENY_CATEGORY_NOT_IN_TIER"
    DENY_SANITISED_LABEL = "DENY_SANITISED_LABEL"
    DENY_NOT_CANONICAL = "DENY_NOT_CANONICAL"
    DENY_FILTER_ERROR = "DENY_FILTER_ERROR"
    DENY_REJECTED_BY_ORIGINATOR = "DENY_REJECTED_BY_ORIGINATOR"
    DENY_UNSIGNED = "DENY_UNSIGNED"
    DENY_BAD_SIGNATURE = "DENY_BAD_SIGNATURE"
    DENY_UNKNOWN_SENDER = "DENY_UNKNOWN_SENDER"
    DENY_WRONG_RECEIVER = "DENY_WRONG_RECEIVER"
    DENY_REPLAY = "DENY_REPLAY"
    DENY_STALE = "DENY_STALE"
    DENY_OVER_LABEL = "DENY_OVER_LABEL"
    DENY_ENVELOPE_MISMATCH = "DENY_ENVELOPE_MISMATCH"  # signed metadata not what we derive


AnyReason = GuardReason | Reason


class Work(msgspec.Struct, frozen=True):
    """What flows down the chain; each filter returns a new one. A frozen msgspec struct
    rather than a frozen dataclass: a guard makes several per item, and this one is built
    in C (a frozen dataclass pays a Python-level ``object.__setattr__`` per field)."""

    raw: bytes
    partner: str
    tier: Tier | None
    at: datetime
    envelope: Envelope | None = None
    item: Item | None = None
    label: Label | None = None
    rule: Rule | None = None
    sanitised: bool = False
    approved: bool = False  # a human of the originator released a hold
    out: bytes = b""
    label_source: str = "publisher"  # outbound: whether the node set the label by default

    # msgspec.structs.replace is generic; the guard's hot path uses these instead.
    def with_item(self, item: Item) -> Work:
        return Work(self.raw, self.partner, self.tier, self.at, self.envelope, item,
                    self.label, self.rule, self.sanitised, self.approved, self.out,
                    self.label_source)  # fmt: skip

    def with_label(self, label: Label) -> Work:
        return Work(self.raw, self.partner, self.tier, self.at, self.envelope, self.item,
                    label, self.rule, self.sanitised, self.approved, self.out,
                    self.label_source)  # fmt: skip

    def with_rule(self, rule: Rule, item: Item, *, sanitised: bool) -> Work:
        return Work(self.raw, self.partner, self.tier, self.at, self.envelope, item,
                    self.label, rule, sanitised, self.approved, self.out,
                    self.label_source)  # fmt: skip

    def with_out(self, out: bytes) -> Work:
        return Work(self.raw, self.partner, self.tier, self.at, self.envelope, self.item,
                    self.label, self.rule, self.sanitised, self.approved, out,
                    self.label_source)  # fmt: skip

    def with_envelope(self, envelope: Envelope) -> Work:
        return Work(envelope.item, self.partner, self.tier, self.at, envelope, self.item,
                    self.label, self.rule, self.sanitised, self.approved, self.out,
                    self.label_source)  # fmt: skip


class Verdict(msgspec.Struct, frozen=True):
    """The guard's answer for one item: a frozen msgspec struct, made once per item judged."""

    outcome: Outcome
    reasons: tuple[AnyReason, ...]
    stage: str
    work: Work
    error: str = ""

    @property
    def released(self) -> bool:
        return self.outcome in (Outcome.RELEASE, Outcome.SANITISE, Outcome.ACCEPT)

    @classmethod
    def deny(cls, stage: str, work: Work, *reasons: AnyReason, error: str = "") -> Verdict:
        return cls(Outcome.DENY, tuple(sorted(set(reasons))), stage, work, error)


class Filter(Protocol):
    name: str

    def __call__(self, work: Work, /) -> Work | Verdict: ...


class Guard:
    """Runs its filters in order; ``done`` is the outcome when all of them pass."""

    def __init__(self, filters: Sequence[Filter], *, done: Outcome = Outcome.RELEASE) -> None:
        if not filters:
            raise ValueError("a guard needs at least one filter")
        self.filters = tuple(filters)
        self._done = done

    def run(self, work: Work) -> Verdict:
        for f in self.filters:
            try:
                step: object = f(work)
            except Exception as exc:  # fail closed: a fault in a filter is a denial
                return Verdict.deny(f.name, work, GuardReason.DENY_FILTER_ERROR, error=repr(exc))
            if isinstance(step, Verdict):
                return step
            if not isinstance(step, Work):
                return Verdict.deny(
                    f.name, work, GuardReason.DENY_FILTER_ERROR, error="filter returned nothing"
                )
            work = step
        if not work.out or work.item is None:
            return Verdict.deny("guard", work, GuardReason.DENY_NOT_CANONICAL)
        outcome = self._done
        if work.sanitised and outcome is Outcome.RELEASE:
            outcome = Outcome.SANITISE
        return Verdict(outcome, (), "done", work)
