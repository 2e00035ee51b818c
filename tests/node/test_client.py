"""A client's outbound side: joined per loop turn, or pushed to the socket at once."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from kizuna.cot import event_to_xml
from kizuna.identity import Principal
from kizuna.node import Drop
from kizuna.node._client import Client

from ._support import make_event, open_tcp
from .conftest import MakeNode


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Client, socket.socket]]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    _, writer = await asyncio.open_connection(sock=ours)
    client = Client(1, Principal("p", "USA"), writer, 1 << 20)
    yield client, theirs
    client.abort()
    theirs.close()


def received(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1 << 16)
    except BlockingIOError:
        return b""


async def test_offers_in_one_turn_go_out_as_one_send(pair: tuple[Client, socket.socket]) -> None:
    client, peer = pair
    assert client.offer(b"<a/>") and client.offer(b"<b/>")
    assert received(peer) == b""  # held until the turn ends
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert received(peer) == b"<a/><b/>"


async def test_push_hands_offered_bytes_to_the_socket_now(
    pair: tuple[Client, socket.socket],
) -> None:
    client, peer = pair
    client.offer(b"<a/>")
    client.offer(b"<b/>")
    client.push()  # no loop turn in between: the relay does not wait behind other work
    assert received(peer) == b"<a/><b/>"
    await asyncio.sleep(0)
    assert received(peer) == b""  # nothing is sent twice


async def test_a_store_failure_drops_the_event_and_the_node_keeps_serving(
    make_node: MakeNode,
) -> None:
    node = await make_node()
    assert node.tcp_port is not None
    pub, sub = await open_tcp(node.tcp_port), await open_tcp(node.tcp_port)
    await asyncio.sleep(0.1)
    await node.store.close()  # the disk is gone: nothing may be relayed uncommitted
    await pub.send(event_to_xml(make_event("lost")))
    assert await sub.events(1, timeout=0.5) == []
    assert node.stats.dropped[Drop.STORE_FAILED] == 1
    late = await open_tcp(node.tcp_port)  # still accepting and serving
    await pub.send(event_to_xml(make_event("lost-too")))
    await asyncio.sleep(0.2)
    assert node.stats.dropped[Drop.STORE_FAILED] == 2
    for c in (pub, sub, late):
        await c.close()
