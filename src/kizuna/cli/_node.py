"""``kizuna node`` and ``kizuna pki``: run a national node, make its certificates."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from kizuna.clock import RealClock
from kizuna.errors import KizunaError
from kizuna.identity import init_pki, load_registry
from kizuna.node import NodeServer, load_config, serve

node_app = typer.Typer(help="The national node: CoT/TAK server.", no_args_is_help=True)
pki_app = typer.Typer(help="Certificates for a node and its clients.", no_args_is_help=True)


@node_app.command("serve")
def serve_cmd(
    config: Annotated[Path, typer.Option(help="node.toml")],
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
) -> None:
    """Serve TAK clients until SIGTERM; then drain, commit and close."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        cfg = load_config(config)
        stats = asyncio.run(serve(cfg, _ready))
    except KizunaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    print(json.dumps({"stopped": stats}), file=sys.stderr, flush=True)


def _ready(node: NodeServer) -> None:
    ports = {"tls_port": node.tls_port, "tcp_port": node.tcp_port, "feed_port": node.feed_port}
    print(json.dumps(ports), flush=True)


@pki_app.command("init")
def pki_init(
    directory: Annotated[Path, typer.Argument(help="Where to write the CA and certificates.")],
    registry: Annotated[Path, typer.Option(help="Registry (.toml/.yaml) of principals.")],
    host: Annotated[list[str] | None, typer.Option(help="Server names/IPs.")] = None,
    days: Annotated[int, typer.Option(help="Validity in days.")] = 365,
    nation: Annotated[
        str | None, typer.Option(help="The CA's nation (default: most principals').")
    ] = None,
) -> None:
    """Create a CA, a server certificate and a client certificate per registry entry."""
    try:
        reg = load_registry(registry)
        hosts = tuple(host) if host else ("localhost", "127.0.0.1")
        paths = init_pki(directory, reg, RealClock().now(), hosts=hosts, days=days, nation=nation)
    except KizunaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"CA {paths.ca_cert}; server {paths.server_cert}; {len(paths.clients)} clients")
