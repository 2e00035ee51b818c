"""One contract, every Store implementation."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kizuna.cot import Event, Point
from kizuna.errors import StoreError
from kizuna.labels import Clearance, ClearanceStatus, Viewer, default_table, parse_banner
from kizuna.store import MemoryStore, Record, SqliteStore, Store

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def event(uid: str, seconds: int = 0, banner: str = "UNCLASSIFIED") -> Event:
    t = T0 + timedelta(seconds=seconds)
    return Event(
        uid=uid,
        type="a-f-G",
        time=t,
        start=t,
        stale=t + timedelta(minutes=5),
        point=Point(35.0, 139.0),
        label=parse_banner(banner, default_table()),
    )


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "e.db")
    try:
        yield s
    finally:
        await s.close()


async def test_append_reports_new_records(store: Store) -> None:
    assert await store.append([Record("a", event("u1")), Record("a", event("u2"))]) == (
        True,
        True,
    )
    assert await store.count() == 2


async def test_same_origin_uid_time_is_stored_once(store: Store) -> None:
    r = Record("a", event("u1"))
    assert await store.append([r]) == (True,)
    assert await store.append([r, r]) == (False, False)
    assert await store.append([Record("b", event("u1"))]) == (True,)  # another origin
    assert await store.append([Record("a", event("u1", 1))]) == (True,)  # another time
    assert await store.count() == 3


async def test_replay_by_time_range_in_commit_order(store: Store) -> None:
    await store.append([Record("a", event(f"u{i}", i)) for i in (3, 1, 2, 5)])
    got = await store.replay(T0 + timedelta(seconds=1), T0 + timedelta(seconds=5))
    assert [r.event.uid for r in got] == ["u3", "u1", "u2"]
    assert got[0] == Record("a", event("u3", 3))


async def test_replay_by_viewer_follows_labels(store: Store) -> None:
    await store.append(
        [
            Record("a", event("open", 0, "UNCLASSIFIED")),
            Record("a", event("rel", 1, "SECRET//REL TO USA, JPN")),
            Record("a", event("noforn", 2, "SECRET//NOFORN")),
        ]
    )
    jpn = Viewer("JPN", Clearance("JPN", "GOKUHI", ClearanceStatus.ACTIVE, T0.date()))
    usa = Viewer("USA", Clearance("USA", "SECRET", ClearanceStatus.ACTIVE, T0.date()))
    end = T0 + timedelta(hours=1)
    assert [r.event.uid for r in await store.replay(T0, end, jpn, T0)] == ["open", "rel"]
    assert [r.event.uid for r in await store.replay(T0, end, usa, T0)] == [
        "open",
        "rel",
        "noforn",
    ]
    expired = await store.replay(T0, end, jpn, T0 + timedelta(days=2))
    assert [r.event.uid for r in expired] == ["open"]


async def test_current_is_the_latest_live_record_per_uid(store: Store) -> None:
    """What a restarted node's picture is rebuilt from: per uid the latest by event time
    (a late-arriving older update does not win), and nothing already stale."""
    await store.append([
        Record("a", event("moved", 0)), Record("a", event("moved", 120)),
        Record("a", event("late", 200)), Record("a", event("late", 100)),
        Record("a", event("gone", -600)), Record("b", event("other", 10)),
    ])  # fmt: skip
    now = T0 + timedelta(seconds=60)
    got = {r.event.uid: r for r in await store.current(now)}
    assert set(got) == {"moved", "late", "other"}
    assert got["moved"].event.time == T0 + timedelta(seconds=120)
    assert got["late"].event.time == T0 + timedelta(seconds=200)
    assert got["other"].origin == "b"
    assert await store.current(T0 + timedelta(hours=1)) == []


async def test_owner_is_the_first_publisher(store: Store) -> None:
    await store.append([Record("a", event("u1")), Record("b", event("u1", 1))])
    assert await store.owners() == {"u1": "a"}


async def test_concurrent_appends_all_land(store: Store) -> None:
    results = await asyncio.gather(
        *(store.append([Record("a", event(f"u{i}", i))]) for i in range(200))
    )
    assert all(r == (True,) for r in results)
    assert await store.count() == 200


async def test_append_after_close_fails(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "x.db")
    await s.close()
    with pytest.raises(StoreError):
        await s.append([Record("a", event("u"))])


async def test_sqlite_is_durable_across_reopen(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "d.db")
    await s.append([Record("a", event("u1"))])
    await s.close()
    again = SqliteStore(tmp_path / "d.db")
    try:
        assert await again.count() == 1
        assert await again.append([Record("a", event("u1"))]) == (False,)
    finally:
        await again.close()


async def test_sqlite_batches_concurrent_appends_into_few_commits(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "b.db")
    try:
        await asyncio.gather(*(s.append([Record("a", event(f"u{i}", i))]) for i in range(300)))
        assert s.commits < 100
    finally:
        await s.close()


def test_sqlite_uses_wal_and_full_sync(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "w.db")
    conn = sqlite3.connect(tmp_path / "w.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.close()
    asyncio.run(s.close())


async def test_submit_tells_from_a_later_loop_turn(store: Store) -> None:
    told: list[tuple[bool, ...] | StoreError] = []
    store.submit([Record("a", event("u1")), Record("a", event("u1"))], told.append)
    assert told == []  # never from inside submit: the caller may still be mid-read
    for _ in range(200):
        if told:
            break
        await asyncio.sleep(0.01)
    assert told == [(True, False)]
    assert await store.count() == 1


async def test_submit_after_close_raises_at_once(store: Store) -> None:
    await store.close()
    with pytest.raises(StoreError):
        store.submit([Record("a", event("u1"))], lambda _: None)


async def test_sqlite_idle_store_commits_at_once_without_a_batch_window(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "i.db")
    try:
        s.submit([Record("a", event("u1"))], lambda _: None)
        # the loop gets no turn here, so no timer or batch window could run: the row is
        # written and its COMMIT handed to the writer thread from inside submit itself
        other = sqlite3.connect(tmp_path / "i.db")
        deadline = time.monotonic() + 5
        while other.execute("SELECT count(*) FROM events").fetchone()[0] == 0:
            assert time.monotonic() < deadline, "a lone event was not committed"
            time.sleep(0.001)
        other.close()
        assert await s.append([Record("a", event("u2"))]) == (True,)
        assert s.commits == 2
    finally:
        await s.close()


async def test_sqlite_appends_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "n.db")
    try:
        told: list[tuple[bool, ...] | StoreError] = []
        s.submit([Record("a", event("u0"))], told.append)  # its commit is now in flight
        for i in range(1, 20):
            s.submit([Record("a", event(f"u{i}", i))], told.append)
        assert await s.append([Record("a", event("u20", 20))]) == (True,)
        assert told == [(True,)] * 20
        assert s.commits == 2
    finally:
        await s.close()


async def test_sqlite_tells_only_once_the_batch_is_durable(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "c.db")
    seen: list[int] = []
    done = asyncio.Event()

    def told(result: tuple[bool, ...] | StoreError) -> None:
        other = sqlite3.connect(tmp_path / "c.db")  # another connection sees only commits
        seen.append(other.execute("SELECT count(*) FROM events").fetchone()[0])
        other.close()
        done.set()

    try:
        s.submit([Record("a", event(f"u{i}", i)) for i in range(5)], told)
        await asyncio.wait_for(done.wait(), 5)
        assert seen == [5]
    finally:
        await s.close()


async def test_sqlite_a_failing_callback_does_not_silence_its_batch(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "f.db")
    loop = asyncio.get_running_loop()
    errors: list[object] = []
    loop.set_exception_handler(lambda _, ctx: errors.append(ctx.get("exception")))

    def boom(_: tuple[bool, ...] | StoreError) -> None:
        raise RuntimeError("subscriber code failed")

    try:
        told: list[tuple[bool, ...] | StoreError] = []
        s.submit([Record("a", event("u0"))], told.append)  # in flight
        s.submit([Record("a", event("u1", 1))], boom)  # these two share the next batch
        s.submit([Record("a", event("u2", 2))], told.append)
        for _ in range(500):
            if len(told) == 2:
                break
            await asyncio.sleep(0.01)
        assert told == [(True,), (True,)]
        assert [type(e) for e in errors] == [RuntimeError]
        assert await s.append([Record("a", event("u3", 3))]) == (True,)  # still working
    finally:
        loop.set_exception_handler(None)
        await s.close()


async def test_sqlite_a_failed_write_is_told_as_a_store_error(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "e.db")
    blocker = sqlite3.connect(tmp_path / "e.db", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    s._conn.execute("PRAGMA busy_timeout=0")
    told: list[tuple[bool, ...] | StoreError] = []
    try:
        s.submit([Record("a", event("u1"))], told.append)
        assert told == []
        await asyncio.sleep(0.05)
        assert len(told) == 1 and isinstance(told[0], StoreError)
        blocker.rollback()
        assert await s.append([Record("a", event("u1"))]) == (True,)  # the store recovers
    finally:
        blocker.close()
        await s.close()


async def test_sqlite_after_runs_once_per_commit_after_every_done(tmp_path: Path) -> None:
    s = SqliteStore(tmp_path / "a.db")
    calls: list[str] = []

    def after() -> None:
        calls.append("after")

    try:
        s.submit([Record("a", event("u0"))], lambda _: calls.append("u0"), after=after)
        for i in (1, 2, 3):  # all three wait for u0's commit, then share one
            s.submit(
                [Record("a", event(f"u{i}", i))], lambda _, i=i: calls.append(f"u{i}"), after=after
            )
        assert await s.append([Record("a", event("u4", 4))]) == (True,)
        assert calls == ["u0", "after", "u1", "u2", "u3", "after"]
    finally:
        await s.close()


async def test_since_reads_in_commit_order_from_a_cursor(store: Store) -> None:
    assert await store.last_seq() == 0
    assert await store.since(0, 10) == []
    await store.append([Record("a", event("u1"), "USA"), Record("b", event("u2"), "JPN")])
    await store.append([Record("a", event("u1"))])  # a duplicate takes no sequence number
    await store.append([Record("c", event("u3", 3), "USA", "default")])
    got = await store.since(0, 10)
    seqs = [s for s, _ in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [(r.origin, r.event.uid, r.nation, r.label_source) for _, r in got] == [
        ("a", "u1", "USA", "publisher"),
        ("b", "u2", "JPN", "publisher"),
        ("c", "u3", "USA", "default"),
    ]
    assert await store.last_seq() == seqs[-1]
    assert await store.since(seqs[0], 1) == [got[1]]  # after a cursor, up to a limit
    assert await store.since(seqs[-1], 10) == []
    assert await store.since(0, 0) == []


async def test_since_misses_nothing_across_concurrent_commits(store: Store) -> None:
    await asyncio.gather(*(store.append([Record("a", event(f"u{i}", i))]) for i in range(120)))
    seen: list[int] = []
    cursor = 0
    while batch := await store.since(cursor, 7):
        seen += [s for s, _ in batch]
        cursor = batch[-1][0]
    assert len(seen) == 120 and seen == sorted(set(seen))


async def test_an_old_events_db_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, origin TEXT NOT NULL, uid TEXT NOT NULL,"
        " time_ms INTEGER NOT NULL, stale_ms INTEGER NOT NULL, type TEXT NOT NULL,"
        " xml BLOB NOT NULL, UNIQUE (origin, uid, time_ms));"
    )
    conn.close()
    path.chmod(0o600)
    s = SqliteStore(path)
    try:
        await s.append([Record("a", event("u1"), "USA", "default")])
        [(seq, r)] = await s.since(0, 5)
        assert (r.nation, r.label_source) == ("USA", "default") and seq == 1
    finally:
        await s.close()
