"""Wiring at the edge: build a node from its configuration and run it until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from kizuna.clock import Clock, RealClock
from kizuna.identity import load_registry
from kizuna.node._config import NodeConfig
from kizuna.node._server import NodeServer
from kizuna.store import SqliteStore

__all__ = ["build_node", "serve"]


def build_node(config: NodeConfig, clock: Clock | None = None) -> NodeServer:
    registry = load_registry(config.registry)
    store = SqliteStore(config.store_path)
    return NodeServer(config, registry, store, clock or RealClock())


async def serve(
    config: NodeConfig, on_ready: Callable[[NodeServer], None] | None = None
) -> dict[str, object]:
    """Run until SIGTERM or SIGINT, then shut down gracefully; return the final counters.
    The signals are taken before the node starts, so one that arrives while it is starting
    stops it as cleanly as one that arrives later."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    node = build_node(config)
    await node.start()
    if on_ready is not None and not stop.is_set():
        on_ready(node)
    await stop.wait()
    await node.stop()
    return node.stats.as_dict()
