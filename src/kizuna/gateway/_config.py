"""A gateway's configuration file and the builder that wires one from it (at the edge, never at
import). Adding a partner (KOR) is a ``[partners.KOR]`` table and its public key: no code."""

from __future__ import annotations

import contextlib
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kizuna._files import create_private
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

__all__ = [
    "GatewayFile",
    "GatewayFileError",
    "Limits",
    "Partner",
    "build_gateway",
    "load_gateway_file",
]


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner gateway as configured: where it listens, its pinned CA and its tier."""

    nation: str
    host: str
    port: int
    tier: Tier | None  # None: computed from the roadmap assessments
    ca: Path | None = None  # the partner's CA: only its certificates are accepted on the link


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
    """A gateway file, checked: every key known, every path that must exist found."""

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
    node: tuple[str, int] | None = None  # the national node's committed-event feed
    codec: str = "json"  # "cot" beside a node
    tls_cert: Path | None = None  # our certificate for the partner link and the node feed
    tls_key: Path | None = None
    node_ca: Path | None = None  # the node's CA
    checkpoint_every_entries: int = 1000
    checkpoint_every_s: float = 60.0
    max_connections: int = 64
    idle_timeout_s: float = 60.0
    read_timeout_s: float = 10.0  # to finish a frame (and the TLS handshake) once begun
    max_unauth_bytes: int = 64 * 1024  # bytes a connection may send before it is authenticated
    max_buffered_bytes: int = 16 << 20  # over every connection together (not a file key)
    source: Path | None = None  # the file this was read from, for messages

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gateway.db"

    @property
    def bus_path(self) -> Path:
        return self.data_dir / "bus.db"

    @property
    def admin_path(self) -> Path:
        return self.data_dir / "admin.sock"

    @property
    def limits(self) -> Limits:
        """What the partner listener grants a connection, from ``[limits]``."""
        return Limits(
            self.max_connections,
            self.idle_timeout_s,
            self.read_timeout_s,
            self.max_unauth_bytes,
            self.max_buffered_bytes,
        )


class GatewayFileError(ConfigError):
    """A gateway file is wrong; ``problems`` holds every ``file:line: key: message`` found,
    so that one run shows the operator all there is to fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = f"{len(problems)} problems: " if len(problems) > 1 else ""
        super().__init__(count + "; ".join(problems))


_NATION = re.compile(r"[A-Z]{2,8}")
_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"\.]+?)\s*=")


def _lines(text: str) -> dict[str, int]:
    """Where each dotted key or table starts, by a plain scan: cheap, and good enough to
    point an operator at a line (a key split across inline tables gets no line)."""
    where: dict[str, int] = {}
    table = ""
    for n, line in enumerate(text.splitlines(), 1):
        if m := _HEADER.match(line):
            table = m.group(1).replace('"', "").replace(" ", "")
            parts = table.split(".")
            for i in range(1, len(parts) + 1):  # [a.b] also starts table a, if nothing did
                where.setdefault(".".join(parts[:i]), n)
        elif m := _KEY.match(line):
            key = m.group(1).replace('"', "")
            where.setdefault(f"{table}.{key}" if table else key, n)
    return where


