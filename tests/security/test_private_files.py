"""Data files are private from their first byte (issue 13 item 5, node/store/bus side):
events.db and bus.db with their WAL files are 0600 even under a permissive umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kizuna.bus import SqliteBus
from kizuna.cot import Event, Point
from kizuna.errors import ConfigError
from kizuna.labels import default_table, parse_banner
from kizuna.store import Record, SqliteStore


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _event(uid: str) -> Event:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    label = parse_banner("SECRET", default_table())
    return Event(uid=uid, type="a-f-G", time=t, start=t, stale=t + timedelta(minutes=5),
                 point=Point(35.0, 139.0), label=label)  # fmt: skip


@pytest.mark.usefixtures("permissive_umask")
async def test_events_db_and_its_wal_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "node" / "events.db"
    store = SqliteStore(path)
    try:
        await store.append([Record("a", _event("u1"), "USA")])
        files = [path, path.with_name("events.db-wal"), path.with_name("events.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await store.close()
    assert _mode(path) == 0o600


@pytest.mark.usefixtures("permissive_umask")
async def test_bus_db_and_its_wal_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "bus.db"
    bus = SqliteBus(path)
    try:
        await bus.publish("out.JPN", b"secret", msg_id="m1")
        files = [path, path.with_name("bus.db-wal"), path.with_name("bus.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await bus.close()


def test_a_store_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    with pytest.raises(ConfigError):
        SqliteStore(path)
