"""The node's configuration, read from TOML (``kizuna node serve --config node.toml``)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kizuna.errors import ConfigError, ParseError
from kizuna.labels import Label, PolicyTable, default_table, parse_banner

__all__ = [
    "FeedConfig",
    "Limits",
    "NodeConfig",
    "TcpConfig",
    "TlsConfig",
    "config_from_mapping",
    "load_config",
]


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 1024
    client_buffer_bytes: int = 1024 * 1024  # unsent bytes per client before it is shed
    idle_timeout_s: float = 600.0
    read_timeout_s: float = 15.0  # to finish a message once begun, and for the TLS handshake
    max_event_bytes: int = 64 * 1024
    max_skew_s: float = 300.0  # how far ahead of the node's clock an event may be stamped
    pending_commits: int = 4  # reads (up to 64 KiB each) in flight to the store per client
    drain_timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class TlsConfig:
    cert: Path
    key: Path
    ca: Path
    host: str = "0.0.0.0"  # noqa: S104 - the TLS listener is meant to be reachable
    port: int = 8089
    default_label: Label | None = None


@dataclass(frozen=True, slots=True)
class TcpConfig:
    """Plain TCP for local tools: loopback only, every client is ``identity``. Anyone who
    can open the port acts as it without credentials, so ``identity`` must hold no clearance
    above UNCLASSIFIED unless ``allow_cleared`` (``allow_cleared_tcp = true``) says the
    operator means it; the node then warns at start."""

    identity: str
    port: int = 8087
    default_label: Label | None = None
    allow_cleared: bool = False


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """The committed-event feed for the node's own gateway: mutual TLS with the node's
    [tls] certificate and CA, open only to registry principals of kind ``gateway`` of the
    node's nation."""

    host: str = "127.0.0.1"
    port: int = 8090
    max_connections: int = 8


@dataclass(frozen=True, slots=True)
class TrackingConfig:
    """Detections published as CoT (types under ``detection_type``) are tracked per sensor
    around ``origin`` and their tracks relayed every ``scan_s`` seconds."""

    origin: tuple[float, float]
    detection_type: str = "b-d"
    scan_s: float = 1.0
    stale_s: float = 120.0


def _tracking(raw: Mapping[str, object]) -> TrackingConfig | None:
    if not raw:
        return None
    unknown = set(raw) - {"origin_lat", "origin_lon", "detection_type", "scan_s", "stale_s"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)}", field="tracking")
    values: dict[str, float] = {}
    for key, lo, hi in (("origin_lat", -89.0, 89.0), ("origin_lon", -180.0, 180.0),
                        ("scan_s", 0.05, 3600.0), ("stale_s", 1.0, 86_400.0)):  # fmt: skip
        value = raw.get(key, {"scan_s": 1.0, "stale_s": 120.0}.get(key))
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise ConfigError(f"must be a number in [{lo:g}, {hi:g}]", field=f"tracking.{key}")
        values[key] = float(value)
    kind = raw.get("detection_type", "b-d")
    if not isinstance(kind, str) or not kind:
        raise ConfigError("must be a CoT type prefix", field="tracking.detection_type")
    return TrackingConfig(
        (values["origin_lat"], values["origin_lon"]), kind, values["scan_s"], values["stale_s"]
    )


@dataclass(frozen=True, slots=True)
class NodeConfig:
    nation: str
    store_path: Path
    registry: Path
    default_label: Label
    tls: TlsConfig | None = None
    tcp: TcpConfig | None = None
    limits: Limits = field(default_factory=Limits)
    announce_protocol: bool = True
    keep_unknown_detail: bool = True
    tracking: TrackingConfig | None = None
    feed: FeedConfig | None = None


def _table(raw: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError("must be a table", field=key)
    return value


def _label(text: object, where: str, table: PolicyTable) -> Label | None:
    if text is None:
        return None
    try:
        return parse_banner(str(text), table)
    except ParseError as exc:
        raise ConfigError(str(exc), field=where) from exc


def _path(base: Path, raw: object, where: str) -> Path:
    if not isinstance(raw, str) or not raw:
        raise ConfigError("is required (a path)", field=where)
    return base / raw


def _limits(raw: Mapping[str, object]) -> Limits:
    known = set(Limits.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)}", field="limits")
    values: dict[str, float | int] = {}
    for key, value in raw.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError("must be a positive number", field=f"limits.{key}")
        values[key] = value
    return Limits(**values)  # type: ignore[arg-type]


