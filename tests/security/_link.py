"""Two in-process gateways (USA, JPN) joined by the real partner link: each nation with its
own PKI (``kizuna pki init``, a ``kind = "gateway"`` principal) and its own signing keys."""

from __future__ import annotations

from collections.abc import Sequence
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

    def load(self, nation: str) -> GatewayServer:
        raise NotImplementedError


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
            + link_toml(d, pki[n], {p: (f"127.0.0.1:{ports[p]}", pki[p])})
            + f'tier = "{TIER[n]}"\n'
        )
        configs[n] = cfg
    return World(d, pki, ports, configs)


def server(w: World, nation: str, clock: Clock, **kw: object) -> GatewayServer:
    return GatewayServer(load_gateway_file(w.configs[nation]), clock, checkpoint_every=3600,
                         retry=0.05, **kw)  # type: ignore[arg-type]  # fmt: skip


def usa_items(uids: Sequence[str]) -> list[bytes]:
    return [raw(item(u)) for u in uids]