class _Problems:
    """The one collector for a file's problems, each with the file, key and line."""

    def __init__(self, source: Path, text: str) -> None:
        self.source = source
        self._lines = _lines(text)
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        parts = key.split(".")
        found = (self._lines.get(".".join(parts[:i])) for i in range(len(parts), 0, -1))
        line = next((n for n in found if n), None)  # a missing key: its table's line
        self.items.append(f"{self.source}{f':{line}' if line else ''}: {key}: {message}")

    def named(self, key: str) -> bool:
        """Whether a problem was already recorded at ``key``."""
        return any(f": {key}: " in item for item in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise GatewayFileError(self.items)


class _Table:
    """One TOML table at a dotted path: each getter records a problem and returns a fallback,
    so one pass finds every mistake; ``done`` reports the keys nobody asked for."""

    def __init__(self, raw: object, path: str, problems: _Problems, base: Path) -> None:
        self.where, self.problems, self.base = path, problems, base
        if not isinstance(raw, dict):
            problems.add(path, f"must be a table, got {type(raw).__name__}")
            raw = {}
        self.raw: dict[str, Any] = raw
        self._used: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str) -> object:
        self._used.add(key)
        return self.raw.get(key)

    def has(self, key: str) -> bool:
        return key in self.raw

    def text(self, key: str, default: str | None = None) -> str | None:
        raw = self.get(key)
        if raw is None:
            if default is None:
                self.problems.add(self.at(key), "is required")
            return default
        if not isinstance(raw, str) or not raw:
            self.problems.add(self.at(key), f"must be a non-empty string, got {raw!r}")
            return None
        return raw

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        raw = self.get(key)
        if raw is None:
            return default
        if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
            self.problems.add(self.at(key), f"must be a whole number in [{lo}, {hi}], got {raw!r}")
            return default
        return raw

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        raw = self.get(key)
        if raw is None:
            return default
        if (
            isinstance(raw, bool)
            or not isinstance(raw, int | float)
            or not math.isfinite(raw)
            or not lo < raw <= hi
        ):
            self.problems.add(self.at(key), f"must be a number in ({lo:g}, {hi:g}], got {raw!r}")
            return default
        return float(raw)

    def address(self, key: str, default: str | None = None) -> tuple[str, int]:
        text = self.text(key, default)
        if text is None:
            return "", 0
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            self.problems.add(self.at(key), f"must be HOST:PORT, got {text!r}")
            return "", 0
        return host, int(port)

    def path(self, key: str, default: str | None = None, *, must: str = "") -> Path | None:
        """A path relative to the file. ``must`` is "file" or "dir" when it has to exist:
        a file is opened read-only to prove it can be read, and nothing is ever created."""
        raw = self.get(key)
        if raw is None and default is None:
            return None
        if raw is not None and (not isinstance(raw, str) or not raw):
            self.problems.add(self.at(key), f"must be a path, got {raw!r}")
            return None
        p = self.base / (raw if isinstance(raw, str) else str(default))
        if must:
            self.problems_of(self.at(key), p, must)
        return p

    def problems_of(self, key: str, p: Path, must: str) -> None:
        if must == "dir":
            if not p.is_dir():
                self.problems.add(key, f"directory {p} does not exist")
            return
        try:
            with p.open("rb"):
                pass
        except IsADirectoryError:
            self.problems.add(key, f"{p} is a directory, not a file")
        except FileNotFoundError:
            self.problems.add(key, f"file {p} does not exist")
        except OSError as exc:
            self.problems.add(key, f"cannot read {p}: {exc.strerror}")

    def child(self, key: str) -> _Table | None:
        raw = self.get(key)
        return None if raw is None else _Table(raw, self.at(key), self.problems, self.base)

    def done(self) -> None:
        for key in self.raw:
            if key not in self._used:
                kind = "table" if isinstance(self.raw[key], dict) else "key"
                self.problems.add(self.at(key), f"unknown {kind}")


def _private(t: _Table, key: str, p: Path | None) -> None:
    """A private key others may read is refused: it may already have been copied."""
    with contextlib.suppress(OSError):
        if p is not None and p.stat().st_mode & 0o077:
            t.problems.add(t.at(key), f"{p} is readable by others; make it 0600")


def _partner(t: _Table, nation: str, keys_dir: Path | None) -> Partner:
    host, port = t.address("address")
    tier = t.get("tier")
    if tier is not None and tier not in Tier.__members__:
        t.problems.add(t.at("tier"), f"unknown tier {tier!r} (T0, T1, T2 or T3)")
        tier = None
    ca = t.path("ca", must="file")
    t.done()
    if keys_dir is not None and keys_dir.is_dir():
        t.problems_of(t.where, keys_dir / f"{nation}.pub", "file")
    return Partner(nation, host, port, Tier[tier] if isinstance(tier, str) else None, ca)


