"""The gateway service: holds, tier changes, the durable outbound queue, checkpoints and the
ledger, with real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.bus import subject
from kizuna.errors import KizunaError, StoreError
from kizuna.gateway import GatewayDb, GuardReason, Ledger, Outcome, verify_log
from kizuna.labels import Reason
from kizuna.roadmap import Tier
from tests.gateway.conftest import RING, Pair, deliver, item, make_side, raw


async def test_a_held_item_waits_for_a_human_then_flows(pair: Pair) -> None:
    usa = pair.usa.gw
    usa.set_tier("JPN", Tier.T3, "test")
    plan, other = raw(item("plan-1", category="plan")), raw(item("plan-2", category="plan"))
    verdicts = await usa.offer([plan, other], "JPN")
    assert [v.outcome for v in verdicts] == [Outcome.HOLD, Outcome.HOLD]
    assert await deliver(pair.usa, pair.jpn, "JPN") == []
    first, second = usa.holds()
    assert (first.uid, first.rule, first.state) == ("plan-1", "USA-PLAN-HOLD", "held")
    v = await usa.approve(first.id, by="usa-officer")
    assert v.outcome is Outcome.RELEASE
    rejected = usa.reject(second.id, by="usa-officer")
    assert rejected.reasons == (GuardReason.DENY_REJECTED_BY_ORIGINATOR,)
    assert usa.holds() == []
    assert [r.uid for r in pair.jpn.gw.received()] == []
    await deliver(pair.usa, pair.jpn, "JPN")
    assert [r.uid for r in pair.jpn.gw.received()] == ["plan-1"]
    with pytest.raises(KizunaError, match="no such item"):
        await usa.approve(first.id, by="again")
    events = [usa.audit.entry(i).event for i in range(len(usa.audit))]
    assert events == ["tier", "tier", "outbound", "outbound", "approve", "reject"]
    assert usa.audit.entry(0).detail == "none -> T2: at start"
    out = usa.ledger.total("out", "JPN")
    assert (out.offered, out.held, out.released, out.denied) == (2, 2, 1, 1)


async def test_an_approved_hold_is_judged_under_the_tier_of_the_moment(pair: Pair) -> None:
    usa = pair.usa.gw
    usa.set_tier("JPN", Tier.T3)
    await usa.offer([raw(item("plan-1", category="plan"))], "JPN")
    usa.set_tier("JPN", Tier.T2, "assessment lowered")
    (h,) = usa.holds()
    v = await usa.approve(h.id, by="officer")
    assert v.outcome is Outcome.DENY and GuardReason.DENY_CATEGORY_NOT_IN_TIER in v.reasons
    settled = pair.usa.db.get_hold(h.id)
    assert settled is not None and settled.state == "denied"


async def test_a_tier_change_applies_to_the_next_item_and_is_audited(pair: Pair) -> None:
    usa = pair.usa.gw
    secret = raw(item("s1"))
    assert (await usa.offer([secret], "JPN"))[0].released
    assert usa.set_tier("JPN", Tier.T1, "patch currency fell below T2")
    assert not usa.set_tier("JPN", Tier.T1)  # no change, no entry
    (v,) = await usa.offer([raw(item("s2"))], "JPN")
    assert v.outcome is Outcome.DENY and Reason.DENY_INSUFFICIENT_CLEARANCE in v.reasons
    tier = usa.audit.entry(2)
    assert (tier.event, tier.outcome) == ("tier", "T1")
    assert tier.detail == "T2 -> T1: patch currency fell below T2"


async def test_outbound_items_queue_durably_and_flow_in_order_once(
    pair: Pair, tmp_path: Path
) -> None:
    db, bus = tmp_path / "usa.db", tmp_path / "usa-bus.db"
    side = make_side("USA", "JPN", Tier.T2, pair.clock, db, bus)
    items = [raw(item(f"t{i}", lat=10.0 + i)) for i in range(20)]
    await side.gw.offer(items[:12], "JPN")
    sub = await side.bus.subscribe(subject("out", "JPN"), durable="link-JPN")
    first = await sub.fetch(5)
    for m in first[:3]:  # the partner took three, then went away before acking the rest
        assert pair.jpn.gw.receive(m.data, "USA").released
        await m.ack()
    pair.jpn.gw.receive(first[3].data, "USA")  # received, but the ack was lost
    await side.bus.close()
    side.db.close()

    side = make_side("USA", "JPN", Tier.T2, pair.clock, db, bus)  # restarted
    await side.gw.offer(items[12:] + items[:2], "JPN")  # two re-offered by mistake
    verdicts = await deliver(side, pair.jpn, "JPN")
    assert [v.outcome for v in verdicts].count(Outcome.DENY) == 1  # the lost-ack redelivery
    assert verdicts[0].reasons == (GuardReason.DENY_REPLAY,)
    uids = [r.uid for r in pair.jpn.gw.received()]
    assert uids == [f"t{i}" for i in range(20)]
    assert len(side.gw.audit) == 1 + 22  # the tier at start, then every offer
    assert [side.gw.audit.entry(i).event for i in range(len(side.gw.audit))].count("tier") == 1
    await side.bus.close()
    side.db.close()


async def test_nothing_is_published_when_the_audit_cannot_be_made_durable(pair: Pair) -> None:
    pair.usa.db.close()
    with pytest.raises(StoreError):
        await pair.usa.gw.offer([raw(item("a"))], "JPN")
    sub = await pair.usa.bus.subscribe(subject("out", "JPN"), durable="probe")
    assert await sub.fetch(10) == []
    pair.usa.db = GatewayDb()  # let the fixture close something


async def test_checkpoints_are_countersigned_and_both_copies_verify_the_log(
    pair: Pair, tmp_path: Path
) -> None:
    usa, jpn = pair.usa.gw, pair.jpn.gw
    await usa.offer([raw(item(f"c{i}")) for i in range(7)], "JPN")
    cp, proof, _ = usa.checkpoint()
    usa.keep(jpn.witness(cp, proof))
    await usa.offer([raw(item(f"d{i}")) for i in range(5)], "JPN")
    cp2, proof2, last = usa.checkpoint()
    assert last == 8  # the tier at start and seven offers
    usa.keep(jpn.witness(cp2, proof2))
    both = pair.usa.db.checkpoints("USA") + pair.jpn.db.checkpoints("USA")
    assert verify_log("USA", pair.usa.db.rows(), both, RING).ok
    only_partner = pair.jpn.db.checkpoints("USA")
    rows = pair.usa.db.rows()[:10]  # the origin's copy cut back
    report = verify_log("USA", rows, only_partner, RING)
    assert (report.ok, report.first_bad) == (False, 10)
    with pytest.raises(KizunaError, match="countersignature"):
        usa.keep(cp2)


async def test_the_ledger_is_the_audit_log_folded(pair: Pair) -> None:
    usa, jpn = pair.usa.gw, pair.jpn.gw
    labels = ["SECRET//REL TO USA, JPN", "SECRET//NOFORN", "UNCLASSIFIED", "TOP SECRET"]
    await usa.offer([raw(item(f"l{i}", label=lb)) for i, lb in enumerate(labels)], "JPN")
    await usa.offer([raw(item("sens", category="sensor"))], "JPN")
    await deliver(pair.usa, pair.jpn, "JPN")
    await jpn.offer([raw(item("j", origin="JPN", label="JPN HI//REL TO JPN, USA"))], "USA")
    await deliver(pair.jpn, pair.usa, "USA")
    bal = usa.ledger.balance("JPN")
    out, inn = bal["out"], bal["in"]
    assert out["offered"] == 5 and out["released"] == 3 and out["sanitised"] == 1  # type: ignore[index]
    assert out["denied"] == 2 and inn["released"] == 1  # type: ignore[index]
    assert bal["balance"] == 2 and bal["ratio_out_to_in"] == 3.0
    rebuilt = Ledger.of(usa.audit.entry(i) for i in range(len(usa.audit)))
    assert rebuilt.to_json() == usa.ledger.to_json()
    assert jpn.ledger.balance("USA")["ratio_out_to_in"] == pytest.approx(1 / 3)
