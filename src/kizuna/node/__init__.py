"""The national node: the CoT/TAK stream server over the store and the picture."""

from kizuna.node._client import Client
from kizuna.node._config import (
    FeedConfig,
    Limits,
    NodeConfig,
    TcpConfig,
    TlsConfig,
    TrackingConfig,
    config_from_mapping,
    load_config,
)
from kizuna.node._run import build_node, serve
from kizuna.node._server import NodeServer
from kizuna.node._stats import Drop, Stats

__all__ = [
    "Client",
    "Drop",
    "FeedConfig",
    "Limits",
    "NodeConfig",
    "NodeServer",
    "Stats",
    "TcpConfig",
    "TlsConfig",
    "TrackingConfig",
    "build_node",
    "config_from_mapping",
    "load_config",
    "serve",
]