def _sections(top: _Table) -> dict[str, Any]:
    """The tables beside the partners: ``[tls]``, ``[node]``, ``[audit]``, ``[limits]``."""
    out: dict[str, Any] = {"tls_cert": None, "tls_key": None, "node": None, "node_ca": None}
    if (tls := top.child("tls")) is not None:
        for k in ("cert", "key"):
            out[f"tls_{k}"] = tls.path(k, must="file")
            if out[f"tls_{k}"] is None:
                top.problems.add(tls.at(k), "is required")
        _private(tls, "key", out["tls_key"])
        tls.done()
    if (node := top.child("node")) is not None:
        out["node"] = node.address("address")
        out["node_ca"] = node.path("ca", must="file")
        node.done()
        # the node's feed is mutual TLS: our certificate, and the node's CA alone trusted
        for key, value in (("tls", out["tls_cert"]), ("node.ca", out["node_ca"])):
            if value is None and not top.problems.named(key):
                top.problems.add(key, "is required beside [node]: the node feed is mutual TLS")
    audit = top.child("audit") or _Table({}, "audit", top.problems, top.base)
    out["checkpoint_every_entries"] = audit.integer("checkpoint_every_entries", 1000, 1, 1 << 30)
    out["checkpoint_every_s"] = audit.number("checkpoint_every_s", 60.0, 0.0, 86_400.0)
    audit.done()
    lim = top.child("limits") or _Table({}, "limits", top.problems, top.base)
    out["max_connections"] = lim.integer("max_connections", 64, 1, 100_000)
    out["idle_timeout_s"] = lim.number("idle_timeout_s", 60.0, 0.0, 86_400.0)
    out["read_timeout_s"] = lim.number("read_timeout_s", 10.0, 0.0, 3_600.0)
    out["max_unauth_bytes"] = lim.integer("max_unauth_bytes", 64 * 1024, 1024, 1 << 24)
    lim.done()
    return out


def load_gateway_file(path: Path) -> GatewayFile:
    """Read and check a gateway file; every problem in it is raised at once
    (:class:`GatewayFileError`), each naming the file, the key and, where known, the line."""
    try:
        text = path.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", field=str(path)) from exc
    problems = _Problems(path, text)
    top = _Table(doc, "", problems, path.parent)
    nation = top.text("nation") or ""
    if nation and not _NATION.fullmatch(nation):
        problems.add("nation", f"must be a nation code in capitals, got {nation!r}")
    host, port = top.address("listen", "127.0.0.1:0")
    data_dir = top.path("data_dir", nation.lower() or ".") or path.parent
    key = top.path("key", f"keys/{nation}.key", must="file")
    _private(top, "key", key)
    keys_dir = top.path("keys_dir", "keys", must="dir")
    rules = top.path("rules", must="file")
    catalogue = top.path("catalogue", must="file")
    assessments = top.path("assessments", must="file")
    max_bytes = top.integer("max_bytes", 64 * 1024, 256, 1 << 20)

    sections = _sections(top)
    codec = top.text("codec", "cot" if sections["node"] is not None else "json")
    if codec not in ("cot", "json", None):
        problems.add("codec", f"unknown codec {codec!r} (cot or json)")
    partners: dict[str, Partner] = {}
    if (ptable := top.child("partners")) is not None:
        for name in list(ptable.raw):
            if not _NATION.fullmatch(name):
                problems.add(ptable.at(name), "must be a nation code in capitals")
            elif name == nation:
                problems.add(ptable.at(name), "is this gateway's own nation")
            sub = ptable.child(name)
            if sub is not None:
                partners[name] = _partner(sub, name, keys_dir)
        ptable.done()
    top.done()
    problems.raise_if_any()
    assert key is not None and keys_dir is not None  # defaults: set, or a problem was raised
    return GatewayFile(
        nation=nation,
        data_dir=data_dir,
        key=key,
        keys_dir=keys_dir,
        host=host,
        port=port,
        partners=MappingProxyType(partners),
        rules=rules,
        catalogue=catalogue,
        assessments=assessments,
        max_bytes=max_bytes,
        codec=codec or "json",
        source=path,
        **sections,
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
    cfg.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = GatewayDb(cfg.db_path)
    bus = SqliteBus(create_private(cfg.bus_path), clock=clock)
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
