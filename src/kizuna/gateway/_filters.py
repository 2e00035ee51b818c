"""The guard's filters, outbound and inbound. Each is small, pure and says why it stopped.

Originator control, the rule both guards apply alike: an item may carry only its originating
nation's own marking (or UNCLASSIFIED), because only the originator's classification
authority may classify under its policy. A marking under another nation's policy is not
something our guard can vouch for, so the sending guard refuses it with the very reason the
receiver would give (``DENY_OVER_LABEL``) instead of letting it cross to be refused there;
a rule that relabels an item is held to the same check. NOFORN likewise means "no foreign
release" whoever marked it: an item marked NOFORN never crosses, in either direction, even
an UNCLASSIFIED//NOFORN that the policy table reads as its unclassified home's (USA's) when
another nation marked it.
Whatever the outbound guard releases, the partner's inbound guard (same table, default
``partner_max_rank``) accepts; what it would refuse, the sender refuses first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

import msgspec

from kizuna.cot import CategoryTable, default_categories
from kizuna.errors import ParseError
from kizuna.gateway._envelope import HeadCheck, open_envelope
from kizuna.gateway._guard import GuardReason, Outcome, Verdict, Work
from kizuna.gateway._item import LABEL_SOURCES, Item, ItemCodec
from kizuna.gateway._rules import Action, RuleSet
from kizuna.labels import (
    Clearance,
    ClearanceStatus,
    Decider,
    Label,
    PolicyTable,
    Reason,
    Viewer,
    parse_banner,
    rank,
    releasable_to,
)
from kizuna.roadmap import Tier, TierRule

__all__ = [
    "CheckLabel",
    "OpenEnvelope",
    "Originator",
    "OriginatorControl",
    "OverLabel",
    "Parse",
    "Releasable",
    "Replay",
    "Reserialise",
    "Sanitise",
    "SizeLimit",
    "TierAllows",
    "over_label",
    "top_viewer",
]

G = GuardReason


def top_viewer(nation: str, max_rank: int, table: PolicyTable) -> Viewer:
    """The most cleared viewer of ``nation`` that a rank allows: the partner as the guard
    sees it. A nation with no policy of its own holds no clearance."""
    levels = table.levels.get(nation)
    if levels is None:
        return Viewer(nation)
    level = "NONE"
    for row in table.rows[: max(max_rank, 0)]:
        level = row.get(nation, level)
    return Viewer(nation, Clearance(nation, level, ClearanceStatus.ACTIVE, date.max))


class SizeLimit:
    name = "size"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def __call__(self, w: Work) -> Work | Verdict:
        if len(w.raw) > self.max_bytes:
            return Verdict.deny(self.name, w, G.DENY_TOO_LARGE)
        return w


class Parse:
    name = "parse"

    def __init__(self, codec: ItemCodec) -> None:
        self.codec = codec

    def __call__(self, w: Work) -> Work | Verdict:
        try:
            item = self.codec.decode(w.raw)
        except ParseError as exc:
            return Verdict.deny(self.name, w, G.DENY_PARSE, error=str(exc))
        return w.with_item(item)


def _stamped(item: Item, origin: str, category: str, label_source: str) -> Item:
    if (item.origin, item.category, item.label_source) == (origin, category, label_source):
        return item
    return msgspec.structs.replace(
        item, origin=origin, category=category, label_source=label_source
    )


class Originator:
    """The item's metadata, derived by us and set on it: nothing the item says is used.

    Outbound (``nation`` set): the item is ours (the node feed offers only our nation's
    records; an item that says otherwise, as a JSON item can, is refused); its category is
    its CoT type's; its label source is what the node told us. Inbound (``nation`` None):
    the origin is the signed envelope's sender, the category its CoT type's, the label
    source the envelope's; the envelope's own statement of each must agree."""

    name = "originator"

    def __init__(self, nation: str | None, categories: CategoryTable | None = None) -> None:
        self.nation = nation
        self.categories = categories or default_categories()

    def __call__(self, w: Work) -> Work | Verdict:
        item = w.item
        assert item is not None
        category = self.categories.of(item.type)
        if self.nation is not None:
            if item.origin != self.nation:
                return Verdict.deny(self.name, w, G.DENY_NOT_ORIGINATOR)
            stamped = _stamped(item, self.nation, category, w.label_source)
            return w if stamped is item else w.with_item(stamped)
        env = w.envelope
        if env is None:
            return Verdict.deny(self.name, w, G.DENY_ENVELOPE_MISMATCH, error="no envelope")
        if env.origin != env.sender:
            return Verdict.deny(self.name, w, G.DENY_NOT_ORIGINATOR)
        if env.category != category or env.label_source not in LABEL_SOURCES:
            return Verdict.deny(
                self.name, w, G.DENY_ENVELOPE_MISMATCH,
                error=f"envelope says {env.category!r}/{env.label_source!r}, item is {category!r}",
            )  # fmt: skip
        return w.with_item(_stamped(item, env.sender, category, env.label_source))


def over_label(
    label: Label, origin: str, max_rank: int, table: PolicyTable
) -> tuple[GuardReason | Reason, ...]:
    """Originator control (see the module's docstring): why ``origin`` may not send an item
    so marked, or () when it may. ``DENY_OVER_LABEL``: the marking is another nation's, or
    above what a partner may send (``max_rank``). ``DENY_NOT_RELEASABLE``: an UNCLASSIFIED
    //NOFORN of an originator the table does not read it for (the table reads it as its
    unclassified home's); other NOFORN markings ``decide`` refuses itself."""
    if label.policy not in (None, origin) or rank(label, table) > max_rank:
        return (G.DENY_OVER_LABEL,)
    if label.noforn and origin != table.home(label.policy):
        return (Reason.DENY_NOT_RELEASABLE,)
    return ()


class OriginatorControl:
    """Outbound: the receiver's over-label rule, applied before the item leaves."""

    name = "over-label"

    def __init__(self, nation: str, table: PolicyTable, max_rank: int = 3) -> None:
        self.nation = nation
        self.table = table
        self.max_rank = max_rank

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.label is not None
        why = over_label(w.label, self.nation, self.max_rank, self.table)
        return Verdict.deny(self.name, w, *why) if why else w


class CheckLabel:
    name = "label"

    def __init__(self, table: PolicyTable) -> None:
        self.table = table
        self._seen: dict[str, Label | tuple[Reason, str]] = {}  # banners are few: parse once

    def _judge(self, banner: str) -> Label | tuple[Reason, str]:
        if not banner.strip():
            return Reason.DENY_MISSING_LABEL, ""
        try:
            label = parse_banner(banner, self.table)
        except ParseError as exc:
            return Reason.DENY_MALFORMED_LABEL, str(exc)
        if releasable_to(label, self.table) == frozenset():
            return Reason.DENY_UNSATISFIABLE_LABEL, ""
        return label

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.item is not None
        banner = w.item.label
        got = self._seen.get(banner)
        if got is None:
            got = self._judge(banner)
            if len(self._seen) >= 4096:
                self._seen.clear()
            self._seen[banner] = got
        if isinstance(got, Label):
            return w.with_label(got)
        return Verdict.deny(self.name, w, got[0], error=got[1])


class Releasable:
    """labels.decide with the partner as the most cleared viewer its tier allows."""

    name = "releasable"

    def __init__(self, decider: Decider, tiers: Mapping[Tier, TierRule]) -> None:
        self.decider = decider
        self.tiers = tiers
        self._viewers: dict[tuple[str, int], Viewer] = {}

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.label is not None
        if w.tier is None:
            return Verdict.deny(self.name, w, G.DENY_NO_TIER)
        key = (w.partner, self.tiers[w.tier].max_rank)
        viewer = self._viewers.get(key)
        if viewer is None:
            viewer = self._viewers[key] = top_viewer(*key, self.decider.table)
        decision = self.decider.decide(w.label, viewer, w.at)
        if not decision.permit:
            return Verdict.deny(self.name, w, *decision.reasons)
        return w


class TierAllows:
    name = "tier"

    def __init__(self, tiers: Mapping[Tier, TierRule], table: PolicyTable) -> None:
        self.tiers = tiers
        self.table = table

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.item is not None and w.label is not None
        if w.tier is None:
            return Verdict.deny(self.name, w, G.DENY_NO_TIER)
        rule = self.tiers[w.tier]
        reasons = []
        if rank(w.label, self.table) > rule.max_rank:
            reasons.append(G.DENY_ABOVE_TIER)
        if "*" not in rule.categories and w.item.category not in rule.categories:
            reasons.append(G.DENY_CATEGORY_NOT_IN_TIER)
        return Verdict.deny(self.name, w, *reasons) if reasons else w


class Sanitise:
    """The originator's rules; a relabelled item must pass the label checks again."""

    name = "sanitise"

    def __init__(
        self,
        rules: RuleSet,
        recheck: tuple[CheckLabel, OriginatorControl, Releasable, TierAllows],
    ) -> None:
        self.rules = rules
        self.recheck = recheck

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.item is not None
        if w.tier is None:
            return Verdict.deny(self.name, w, G.DENY_NO_TIER)
        rule = self.rules.first(w.item, w.partner, w.tier)
        if rule is None:
            return w
        if rule.action is Action.HOLD and not w.approved:
            held = w.with_rule(rule, w.item, sanitised=False)
            return Verdict(Outcome.HOLD, (G.HOLD_FOR_ORIGINATOR,), self.name, held)
        if rule.action is Action.HOLD:
            return w.with_rule(rule, w.item, sanitised=False)
        out = w.with_rule(rule, rule.apply(w.item, w.partner), sanitised=True)
        for check in self.recheck:
            step = check(out)
            if isinstance(step, Verdict):
                return Verdict.deny(self.name, out, G.DENY_SANITISED_LABEL, *step.reasons)
            out = step
        return out


class Reserialise:
    """Only bytes the guard wrote itself leave, and they must read back as the same item."""

    name = "canonical"

    def __init__(self, codec: ItemCodec) -> None:
        self.codec = codec

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.item is not None
        out = self.codec.encode(w.item)
        if out == w.raw and not w.sanitised:
            return w.with_out(out)  # the item was parsed from exactly these bytes
        back, it = self.codec.decode(out), w.item
        # the metadata is ours, not the bytes': the rest must read back exactly
        if _stamped(back, it.origin, it.category, it.label_source) != it:
            return Verdict.deny(self.name, w, G.DENY_NOT_CANONICAL)
        return w.with_out(out)


class OpenEnvelope:
    """Inbound: a well-formed envelope, from the partner, to us, signed by the partner's key."""

    name = "envelope"

    def __init__(self, us: str, verify: Callable[[str, bytes, bytes], bool]) -> None:
        self.us = us
        self.check = HeadCheck(verify)

    def __call__(self, w: Work) -> Work | Verdict:
        try:
            env = open_envelope(w.raw)
        except ParseError as exc:
            return Verdict.deny(self.name, w, G.DENY_PARSE, error=str(exc))
        if env.sender != w.partner:
            return Verdict.deny(self.name, w, G.DENY_UNKNOWN_SENDER)
        if env.receiver != self.us:
            return Verdict.deny(self.name, w, G.DENY_WRONG_RECEIVER)
        if not env.signature:
            return Verdict.deny(self.name, w, G.DENY_UNSIGNED)
        if not self.check(env):
            return Verdict.deny(self.name, w, G.DENY_BAD_SIGNATURE)
        return w.with_envelope(env)


class Replay:
    """Inbound: each message id once, and only within a time window of its sending."""

    name = "replay"

    def __init__(self, seen: Callable[[str], bool], window: timedelta) -> None:
        self.seen = seen
        self.window = window

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.envelope is not None
        if self.seen(w.envelope.msg_id):
            return Verdict.deny(self.name, w, G.DENY_REPLAY)
        try:
            sent = datetime.fromisoformat(w.envelope.sent_at)
            skew = abs(w.at - sent)
        except (ValueError, TypeError):
            return Verdict.deny(self.name, w, G.DENY_STALE, error="sent_at is not a UTC time")
        if skew > self.window:
            return Verdict.deny(self.name, w, G.DENY_STALE)
        return w


class OverLabel:
    """Inbound: the label must be one the partner may originate, and releasable to us."""

    name = "over-label"

    def __init__(self, us: Viewer, decider: Decider, max_rank: int) -> None:
        self.us = us
        self.decider = decider
        self.max_rank = max_rank

    def __call__(self, w: Work) -> Work | Verdict:
        assert w.label is not None
        why = over_label(w.label, w.partner, self.max_rank, self.decider.table)
        if why:
            return Verdict.deny(self.name, w, *why)
        decision = self.decider.decide(w.label, self.us, w.at)
        if not decision.permit:
            return Verdict.deny(self.name, w, *decision.reasons)
        return w
