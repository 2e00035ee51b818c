"""The embedded bus keeps JetStream's promises: dedup by id, durable position, ack, redelivery."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.bus import SqliteBus, subject, subject_matches
from kizuna.clock import ManualClock
from kizuna.errors import TransportError


async def test_publish_deduplicates_by_message_id() -> None:
    bus = SqliteBus()
    first = await bus.publish("kizuna.gw.out.JPN", b"a", msg_id="m1")
    again = await bus.publish("kizuna.gw.out.JPN", b"other", msg_id="m1")
    assert not first.duplicate and again.duplicate and again.seq == first.seq
    sub = await bus.subscribe("kizuna.gw.out.JPN", durable="c")
    got = await sub.fetch(10)
    assert [m.data for m in got] == [b"a"]
    await bus.close()


async def test_a_batch_publish_is_durable_together_in_order_and_deduplicated(
    tmp_path: Path,
) -> None:
    bus = SqliteBus(tmp_path / "bus.db")
    await bus.publish("kizuna.gw.out.JPN", b"early", msg_id="m0")
    acks = await bus.publish_many(
        "kizuna.gw.out.JPN", [(b"a", "m1"), (b"again", "m0"), (b"b", "m2"), (b"b2", "m2")]
    )
    assert [a.duplicate for a in acks] == [False, True, False, True]
    assert acks[1].seq == 1 and acks[3].seq == acks[2].seq
    assert await bus.publish_many("kizuna.gw.out.JPN", []) == []
    with pytest.raises(ValueError, match="message id"):
        await bus.publish_many("kizuna.gw.out.JPN", [(b"c", "m3"), (b"d", "")])
    await bus.close()

    bus = SqliteBus(
        tmp_path / "bus.db"
    )  # what was acknowledged survives; the refused batch left nothing
    sub = await bus.subscribe("kizuna.gw.out.JPN", durable="c")
    assert [m.data for m in await sub.fetch(10)] == [b"early", b"a", b"b"]
    await bus.close()


async def test_consumer_sees_only_its_subject_in_order() -> None:
    bus = SqliteBus()
    for i in range(5):
        await bus.publish(subject("out", "JPN"), f"j{i}".encode(), msg_id=f"j{i}")
        await bus.publish(subject("out", "KOR"), f"k{i}".encode(), msg_id=f"k{i}")
    sub = await bus.subscribe(subject("out", "JPN"), durable="jpn")
    got = await sub.fetch(100)
    assert [m.data for m in got] == [f"j{i}".encode() for i in range(5)]
    for m in got:
        await m.ack()
    assert sub.pending() == 0
    assert await sub.fetch(10) == []


async def test_unacked_message_is_redelivered_after_ack_wait() -> None:
    clock = ManualClock()
    bus = SqliteBus(clock=clock)
    await bus.publish("s", b"x", msg_id="1")
    sub = await bus.subscribe("s", durable="c", ack_wait=5.0)
    (m,) = await sub.fetch()
    assert m.deliveries == 1
    assert await sub.fetch() == []  # still within the ack deadline
    clock.advance(6)
    (again,) = await sub.fetch()
    assert again.seq == m.seq and again.deliveries == 2
    await again.ack()
    clock.advance(60)
    assert await sub.fetch() == []


async def test_nak_makes_the_message_due_again_in_stream_order() -> None:
    bus = SqliteBus()
    for i in range(4):
        await bus.publish("s", bytes([i]), msg_id=str(i))
    sub = await bus.subscribe("s", durable="c")
    a, b = await sub.fetch(2)
    await a.ack()
    await b.nak()
    got = await sub.fetch(10)
    assert [m.data for m in got] == [b"\x01", b"\x02", b"\x03"]


async def test_position_and_pending_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    bus = SqliteBus(path)
    for i in range(6):
        await bus.publish("kizuna.gw.out.JPN", str(i).encode(), msg_id=f"id{i}")
    sub = await bus.subscribe("kizuna.gw.out.JPN", durable="link")
    got = await sub.fetch(3)
    await got[0].ack()  # 1 and 2 were in flight when the process stopped
    await bus.close()

    bus = SqliteBus(path)
    assert (await bus.publish("kizuna.gw.out.JPN", b"dup", msg_id="id3")).duplicate
    sub = await bus.subscribe("kizuna.gw.out.JPN", durable="link")
    rest = await sub.fetch(100)
    assert [m.data for m in rest] == [b"1", b"2", b"3", b"4", b"5"]
    await bus.close()


async def test_fetch_waits_for_a_publish() -> None:
    bus = SqliteBus()
    sub = await bus.subscribe("s", durable="c")
    assert await sub.fetch(timeout=0.05) == []
    await bus.publish("s", b"x", msg_id="1")
    assert len(await sub.fetch(timeout=1.0)) == 1


async def test_bad_arguments_are_refused_with_a_reason() -> None:
    bus = SqliteBus()
    with pytest.raises(ValueError, match="message id"):
        await bus.publish("s", b"x", msg_id="")
    await bus.subscribe("a.b", durable="c")
    with pytest.raises(TransportError, match="already filters"):
        await bus.subscribe("a.c", durable="c")
    with pytest.raises(ValueError, match="nation"):
        subject("out", "J.P")
    with pytest.raises(TransportError, match="cannot open bus"):
        SqliteBus(Path("/nonexistent/dir/bus.db"))


def test_subject_wildcards_follow_nats() -> None:
    assert subject_matches("kizuna.gw.out.*", "kizuna.gw.out.JPN")
    assert not subject_matches("kizuna.gw.out.*", "kizuna.gw.out.JPN.x")
    assert subject_matches("kizuna.>", "kizuna.gw.out.JPN")
    assert not subject_matches("kizuna.>", "kizuna")
    assert not subject_matches("kizuna.gw", "kizuna.gw.out")


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 9)), max_size=30))
@settings(deadline=None)  # a shared CI machine must not make it flaky
async def test_each_id_is_delivered_once_in_first_publish_order(
    pubs: list[tuple[str, int]],
) -> None:
    bus = SqliteBus()
    for subj, n in pubs:
        await bus.publish(f"t.{subj}", str(n).encode(), msg_id=f"{subj}{n}")
    sub = await bus.subscribe("t.*", durable="all")
    got = await sub.fetch(1000)
    expected = list(dict.fromkeys(f"{s}{n}" for s, n in pubs))
    assert [m.msg_id for m in got] == expected
    await bus.close()


@given(st.lists(st.lists(st.integers(0, 12), max_size=8), max_size=6))
@settings(deadline=None)
async def test_a_batch_publish_acks_each_id_with_the_position_a_consumer_sees(
    batches: list[list[int]],
) -> None:
    bus = SqliteBus()
    acked: dict[str, int] = {}
    for batch in batches:
        acks = await bus.publish_many("t.x", [(str(n).encode(), f"m{n}") for n in batch])
        for n, ack in zip(batch, acks, strict=True):
            assert ack.duplicate == (f"m{n}" in acked)
            assert acked.setdefault(f"m{n}", ack.seq) == ack.seq
    sub = await bus.subscribe("t.x", durable="all")
    assert {m.msg_id: m.seq for m in await sub.fetch(1000)} == acked
    await bus.close()


async def test_acks_sent_together_settle_exactly_those_messages() -> None:
    clock = ManualClock()
    bus = SqliteBus(clock=clock)
    await bus.publish_many("t.x", [(b"%d" % i, f"m{i}") for i in range(5)])
    sub = await bus.subscribe("t.x", durable="c", ack_wait=5.0)
    got = await sub.fetch(10)
    await sub.ack_many([got[0], got[2], got[4]])
    assert sub.pending() == 2
    clock.advance(6.0)
    assert [m.msg_id for m in await sub.fetch(10)] == ["m1", "m3"]
    await bus.close()
