"""A small PKI for a node: a CA, a server certificate, one client certificate per principal.

Keys are generated fresh on every ``init``; none is shipped, none has a default.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kizuna._files import write_private
from kizuna.errors import ConfigError
from kizuna.identity._model import PrincipalKind
from kizuna.identity._registry import Registry

__all__ = ["PkiPaths", "init_pki"]

CLIENT_AUTH, SERVER_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH


@dataclass(frozen=True, slots=True)
class PkiPaths:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]]  # principal id -> (cert, key)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, data)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    now: datetime,
    days: int,
    sans: list[x509.GeneralName],
    usage: tuple[x509.ObjectIdentifier, ...],
) -> x509.Certificate:
    issuer = ca[0].subject if ca else _name(subject)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usage)), critical=False)
    return builder.sign(ca[1] if ca else key, hashes.SHA256())


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def init_pki(
    directory: Path,
    registry: Registry,
    now: datetime,
    *,
    hosts: tuple[str, ...] = ("localhost", "127.0.0.1"),
    days: int = 365,
) -> PkiPaths:
    """Create ``ca.pem``, ``server.pem``/``server.key`` and ``clients/<id>.pem``/``.key``."""
    if (directory / "ca.pem").exists():
        raise ConfigError(f"{directory} already holds a PKI; refusing to overwrite", field="dir")
    (directory / "clients").mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _issue("Kizuna node CA", ca_key, ca=None, now=now, days=days, sans=[], usage=())
    _write_cert(ca_cert, directory / "ca.pem")
    _write_key(ca_key, directory / "ca.key")
    ca = (ca_cert, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue(
        hosts[0],
        server_key,
        ca=ca,
        now=now,
        days=days,
        sans=[_host_name(h) for h in hosts],
        usage=(SERVER_AUTH,),
    )
    _write_cert(server, directory / "server.pem")
    _write_key(server_key, directory / "server.key")
    clients: dict[str, tuple[Path, Path]] = {}
    for p in registry.principals:
        key = ec.generate_private_key(ec.SECP256R1())
        name = sorted(p.cert_names)[0] if p.cert_names else p.id
        # a gateway's certificate is both ends of the partner link: it serves and it dials
        gateway = p.kind is PrincipalKind.GATEWAY
        cert = _issue(
            name, key, ca=ca, now=now, days=days,
            sans=[_host_name(h) for h in hosts] if gateway else [],
            usage=(CLIENT_AUTH, SERVER_AUTH) if gateway else (CLIENT_AUTH,),
        )  # fmt: skip
        paths = directory / "clients" / f"{p.id}.pem", directory / "clients" / f"{p.id}.key"
        _write_cert(cert, paths[0])
        _write_key(key, paths[1])
        clients[p.id] = paths
    return PkiPaths(
        directory / "ca.pem", directory / "server.pem", directory / "server.key", clients
    )
