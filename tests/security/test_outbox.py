"""No release is lost between the audit and the bus (issue 13, "no release is ever undone by a
restart"). The audit lives in gateway.db and the outbound queue in bus.db: no one commit can
cover both, so a release waits in gateway.db's outbox, committed with the audit entry that
released it, until the bus holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.bus import subject
from kizuna.clock import ManualClock
from kizuna.roadmap import Tier
from tests.gateway.conftest import T0, deliver, item, make_side, raw


class _CrashError(Exception):
    pass


async def test_a_crash_between_the_audit_and_the_bus_loses_no_release(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    usa = make_side("USA", "JPN", Tier.T2, clock, tmp_path / "gw.db", tmp_path / "bus.db")
    items = [raw(item(f"u{i}", label="SECRET//REL TO USA, JPN")) for i in range(3)]

    async def crash(*_: object, **__: object) -> object:
        raise _CrashError  # the process dies after the audit's commit, before the bus has it

    usa.bus.publish_many = crash  # type: ignore[method-assign]
    with pytest.raises(_CrashError):
        await usa.gw.offer(items, "JPN", cursor=3)
    usa.db.close()
    await usa.bus.close()

    again = make_side("USA", "JPN", Tier.T2, clock, tmp_path / "gw.db", tmp_path / "bus.db")
    audited = [again.gw.audit.entry(i) for i in range(len(again.gw.audit))]
    released = [e for e in audited if e.event == "outbound" and e.outcome == "RELEASE"]
    assert len(released) == 3  # judged once, before the crash
    assert again.gw.cursor("JPN") == 3  # the cursor moved with those entries
    assert await again.gw.drain_outbox() == 3  # what the start does first
    assert await again.gw.drain_outbox() == 0  # not yet forgotten, but the bus has them
    jpn = make_side("JPN", "USA", Tier.T2, clock)
    got = await deliver(again, jpn, "JPN")
    assert [v.work.item.uid for v in got if v.released and v.work.item] == ["u0", "u1", "u2"]
    # the next commit forgets what the bus took; nothing is sent twice
    await again.gw.offer([], "JPN")
    assert again.db.outbox() == []
    sub = await again.bus.subscribe(subject("out", "JPN"), durable="count")
    assert len(await sub.fetch(100)) == 3
