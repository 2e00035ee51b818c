"""The two guards, assembled from filters in the order the design fixes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

from kizuna.cot import CategoryTable
from kizuna.gateway._filters import (
    CheckLabel,
    OpenEnvelope,
    Originator,
    OriginatorControl,
    OverLabel,
    Parse,
    Releasable,
    Replay,
    Reserialise,
    Sanitise,
    SizeLimit,
    TierAllows,
)
from kizuna.gateway._guard import Guard, Outcome
from kizuna.gateway._item import ItemCodec
from kizuna.gateway._rules import RuleSet
from kizuna.labels import Clearance, ClearanceStatus, Decider, Viewer
from kizuna.roadmap import Tier, TierRule

__all__ = ["inbound_guard", "outbound_guard"]


def outbound_guard(
    nation: str,
    codec: ItemCodec,
    decider: Decider,
    tiers: Mapping[Tier, TierRule],
    rules: RuleSet,
    *,
    max_bytes: int = 64 * 1024,
    partner_max_rank: int = 3,
    categories: CategoryTable | None = None,
) -> Guard:
    """size → strict parse → originator (our metadata) → label → over-label (originator
    control, as the partner's inbound guard with ``partner_max_rank`` applies it) →
    releasable → tier → sanitise → canonical."""
    table = decider.table
    label, releasable = CheckLabel(table), Releasable(decider, tiers)
    control = OriginatorControl(nation, table, partner_max_rank)
    tier = TierAllows(tiers, table)
    return Guard(
        [
            SizeLimit(max_bytes),
            Parse(codec),
            Originator(nation, categories),
            label,
            control,
            releasable,
            tier,
            Sanitise(rules, (label, control, releasable, tier)),
            Reserialise(codec),
        ]
    )


def _top_clearance(nation: str, decider: Decider) -> Viewer:
    levels = decider.table.levels.get(nation)
    if not levels:
        return Viewer(nation)
    return Viewer(nation, Clearance(nation, levels[-1], ClearanceStatus.ACTIVE, date.max))


def inbound_guard(
    nation: str,
    codec: ItemCodec,
    decider: Decider,
    verify: Callable[[str, bytes, bytes], bool],
    seen: Callable[[str], bool],
    *,
    max_bytes: int = 96 * 1024,
    window: timedelta = timedelta(days=1),
    partner_max_rank: int = 3,
    categories: CategoryTable | None = None,
) -> Guard:
    """size → envelope and signature → replay → strict parse → origin (the sender's; the
    envelope's metadata checked against what we derive) → label → over-label and
    releasable to us → canonical."""
    return Guard(
        [
            SizeLimit(max_bytes),
            OpenEnvelope(nation, verify),
            Replay(seen, window),
            Parse(codec),
            Originator(None, categories),
            CheckLabel(decider.table),
            OverLabel(_top_clearance(nation, decider), decider, partner_max_rank),
            Reserialise(codec),
        ],
        done=Outcome.ACCEPT,
    )
