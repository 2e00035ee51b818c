"""Bad partner messages are rejected with a reason, audited and counted, never stored."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from kizuna.gateway import GuardReason, Item, Outcome, Signer, seal
from kizuna.labels import Reason
from kizuna.roadmap import Tier
from tests.gateway.conftest import SIGNERS, T0, Pair, item, make_side, meta, raw

G = GuardReason


def env(
    it: Item | bytes,
    *,
    msg_id: str = "m1",
    signer: Signer | None = None,
    receiver: str = "USA",
    sent_at: str = T0.isoformat(),
) -> bytes:
    data = it if isinstance(it, bytes) else raw(it)
    signer = signer or SIGNERS["JPN"]
    # what the sender signs about the item: its origin as the item states it (a gateway
    # stating another origin than its own is refused), the category of its type
    m = meta(it) if isinstance(it, Item) else meta(JPN_ITEM)
    return seal(
        signer,
        msg_id=msg_id,
        receiver=receiver,
        sent_at=sent_at,
        audit_seq=0,
        item=data,
        meta=m,
    ).encode()


JPN_ITEM = item("j1", origin="JPN", label="JPN GOKUHI//REL TO JPN, USA")


def _unsigned() -> bytes:
    e = seal(SIGNERS["JPN"], msg_id="m", receiver="USA", sent_at=T0.isoformat(),
             audit_seq=0, item=raw(JPN_ITEM), meta=meta(JPN_ITEM))  # fmt: skip
    return msgspec.structs.replace(e, signature=b"").encode()


def _tampered() -> bytes:
    e = seal(SIGNERS["JPN"], msg_id="m", receiver="USA", sent_at=T0.isoformat(),
             audit_seq=0, item=raw(JPN_ITEM), meta=meta(JPN_ITEM))  # fmt: skip
    return msgspec.structs.replace(
        e, item=raw(msgspec.structs.replace(JPN_ITEM, lat=10.0))
    ).encode()


BAD = [
    ("garbage", b"\x00\xffnot an envelope", G.DENY_PARSE),
    ("unknown-field", b'{"msg_id":"m","x":1}', G.DENY_PARSE),
    ("too-large", b"{" + b" " * 200_000 + b"}", G.DENY_TOO_LARGE),
    ("unsigned", _unsigned(), G.DENY_UNSIGNED),
    ("wrong-key", env(JPN_ITEM, signer=Signer.generate("JPN")), G.DENY_BAD_SIGNATURE),
    ("tampered", _tampered(), G.DENY_BAD_SIGNATURE),
    ("other-sender", env(JPN_ITEM, signer=Signer.generate("KOR")), G.DENY_UNKNOWN_SENDER),
    ("wrong-receiver", env(JPN_ITEM, receiver="GBR"), G.DENY_WRONG_RECEIVER),
    ("stale", env(JPN_ITEM, sent_at=(T0 - timedelta(days=2)).isoformat()), G.DENY_STALE),
    ("future", env(JPN_ITEM, sent_at=(T0 + timedelta(days=2)).isoformat()), G.DENY_STALE),
    ("naive-time", env(JPN_ITEM, sent_at="2026-06-01T12:00:00"), G.DENY_STALE),
    ("bad-item", env(b'{"uid": 1}'), G.DENY_PARSE),
    ("nan", env(raw(JPN_ITEM).replace(b'"lat":26.2123456', b'"lat":1e999')), G.DENY_PARSE),
    ("not-origin", env(item("u", origin="USA", label="UNCLASSIFIED")), G.DENY_NOT_ORIGINATOR),
    ("no-label", env(msgspec.structs.replace(JPN_ITEM, label="")), Reason.DENY_MISSING_LABEL),
    (
        "usa-marking",
        env(msgspec.structs.replace(JPN_ITEM, label="SECRET//REL TO USA, JPN")),
        G.DENY_OVER_LABEL,
    ),
    (
        "noforn",
        env(msgspec.structs.replace(JPN_ITEM, label="JPN GOKUHI//NOFORN")),
        Reason.DENY_NOT_RELEASABLE,
    ),
]


@pytest.mark.parametrize(("name", "data", "reason"), BAD, ids=[b[0] for b in BAD])
async def test_bad_partner_messages_are_rejected_audited_and_counted(
    pair: Pair, name: str, data: bytes, reason: object
) -> None:
    gw = pair.usa.gw
    before = len(gw.audit)
    v = gw.receive(data, "JPN")
    assert v.outcome is Outcome.DENY and reason in v.reasons, (name, v)
    assert gw.received() == []
    assert len(gw.audit) == before + 1
    entry = gw.audit.entry(before)
    assert (entry.event, entry.outcome) == ("inbound", "DENY")
    assert str(reason) in entry.reasons
    assert gw.ledger.total("in", "JPN").denied == 1


async def test_a_good_message_is_stored_once_and_its_replay_refused(pair: Pair) -> None:
    gw = pair.usa.gw
    good = env(JPN_ITEM)
    assert gw.receive(good, "JPN").outcome is Outcome.ACCEPT
    again = gw.receive(good, "JPN")
    assert again.reasons == (G.DENY_REPLAY,)
    (r,) = gw.received()
    assert (r.origin, r.uid, r.label) == ("JPN", "j1", JPN_ITEM.label)
    t = gw.ledger.total("in", "JPN")
    assert (t.offered, t.released, t.denied) == (2, 1, 1)


async def test_a_run_of_messages_is_judged_in_order_and_a_repeat_inside_it_is_a_replay(
    pair: Pair,
) -> None:
    gw = pair.usa.gw
    other = msgspec.structs.replace(JPN_ITEM, uid="j2")
    batch = [env(JPN_ITEM), b"garbage", env(other, msg_id="m2"), env(JPN_ITEM)]
    got = [v.outcome for v in gw.receive_batch(batch, "JPN")]
    assert got == [Outcome.ACCEPT, Outcome.DENY, Outcome.ACCEPT, Outcome.DENY]
    assert gw.receive_batch(batch[3:], "JPN")[0].reasons == (G.DENY_REPLAY,)
    assert [r.uid for r in gw.received()] == ["j1", "j2"]
    assert (
        len(gw.audit) - sum(1 for i in range(len(gw.audit)) if gw.audit.entry(i).event != "inbound")
        == 5
    )


async def test_over_label_is_judged_against_what_the_partner_may_originate(pair: Pair) -> None:
    capped = make_side("USA", "JPN", Tier.T2, pair.clock, partner_max_rank=2).gw
    kimitsu = msgspec.structs.replace(JPN_ITEM, label="JPN KIMITSU//REL TO JPN, USA")
    assert capped.receive(env(kimitsu), "JPN").reasons == (G.DENY_OVER_LABEL,)
    assert capped.receive(env(JPN_ITEM, msg_id="m2"), "JPN").outcome is Outcome.ACCEPT


async def test_a_run_asks_the_store_about_its_ids_once_and_still_refuses_every_replay(
    pair: Pair,
) -> None:
    gw, db = pair.usa.gw, pair.usa.db
    items = [msgspec.structs.replace(JPN_ITEM, uid=f"j{i}") for i in range(6)]
    first = [env(it, msg_id=f"m{i}") for i, it in enumerate(items[:3])]
    assert all(v.outcome is Outcome.ACCEPT for v in gw.receive_batch(first, "JPN"))
    asked: list[str] = []
    db._db.set_trace_callback(asked.append)
    second = [env(it, msg_id=f"m{i}") for i, it in enumerate(items)]  # three are replays
    got = [v.outcome for v in gw.receive_batch([*second, b"garbage"], "JPN")]
    db._db.set_trace_callback(None)
    assert got == [Outcome.DENY] * 3 + [Outcome.ACCEPT] * 3 + [Outcome.DENY]
    assert sum("FROM seen" in sql for sql in asked) == 1
    assert [r.uid for r in gw.received()] == [f"j{i}" for i in range(6)]
    assert gw.receive(second[4], "JPN").reasons == (G.DENY_REPLAY,)  # nothing stale is kept
