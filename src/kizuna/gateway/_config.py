"""A gateway's configuration file and the builder that wires one from it (at the edge, never at
import). Adding a partner (KOR) is a ``[partners.KOR]`` table and its public key: no code."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kizuna.bus import SqliteBus
from kizuna.clock import Clock
from kizuna.errors import ConfigError
from kizuna.gateway._cot import CotItemCodec
from kizuna.gateway._db import GatewayDb
from kizuna.gateway._gateway import Gateway, GatewayConfig
from kizuna.gateway._item import ItemCodec, JsonItemCodec
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._rules import load_rules
from kizuna.roadmap import Tier, assess, latest, load_assessments, load_catalogue

__all__ = ["GatewayFile", "Limits", "Partner", "build_gateway", "load_gateway_file"]


@dataclass(frozen=True, slots=True)
class Partner:
    nation: str
    host: str
    port: int
    tier: Tier | None  # None: computed from the roadmap assessments
    ca: Path | None = None  # the partner's CA certificate, pinned for the link


@dataclass(frozen=True, slots=True)
class Limits:
    """What the partner listener grants a connection (``[limits]``)."""

    max_connections: int = 64
    idle_timeout_s: float = 60.0
    read_timeout_s: float = 10.0  # to finish a frame (and the TLS handshake) once begun
    max_unauth_bytes: int = 64 * 1024  # bytes a connection may send before it is authenticated
    max_buffered_bytes: int = 16 << 20  # over every connection together (not a file key)


@dataclass(frozen=True, slots=True)
class GatewayFile:
    nation: str
    data_dir: Path
    key: Path
    keys_dir: Path
    host: str
    port: int
    partners: MappingProxyType[str, Partner]
    rules: Path | None = None
    catalogue: Path | None = None
    assessments: Path | None = None
    max_bytes: int = 64 * 1024
    node: tuple[str, int] | None = None  # the national node's feed ([node] address)
    codec: str = "json"  # "cot" beside a node
    tls_cert: Path | None = None  # [tls]: our certificate, both ends of the link and the feed
    tls_key: Path | None = None
    node_ca: Path | None = None  # [node] ca: the node's CA, the only one its feed may show
    limits: Limits = Limits()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gateway.db"

    @property
    def bus_path(self) -> Path:
        return self.data_dir / "bus.db"


def _addr(text: object, where: str) -> tuple[str, int]:
    if not isinstance(text, str) or ":" not in text:
        raise ConfigError("must be HOST:PORT", field=where)
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"bad port in {text!r}", field=where)
    return host, int(port)


def _partner(nation: str, raw: Any, base: Path) -> Partner:
    where = f"partners.{nation}"
    if not isinstance(raw, dict):
        raise ConfigError("must be a table", field=where)
    host, port = _addr(raw.get("address", "127.0.0.1:0"), f"{where}.address")
    tier = raw.get("tier")
    if tier is not None and tier not in Tier.__members__:
        raise ConfigError(f"unknown tier {tier!r}", field=f"{where}.tier")
    ca = raw.get("ca")
    if ca is not None and not isinstance(ca, str):
        raise ConfigError("must be a path", field=f"{where}.ca")
    return Partner(nation, host, port, Tier[tier] if tier else None, base / ca if ca else None)


def _limits(raw: Any) -> Limits:
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        raise ConfigError("must be a table", field="limits")
    got: dict[str, Any] = {}
    for key, kind in (("max_connections", int), ("idle_timeout_s", float),
                      ("read_timeout_s", float), ("max_unauth_bytes", int)):  # fmt: skip
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError("must be a positive number", field=f"limits.{key}")
        if kind is int and not isinstance(value, int):
            raise ConfigError("must be a whole number", field=f"limits.{key}")
        got[key] = kind(value)
    return Limits(**got)


def _tls(raw: Any, base: Path) -> tuple[Path | None, Path | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise ConfigError("must be a table", field="tls")
    paths = []
    for key in ("cert", "key"):
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            raise ConfigError("must be a path", field=f"tls.{key}")
        paths.append(base / value)
    return paths[0], paths[1]


def load_gateway_file(path: Path) -> GatewayFile:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", field=str(path)) from exc
    base = path.parent

    def rel(key: str, default: str | None = None) -> Path | None:
        value = doc.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError("must be a path", field=key)
        return base / value

    nation = doc.get("nation")
    if not isinstance(nation, str) or not nation:
        raise ConfigError("is required", field="nation")
    host, port = _addr(doc.get("listen", "127.0.0.1:0"), "listen")
    partners = {n: _partner(n, raw, base) for n, raw in doc.get("partners", {}).items()}
    tls_cert, tls_key = _tls(doc.get("tls"), base)
    node = doc.get("node")
    if node is not None and not isinstance(node, dict):
        raise ConfigError("must be a table", field="node")
    node_addr = _addr(node.get("address"), "node.address") if node else None
    tls = doc.get("tls", {})
    if not isinstance(tls, dict):
        raise ConfigError("must be a table", field="tls")

    def path_in(table: dict[str, Any], key: str, where: str) -> Path | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError("must be a path", field=where)
        return base / value

    tls_cert, tls_key = path_in(tls, "cert", "tls.cert"), path_in(tls, "key", "tls.key")
    node_ca = path_in(node, "ca", "node.ca") if node else None
    if node and (tls_cert is None or tls_key is None or node_ca is None):
        missing = [
            k for k, v in (("tls.cert", tls_cert), ("tls.key", tls_key), ("node.ca", node_ca))
            if v is None
        ]  # fmt: skip
        raise ConfigError(
            "the node feed is mutual TLS: it needs our [tls] cert and key and the node's CA",
            field=missing[0],
        )
    codec = doc.get("codec", "cot" if node else "json")
    if codec not in ("cot", "json"):
        raise ConfigError(f"unknown codec {codec!r} (cot or json)", field="codec")
    return GatewayFile(
        nation=nation,
        data_dir=rel("data_dir", nation.lower()) or base,
        key=rel("key", f"keys/{nation}.key") or base,
        keys_dir=rel("keys_dir", "keys") or base,
        host=host,
        port=port,
        partners=MappingProxyType(partners),
        rules=rel("rules"),
        catalogue=rel("catalogue"),
        assessments=rel("assessments"),
        max_bytes=int(doc.get("max_bytes", 64 * 1024)),
        node=node_addr,
        codec=codec,
        tls_cert=tls_cert,
        tls_key=tls_key,
        node_ca=node_ca,
        limits=_limits(doc.get("limits")),
    )


def build_gateway(
    cfg: GatewayFile, clock: Clock, codec: ItemCodec | None = None, ring: KeyRing | None = None
) -> tuple[Gateway, GatewayDb, SqliteBus]:
    """Open the databases and keys a configuration names and wire the gateway. ``ring``: a
    key ring the caller keeps (and may reload), else one read from ``keys_dir``."""
    catalogue = load_catalogue(cfg.catalogue)
    assessments = load_assessments(catalogue, cfg.assessments)
    today: date = clock.now().date()
    tiers = {
        n: p.tier
        if p.tier is not None
        else assess(catalogue, n, latest(assessments, n, today)).tier
        for n, p in cfg.partners.items()
    }
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    db = GatewayDb(cfg.db_path)
    bus = SqliteBus(cfg.bus_path, clock=clock)
    gw = Gateway(
        GatewayConfig(cfg.nation, tiers, max_bytes=cfg.max_bytes),
        signer=Signer.load(cfg.nation, cfg.key),
        ring=ring if ring is not None else KeyRing.load_dir(cfg.keys_dir),
        db=db,
        bus=bus,
        codec=codec or (CotItemCodec(cfg.nation) if cfg.codec == "cot" else JsonItemCodec()),
        tier_rules=catalogue.tiers,
        rules=load_rules(cfg.rules),
        clock=clock,
    )
    return gw, db, bus
