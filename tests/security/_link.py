"""Two in-process gateways (USA, JPN) joined by the real partner link: each nation with its
own PKI (``kizuna pki init``, a ``kind = "gateway"`` principal) and its own signing keys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kizuna.clock import Clock
from kizuna.gateway import GatewayServer, generate_keys, load_gateway_file
from tests.gateway._procs import LinkPki, free_port, gateway_pki, link_toml
from tests.gateway.conftest import item, raw

PARTNER = {"USA": "JPN", "JPN": "USA"}
TIER = {"USA": "T2", "JPN": "T3"}


@dataclass
class World:
    d: Path
    pki: dict[str, LinkPki]
    ports: dict[str, int]
    configs: dict[str, Path]


def make_world(d: Path, limits: str = "") -> World:
    """Files for both gateways in ``d``: ``usa.toml``, ``jpn.toml``, keys in ``d/<n>-keys``
    (each holding its own key pair and the partner's public key)."""
    pki = {n: gateway_pki(d, n) for n in ("USA", "JPN")}
    ports = {n: free_port() for n in ("USA", "JPN")}
    for n in ("USA", "JPN"):
        keys = d / f"{n.lower()}-keys"
        generate_keys(n, keys)
    for n in ("USA", "JPN"):  # each side holds the other's public key
        p = PARTNER[n]
        src = d / f"{p.lower()}-keys" / f"{p}.pub"
        (d / f"{n.lower()}-keys" / f"{p}.pub").write_bytes(src.read_bytes())
    configs = {}
    for n in ("USA", "JPN"):
        p = PARTNER[n]
        cfg = d / f"{n.lower()}.toml"
        cfg.write_text(
            f'nation = "{n}"\nlisten = "127.0.0.1:{ports[n]}"\ndata_dir = "{n.lower()}"\n'
            f'key = "{n.lower()}-keys/{n}.key"\nkeys_dir = "{n.lower()}-keys"\n'
            + limits
            + link_toml(d, pki[n], {p: (f"127.0.0.1:{ports[p]}", pki[p])}, tiers={p: TIER[n]})
        )
        configs[n] = cfg
    return World(d, pki, ports, configs)


def server(w: World, nation: str, clock: Clock, **kw: object) -> GatewayServer:
    return GatewayServer(load_gateway_file(w.configs[nation]), clock, checkpoint_every=3600,
                         retry=0.05, **kw)  # type: ignore[arg-type]  # fmt: skip


def usa_items(uids: Sequence[str]) -> list[bytes]:
    return [raw(item(u)) for u in uids]


class Proxy:
    """A TCP proxy on loopback recording every byte both ways. ``cut_after``: the first
    connection is cut (both sides) once that many bytes have come back from the target."""

    def __init__(self, target: int, cut_after: int | None = None) -> None:
        self.target = target
        self.cut_after = cut_after
        self.sent = bytearray()  # client -> target
        self.back = bytearray()  # target -> client
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        self.connections += 1
        first = self.connections == 1
        try:
            tr, tw = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            cw.close()
            return
        self._writers += [cw, tw]
        came_back = 0

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, out: bytearray,
                       back: bool) -> None:  # fmt: skip
            nonlocal came_back
            try:
                while data := await r.read(65536):
                    if back and first and self.cut_after is not None:
                        room = self.cut_after - came_back
                        if room <= 0:
                            break
                        data = data[:room]
                        came_back += len(data)
                    out += data
                    w.write(data)
                    await w.drain()
                    if (
                        back
                        and first
                        and self.cut_after is not None
                        and came_back >= self.cut_after
                    ):
                        break
            except OSError:
                pass
            finally:
                for x in (cw, tw):
                    x.transport.abort()

        await asyncio.gather(pipe(cr, tw, self.sent, False), pipe(tr, cw, self.back, True))

    async def stop(self) -> None:
        for w in self._writers:
            w.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def route(w: World, nation: str, port: int) -> None:
    """Make ``nation`` dial its partner at ``port`` (a proxy) instead."""
    cfg = w.configs[nation]
    p = PARTNER[nation]
    cfg.write_text(
        cfg.read_text().replace(
            f'address = "127.0.0.1:{w.ports[p]}"', f'address = "127.0.0.1:{port}"'
        )
    )


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    end = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < end:
        if cond():
            return True
        await asyncio.sleep(0.02)
    return cond()
