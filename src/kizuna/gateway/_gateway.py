"""The gateway service: guard, audit, hold queue, tiers and the bus, wired together.

Every decision is appended to the audit log and the log is made durable before anything it
records is acted on (published, stored, settled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from kizuna.bus import Bus, subject
from kizuna.clock import Clock
from kizuna.errors import KizunaError
from kizuna.gateway._audit import AuditLog, Checkpoint, Statement
from kizuna.gateway._db import GatewayDb, HeldItem, Received, TierState
from kizuna.gateway._envelope import Meta, peek_msg_id, seal_batch
from kizuna.gateway._guard import GuardReason, Outcome, Verdict, Work
from kizuna.gateway._item import DEFAULT, PUBLISHER, ItemCodec
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._ledger import Ledger
from kizuna.gateway._pipelines import inbound_guard, outbound_guard
from kizuna.gateway._rules import RuleSet
from kizuna.gateway._verify import countersign
from kizuna.labels import Decider
from kizuna.roadmap import Tier, TierRule

__all__ = ["Gateway", "GatewayConfig", "feed_cursor"]


def feed_cursor(partner: str) -> str:
    """The name of the cursor that records how far the node feed was offered to a partner."""
    return f"out:{partner}"


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """What a gateway is told at start. ``tiers`` are what the file or the assessments give
    each partner: a proposal, never a raise (see :class:`Gateway`)."""

    nation: str
    tiers: Mapping[str, Tier]  # the tier the file or the assessments give each partner
    max_bytes: int = 64 * 1024
    replay_window: timedelta = timedelta(days=1)
    partner_max_rank: int = 3


def _note(what: str, note: str) -> str:
    return f"{what}: {note}" if note else what


class Gateway:
    """The gateway service.

    The tier in force for a partner is durable state in the database. One an operator set
    (:meth:`set_tier`) outranks the file and the assessments until it is cleared
    (:meth:`clear_tier`). Otherwise a start takes the lower of what the configuration gives
    and what was last in force, so a restart may lower a tier but never raise one."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        signer: Signer,
        ring: KeyRing,
        db: GatewayDb,
        bus: Bus,
        codec: ItemCodec,
        tier_rules: Mapping[Tier, TierRule],
        rules: RuleSet,
        clock: Clock,
        decider: Decider | None = None,
    ) -> None:
        self.nation = config.nation
        self._proposed = dict(config.tiers)
        self._tiers: dict[str, Tier] = {}
        self._signer, self._ring, self._db, self._bus = signer, ring, db, bus
        self._clock = clock
        self.codec = codec
        self._rules = rules
        decider = decider or Decider()
        self.audit = AuditLog(config.nation, db, db.rows())
        self.ledger = Ledger()
        self._pending: set[str] = set()  # accepted in the run being judged, not yet stored
        self._outbox_done = 0  # outbox rows up to this id are on the bus: forget them next
        # The stored answer for the ids a run's envelopes name, asked once for the run; an id
        # not in it (an envelope that did not name one we could read) is looked up alone.
        self._known: dict[str, bool] = {}
        self._stamp: tuple[datetime | None, str] = (None, "")  # the last judging time, as text
        recorded: dict[str, str] = {}
        for i in range(len(self.audit)):
            e = self.audit.entry(i)
            self.ledger.add(e)
            if e.event == "tier":
                recorded[e.partner] = e.outcome
        self.outbound = outbound_guard(
            config.nation, codec, decider, tier_rules, rules, max_bytes=config.max_bytes,
            partner_max_rank=config.partner_max_rank,
        )  # fmt: skip
        self.inbound = inbound_guard(
            config.nation, codec, decider, ring.verify, self._seen,
            max_bytes=config.max_bytes * 3 // 2, window=config.replay_window,
            partner_max_rank=config.partner_max_rank,
        )  # fmt: skip
        self._start_tiers(db.tier_states(), recorded)

    def _start_tiers(self, states: Mapping[str, TierState], recorded: Mapping[str, str]) -> None:
        """Put the tier in force at start on record, for every configured partner."""
        for partner, proposed in self._proposed.items():
            state = states.get(partner)
            # A database from before tiers were kept has only the audit to say what was last
            # in force.
            last_name = state.tier if state is not None else recorded.get(partner)
            last = Tier.__members__.get(last_name or "")
            if state is not None and state.pinned and last is not None:
                tier, why = last, f"at start: operator setting {last.name} kept"
            elif last is not None and last < proposed:
                tier, why = last, f"at start: configured {proposed.name} not applied"
            else:
                tier, why = proposed, "at start"
            self._tiers[partner] = tier
            if recorded.get(partner) != tier.name or state is None or last is not tier:
                new = state if state is not None and state.pinned else None
                new = new or TierState(partner, tier.name, False, self._now(), "", why)
                self._audit_tier(new, f"{last_name or 'none'} -> {tier.name}: {why}")

    def _now(self) -> str:
        return self._clock.now().isoformat()

    def tier(self, partner: str) -> Tier | None:
        return self._tiers.get(partner)

    def configured_tier(self, partner: str) -> Tier | None:
        """What the file or the assessments give ``partner``, whatever is in force."""
        return self._proposed.get(partner)

    def tier_pinned(self, partner: str) -> bool:
        """Whether an operator's setting decides ``partner``'s tier."""
        state = self._db.tier_states().get(partner)
        return bool(state and state.pinned)

    def _record(self, event: str, v: Verdict, detail: str = "", by: str = "") -> int:
        w, item = v.work, v.work.item
        data = w.out or w.raw
        if w.at is not self._stamp[0]:  # a batch is judged at one time: write it once
            self._stamp = (w.at, w.at.isoformat())
        entry = self.audit.append(
            self._stamp[1], event, w.partner,
            item.uid if item else (w.envelope.msg_id if w.envelope else ""),
            v.outcome.value, reasons=tuple(r.value for r in v.reasons) if v.reasons else (),
            label=item.label if item else "", category=item.category if item else "",
            digest=sha256(data).hexdigest(),
            detail=detail or (f"{v.stage}: {v.error}" if v.error else v.stage), operator=by,
        )  # fmt: skip
        self.ledger.add(entry)
        return entry.seq

    # -- outbound --------------------------------------------------------------------------

    async def offer(
        self,
        raws: Sequence[bytes],
        partner: str,
        *,
        defaulted: Sequence[bool] = (),
        cursor: int | None = None,
    ) -> list[Verdict]:
        """Judge a batch for one partner; audit it durably; publish what may leave.

        ``defaulted[i]``: the node gave item i its default label (the publisher set none);
        the rules decide what such an item gets (the shipped ones hold it for the
        originator). Missing entries are False. ``cursor``: the node-feed sequence number
        of the batch's last record, kept for the partner in the same commit as the batch's
        audit rows, so a restart resumes after it and judges nothing twice."""
        at = self._clock.now()
        tier = self._tiers.get(partner)
        verdicts, out = [], []
        for i, raw in enumerate(raws):
            source = DEFAULT if i < len(defaulted) and defaulted[i] else PUBLISHER
            v = self.outbound.run(Work(raw, partner, tier, at, label_source=source))
            detail = ""
            if v.outcome is Outcome.HOLD:
                rule = v.work.rule.id if v.work.rule else ""
                uid = v.work.item.uid if v.work.item else ""
                hold_id = self._db.hold(partner, uid, raw, rule, at.isoformat())
                detail = f"hold {hold_id} by rule {rule}"
            seq = self._record("outbound", v, detail)
            verdicts.append(v)
            if v.released:
                out.append((seq, v))
        also = self._seal(partner, out)
        if cursor is not None:
            also.append(GatewayDb.cursor_statement(feed_cursor(partner), cursor))
        await self._commit(also)
        return verdicts

    def cursor(self, partner: str) -> int:
        """The node-feed sequence number up to which items were judged for ``partner``."""
        return self._db.cursor(feed_cursor(partner))

    def _seal(self, partner: str, released: Sequence[tuple[int, Verdict]]) -> list[Statement]:
        """Seal what was released as one batch, with the metadata the guard derived for each
        item; the writes that put the envelopes in the outbox, for the audit's commit."""
        if not released:
            return []
        items, meta = [], []
        for seq, v in released:
            data, item = v.work.out, v.work.item
            assert item is not None  # a released verdict has its item
            items.append((f"{self.nation}-{partner}-{sha256(data).hexdigest()[:32]}", seq, data))
            meta.append(Meta(item.origin, item.category, item.label_source))
        sealed = seal_batch(
            self._signer, receiver=partner, sent_at=self._now(), items=items, meta=meta
        )
        return GatewayDb.outbox_statements(
            subject("out", partner), [(env.msg_id, env.encode()) for env in sealed]
        )

    async def _commit(self, also: list[Statement]) -> None:
        """Make the audit entries durable with the state they record (envelopes released,
        cursors, holds settled) in one commit, then hand the outbox to the bus.

        The bus is another file, so no one commit covers both: envelopes wait in the outbox
        until the bus holds them, and whatever a crash left there is published at the next
        start. The bus keeps each message id once, so publishing one again changes nothing;
        forgetting what the bus took rides the next commit instead of costing one."""
        if self._outbox_done:
            also.append(GatewayDb.outbox_done(self._outbox_done))
            self._outbox_done = 0
        self.audit.flush(also=also)
        await self.drain_outbox()

    async def drain_outbox(self) -> int:
        """Publish what waits in the outbox (at start: what a crash left); how many the bus
        did not already hold."""
        waiting = self._db.outbox()
        if not waiting:
            return 0
        by_subject: dict[str, list[tuple[bytes, str]]] = {}
        for _, subj, msg_id, data in waiting:
            by_subject.setdefault(subj, []).append((data, msg_id))
        fresh = 0
        for subj, messages in by_subject.items():
            acks = await self._bus.publish_many(subj, messages)
            fresh += sum(not a.duplicate for a in acks)
        self._outbox_done = waiting[-1][0]
        return fresh

    def _configured(self, partner: str) -> Tier:
        tier = self._tiers.get(partner)
        if tier is None:
            raise KizunaError(f"partner {partner!r} is not configured")
        return tier

    def set_tier(self, partner: str, tier: Tier, why: str = "", by: str = "") -> bool:
        """An operator sets ``partner``'s tier: it takes effect for the next item, is
        audited with ``by`` (the authenticated operator) and outranks the file and the
        assessments, across restarts, until cleared. False when nothing changed."""
        before = self._configured(partner)
        if before is tier and self.tier_pinned(partner):
            return False
        self._tiers[partner] = tier
        state = TierState(partner, tier.name, True, self._now(), by, why)
        self._audit_tier(state, f"{before.name} -> {tier.name}: {why}", by)
        return before is not tier

    def clear_tier(self, partner: str, why: str = "", by: str = "") -> bool:
        """An operator hands ``partner``'s tier back to the file and the assessments (which
        may raise it: an operator asked). False when no operator setting was in force."""
        before = self._configured(partner)
        if not self.tier_pinned(partner):
            return False
        tier = self._proposed[partner]
        self._tiers[partner] = tier
        state = TierState(partner, tier.name, False, self._now(), by, why)
        self._audit_tier(state, f"{before.name} -> {tier.name}: cleared: {why}", by)
        return True

    def _audit_tier(self, state: TierState, detail: str, by: str = "") -> None:
        """The entry and the state it records are committed together."""
        self.audit.append(
            self._now(), "tier", state.partner, "", state.tier, detail=detail, operator=by
        )
        self.audit.flush(also=[state.statement()])

    def audit_operator(self, event: str, outcome: str, by: str, detail: str = "") -> None:
        """Put an operator's action that is not a decision on an item (a checkpoint asked
        for) on the record, with who asked."""
        self.audit.append(self._now(), event, "", "", outcome, detail=detail, operator=by)
        self.audit.flush()

    # -- holds -----------------------------------------------------------------------------

    def holds(self) -> list[HeldItem]:
        return self._db.holds()

    def _held(self, hold_id: int) -> HeldItem:
        h = self._db.get_hold(hold_id)
        if h is None or h.state != "held":
            raise KizunaError(f"hold {hold_id}: no such item waiting")
        return h

    async def approve(self, hold_id: int, by: str, note: str = "") -> Verdict:
        """A human of the originator (``by``, the authenticated operator) releases a held
        item: it passes every other filter again, under the partner's tier as it is now."""
        h = self._held(hold_id)
        # the hold queue keeps the bytes and the rule: a rule for defaulted labels held it
        # because its label was the node's default, which the envelope must still say
        source = next(
            (r.label_source for r in self._rules.rules if r.id == h.rule and r.label_source),
            PUBLISHER,
        )
        at = self._clock.now()
        work = Work(h.data, h.partner, self._tiers.get(h.partner), at, approved=True,
                    label_source=source)  # fmt: skip
        v = self.outbound.run(work)
        seq = self._record("approve", v, _note(f"hold {hold_id} approved", note), by)
        also = self._seal(h.partner, [(seq, v)] if v.released else [])
        also.append(GatewayDb.settle_statement(hold_id, "released" if v.released else "denied"))
        await self._commit(also)
        return v

    def reject(self, hold_id: int, by: str, note: str = "") -> Verdict:
        """A human of the originator (``by``) refuses a held item for good."""
        h = self._held(hold_id)
        work = Work(h.data, h.partner, self._tiers.get(h.partner), self._clock.now())
        v = Verdict.deny("originator", work, GuardReason.DENY_REJECTED_BY_ORIGINATOR)
        self._record("reject", v, _note(f"hold {hold_id} rejected", note), by)
        self.audit.flush()
        self._db.settle(hold_id, "rejected")
        return v

    # -- inbound ---------------------------------------------------------------------------

    def receive(self, data: bytes, partner: str) -> Verdict:
        """Judge what a partner sent; store it with its origin only if every check passes."""
        return self.receive_batch([data], partner)[0]

    def receive_batch(self, datas: Sequence[bytes], partner: str) -> list[Verdict]:
        """Judge a run of partner messages in order; audit every verdict and store what
        passed, with its origin, in one commit. A message id met twice in the run is a
        replay, as it would be across runs."""
        at = self._clock.now()
        stamp = at.isoformat()  # a run is received at one time
        tier = self._tiers.get(partner)
        verdicts, accepted = [], []
        try:
            self._prefetch_seen(datas)
            for data in datas:
                v = self.inbound.run(Work(data, partner, tier, at))
                self._record("inbound", v)
                verdicts.append(v)
                if v.released and v.work.envelope is not None and v.work.item is not None:
                    env, item = v.work.envelope, v.work.item
                    self._pending.add(env.msg_id)
                    accepted.append(
                        Received(env.msg_id, item.origin, item.uid, item.label, v.work.out, stamp)
                    )
            self.audit.flush(also=GatewayDb.accept_statements(accepted))
        finally:  # what this run knew or held back about ids is of no use to the next
            self._pending.clear()
            self._known = {}
        return verdicts

    def _prefetch_seen(self, datas: Sequence[bytes]) -> None:
        """Ask the store once about every id the run's envelopes name. The ids are only
        read here, not trusted: the guard opens and checks each envelope as ever, and asks
        about the id it finds there."""
        ids = [i for i in map(peek_msg_id, datas) if i]
        if ids:
            seen = self._db.seen_among(ids)
            self._known = {i: i in seen for i in ids}

    def _seen(self, msg_id: str) -> bool:
        if msg_id in self._pending:
            return True
        known = self._known.get(msg_id)
        return self._db.seen(msg_id) if known is None else known

    def refuse_frame(self, why: str, *, too_large: bool, partner: str) -> None:
        """An authenticated partner's connection broke the framing (an oversized or cut
        frame): on the record, as that partner's. (What fails before authentication is the
        link's to count: it names no partner.)"""
        work = Work(b"", partner, None, self._clock.now())
        reason = GuardReason.DENY_TOO_LARGE if too_large else GuardReason.DENY_PARSE
        v = Verdict.deny("frame", work, reason, error=why)
        self._record("inbound", v)
        self.audit.flush()

    def received(self) -> list[Received]:
        return self._db.received()

    # -- checkpoints -----------------------------------------------------------------------

    def checkpoint(self) -> tuple[Checkpoint, list[bytes], int]:
        """Sign the current tree head; with the consistency proof from the last checkpoint
        the partner countersigned."""
        held = [c for c in self._db.checkpoints(self.nation) if c.cosigner]
        last = held[-1].size if held else 0
        cp = self.audit.checkpoint(self._signer, self._now())
        proof = self.audit.consistency_proof(last, cp.size) if 0 < last <= cp.size else []
        return cp, proof, last

    def witness(self, cp: Checkpoint, proof: Sequence[bytes]) -> Checkpoint:
        """Countersign a partner's checkpoint after checking it extends what we hold."""
        held = [c for c in self._db.checkpoints(cp.log_id) if c.cosigner == self._signer.name]
        try:
            signed = countersign(cp, proof, held[-1] if held else None, self._ring, self._signer)
        except KizunaError as exc:
            if cp.signature_ok(self._ring):  # the partner's own claim: a refusal on record
                self.audit.append(
                    self._now(), "checkpoint", cp.log_id, f"{cp.log_id}/{cp.size}", "DENY",
                    reasons=("DENY_INCONSISTENT_CHECKPOINT",), detail=str(exc),
                )  # fmt: skip
                self.audit.flush()
            raise
        self._db.save_checkpoint(signed)
        return signed

    def keep(self, cp: Checkpoint) -> None:
        """Keep our checkpoint as the partner countersigned it."""
        if cp.log_id != self.nation or not cp.cosignature_ok(self._ring):
            raise KizunaError(f"checkpoint {cp.log_id}/{cp.size}: countersignature does not verify")
        self._db.save_checkpoint(cp)
