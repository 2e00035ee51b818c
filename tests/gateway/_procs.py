"""Real processes for integration tests: gateways and national nodes on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kizuna.identity import init_pki, registry_from_mapping

GATEWAY_CLEARANCE = {"USA": "USA:TOP SECRET", "JPN": "JPN:KIMITSU"}


@dataclass(frozen=True)
class LinkPki:
    """A nation's own PKI (its own CA) holding its gateway principal's certificate."""

    ca: Path
    cert: Path
    key: Path
    pki: Path


def gateway_pki(d: Path, nation: str, *, directory: str | None = None,
                extra: str = "") -> LinkPki:  # fmt: skip
    """``kizuna pki init`` for one nation: a registry with its ``kind = "gateway"`` principal
    ``gateway-<nation>`` (and ``extra`` principals), in ``d/<directory or nation>-pki``."""
    n = nation.lower()
    pid = f"gateway-{n}"
    clearance = GATEWAY_CLEARANCE.get(nation, f"{nation}:SECRET")
    text = (
        f'[[principal]]\nid = "{pid}"\nnation = "{nation}"\nclearance = "{clearance}"\n'
        f'expires = "2099-12-31"\nkind = "gateway"\n\n{extra}'
    )
    where = d / f"{directory or n}-pki"
    paths = init_pki(where, registry_from_mapping(tomllib.loads(text)),
                     datetime.now(UTC) - timedelta(minutes=1))  # fmt: skip
    cert, key = paths.clients[pid]
    return LinkPki(paths.ca_cert, cert, key, where)


def nation_pki(d: Path, nation: str) -> LinkPki:
    """:func:`gateway_pki` for ``nation`` in ``d``, made once: later calls (the partner's
    gateway file in the same directory) find the same CA and certificate."""
    where = d / f"{nation.lower()}-pki"
    if not (where / "ca.pem").exists():
        return gateway_pki(d, nation)
    client = where / "clients" / f"gateway-{nation.lower()}"
    return LinkPki(where / "ca.pem", client.with_suffix(".pem"), client.with_suffix(".key"), where)


def link_toml(
    d: Path,
    own: LinkPki,
    partners: dict[str, tuple[str, LinkPki]],
    *,
    tiers: Mapping[str, str] | None = None,
) -> str:
    """The ``[tls]`` table and ``[partners.X]`` tables (address, ca, and the tier if
    ``tiers`` names one) for a gateway file in ``d``; ``partners``: nation -> (address, that
    nation's PKI)."""
    out = f'[tls]\ncert = "{own.cert.relative_to(d)}"\nkey = "{own.key.relative_to(d)}"\n'
    for nation, (address, pki) in partners.items():
        out += f'[partners.{nation}]\naddress = "{address}"\nca = "{pki.ca.relative_to(d)}"\n'
        if tiers and nation in tiers:
            out += f'tier = "{tiers[nation]}"\n'
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kizuna(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kizuna.cli", *args],
        capture_output=True, text=True, timeout=60, check=check,
    )  # fmt: skip


class Proc:
    """A ``kizuna`` server process that prints one JSON line when it is ready."""

    command: tuple[str, ...] = ("gateway", "serve", "-c")

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.ready: dict[str, object] = {}

    def start(self) -> dict[str, object]:
        log = self.config.with_suffix(".log")
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kizuna.cli", *self.command, str(self.config)],
                stdout=subprocess.PIPE, stderr=err, text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, log.read_text()
        self.ready = json.loads(line)
        return self.ready

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


def write_config(d: Path, nation: str, port: int, partner: str, pport: int, tier: str) -> Path:
    """A gateway file with the link's TLS: each nation's PKI is made once, in ``d``."""
    own, theirs = nation_pki(d, nation), nation_pki(d, partner)
    cfg = d / f"{nation.lower()}.toml"
    cfg.write_text(
        f'nation = "{nation}"\nlisten = "127.0.0.1:{port}"\ndata_dir = "{nation.lower()}"\n'
        f'key = "keys/{nation}.key"\nkeys_dir = "keys"\n'
        + link_toml(d, own, {partner: (f"127.0.0.1:{pport}", theirs)}, tiers={partner: tier})
    )
    return cfg


class Gateway(Proc):
    command = ("gateway", "serve", "-c")


class NodeProc(Proc):
    command = ("node", "serve", "--config")