def _feed(raw: Mapping[str, object], tls: TlsConfig | None) -> FeedConfig | None:
    if not raw or raw.get("enabled", True) is False:
        return None
    unknown = set(raw) - {"enabled", "host", "port", "max_connections"}
    if unknown:
        raise ConfigError(f"unknown keys {sorted(unknown)}", field="feed")
    if tls is None:
        raise ConfigError(
            "the feed is served over the node's [tls] certificate and CA", field="feed"
        )
    host = raw.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host:
        raise ConfigError("must be a host name or address", field="feed.host")
    values: dict[str, int] = {}
    for key, default, lo, hi in (("port", 8090, 0, 65535), ("max_connections", 8, 1, 1024)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(f"must be an integer in [{lo}, {hi}]", field=f"feed.{key}")
        values[key] = value
    return FeedConfig(host, values["port"], values["max_connections"])


# Every key a node file may hold, by table: anything else is a mistake (a misspelt key would
# otherwise be a setting silently not made, such as a TCP guard left off).
_KNOWN: dict[str, frozenset[str]] = {
    "node": frozenset({"nation", "registry", "data_dir", "default_label", "announce_protocol",
                       "keep_unknown_detail"}),
    "tls": frozenset({"enabled", "cert", "key", "ca", "host", "port", "default_label"}),
    "tcp": frozenset({"enabled", "identity", "port", "default_label", "allow_cleared_tcp"}),
    "limits": frozenset(), "tracking": frozenset(), "feed": frozenset(),  # checked by their readers
}  # fmt: skip


def _unknown_keys(raw: Mapping[str, object]) -> None:
    """Every unknown table or key at once, each named."""
    problems = [f"{k}: unknown table" for k in raw if k not in _KNOWN]
    for name, keys in _KNOWN.items():
        value = raw.get(name)
        if keys and isinstance(value, Mapping):
            problems += [f"{name}.{k}: unknown key" for k in value if k not in keys]
    if problems:
        raise ConfigError("; ".join(sorted(problems)), field="config")


def config_from_mapping(raw: Mapping[str, object], base: Path) -> NodeConfig:
    table = default_table()
    _unknown_keys(raw)
    node, tls, tcp = _table(raw, "node"), _table(raw, "tls"), _table(raw, "tcp")
    nation = node.get("nation")
    if not isinstance(nation, str) or not nation.isalpha() or not nation.isupper():
        raise ConfigError(
            "is required: the nation this node serves (a trigraph such as USA)",
            field="node.nation",
        )
    data_dir = _path(base, node.get("data_dir", "kizuna-data"), "node.data_dir")
    if node.get("default_label") is None:
        raise ConfigError(
            "is required: the label an unlabelled event takes (set the most restrictive "
            "label of the network this node serves)",
            field="node.default_label",
        )
    default = _label(node.get("default_label"), "node.default_label", table)
    assert default is not None
    tls_cfg = tcp_cfg = None
    if tls.get("enabled", True) and tls:
        tls_cfg = TlsConfig(
            cert=_path(base, tls.get("cert"), "tls.cert"),
            key=_path(base, tls.get("key"), "tls.key"),
            ca=_path(base, tls.get("ca"), "tls.ca"),
            host=str(tls.get("host", "0.0.0.0")),  # noqa: S104
            port=int(str(tls.get("port", 8089))),
            default_label=_label(tls.get("default_label"), "tls.default_label", table),
        )
    if tcp.get("enabled", False):
        identity = tcp.get("identity")
        if not isinstance(identity, str) or not identity:
            raise ConfigError(
                "plain TCP needs the identity its clients act as", field="tcp.identity"
            )
        allow = tcp.get("allow_cleared_tcp", False)
        if not isinstance(allow, bool):
            raise ConfigError("must be true or false", field="tcp.allow_cleared_tcp")
        tcp_cfg = TcpConfig(
            identity=identity,
            port=int(str(tcp.get("port", 8087))),
            default_label=_label(tcp.get("default_label"), "tcp.default_label", table),
            allow_cleared=allow,
        )
    if tls_cfg is None and tcp_cfg is None:
        raise ConfigError("enable at least one listener", field="tls")
    return NodeConfig(
        nation=nation,
        store_path=data_dir / "events.db",
        registry=_path(base, node.get("registry"), "node.registry"),
        default_label=default,
        tls=tls_cfg,
        tcp=tcp_cfg,
        limits=_limits(_table(raw, "limits")),
        announce_protocol=bool(node.get("announce_protocol", True)),
        keep_unknown_detail=bool(node.get("keep_unknown_detail", True)),
        tracking=_tracking(_table(raw, "tracking")),
        feed=_feed(_table(raw, "feed"), tls_cfg),
    )


def load_config(path: Path) -> NodeConfig:
    """Read node.toml; relative paths in it are relative to the file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", field="config") from exc
    return config_from_mapping(raw, path.parent)
