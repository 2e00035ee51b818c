"""A SIGTERM that arrives while a node is still starting stops it cleanly: the store is
committed and closed, and ``serve`` returns as after any other SIGTERM (exit 0), instead of
the default handler killing the process mid-start (issue 17, part 3)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from kizuna.errors import StoreError
from kizuna.node import NodeServer
from kizuna.node._run import serve
from tests.security._nodes import make_pki, node_config


async def test_a_sigterm_during_start_stops_the_node_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pki(tmp_path)
    started = NodeServer.start
    seen: list[NodeServer] = []

    async def start_then_signal(self: NodeServer) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the node is starting
        await asyncio.sleep(0)
        await started(self)
        seen.append(self)

    monkeypatch.setattr(NodeServer, "start", start_then_signal)
    ready: list[NodeServer] = []
    stats = await asyncio.wait_for(serve(node_config(tmp_path), ready.append), 20)
    assert seen and not ready  # it started, never announced itself, and stopped
    assert seen[0].stopping
    with pytest.raises(StoreError):  # committed and closed, as by any SIGTERM
        seen[0].store.submit([], lambda _: None)
    assert stats["accepted"] == 0
