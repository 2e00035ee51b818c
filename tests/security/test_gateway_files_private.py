"""Issue 13 item 5 (gateway side): gateway.db, its -wal/-shm and bus.db are 0600 from their
first byte, and `gateway keygen` writes the private key 0600 without a chmod after the fact
and never overwrites one without --force.

Before: the databases were 0644 and keygen wrote the key at the umask's mode, chmodded it
afterwards, and silently replaced an existing key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.clock import ManualClock
from kizuna.gateway import GatewayServer, generate_keys, load_gateway_file, local_operator
from tests.gateway._procs import free_port
from tests.gateway.conftest import T0
from tests.security._gwfiles import gateway_file, offer_doc, offer_frame

runner = CliRunner()


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest usual umask, so only the code's own care keeps a file private."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


async def test_databases_and_their_journals_are_0600(tmp_path: Path, open_umask: None) -> None:
    cfg = gateway_file(tmp_path, "USA", {"JPN": (free_port(), "T2")})
    srv = GatewayServer(load_gateway_file(cfg), ManualClock(T0), checkpoint_every=3600)
    await srv.start()
    try:
        assert srv.admin is not None
        await srv.admin.handle(offer_frame("JPN", offer_doc()), local_operator())
        data = srv.cfg.data_dir
        files = [data / n for n in ("gateway.db", "gateway.db-wal", "gateway.db-shm", "bus.db")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(data) & 0o077 == 0  # the directory the gateway made for them, too
    finally:
        await srv.stop()


def test_keygen_writes_0600_without_a_chmod_and_keeps_an_existing_key(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key made at the umask's mode and chmodded later was readable in between: with chmod
    # doing nothing, only a key created 0600 comes out 0600.
    monkeypatch.setattr(os, "chmod", lambda *a, **k: None)
    monkeypatch.setattr(Path, "chmod", lambda *a, **k: None)
    out = runner.invoke(app, ["gateway", "keygen", "KOR", "--dir", str(tmp_path / "k")])
    assert out.exit_code == 0, out.output
    key = tmp_path / "k" / "KOR.key"
    assert _mode(key) == 0o600
    first = key.read_bytes()

    again = runner.invoke(app, ["gateway", "keygen", "KOR", "--dir", str(tmp_path / "k")])
    assert again.exit_code == 2
    assert again.output.count("\n") == 1 and "exists" in again.output and "--force" in again.output
    assert key.read_bytes() == first

    forced = runner.invoke(
        app, ["gateway", "keygen", "KOR", "--dir", str(tmp_path / "k"), "--force"]
    )
    assert forced.exit_code == 0 and key.read_bytes() != first and _mode(key) == 0o600


def test_keygen_refuses_a_name_that_is_a_path(tmp_path: Path) -> None:
    out = runner.invoke(app, ["gateway", "keygen", "../KOR", "--dir", str(tmp_path / "k")])
    assert out.exit_code == 2 and "nation code" in out.output
    assert not (tmp_path / "KOR.key").exists()


def test_a_key_others_can_read_is_a_configuration_error(tmp_path: Path) -> None:
    generate_keys("USA", tmp_path / "keys")
    cfg = gateway_file(tmp_path, "USA", {"JPN": (1, "T2")})
    (tmp_path / "keys" / "USA.key").chmod(0o644)
    out = runner.invoke(app, ["ledger", "show", "-c", str(cfg)])
    assert out.exit_code == 2 and "key" in out.output and "readable by others" in out.output
