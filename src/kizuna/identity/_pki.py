"""A small PKI for a node: a CA, a server certificate, one client certificate per principal.

Keys are generated fresh on every ``init``; none is shipped, none has a default.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections import Counter
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


# ISO 3166 alpha-2 codes for the CA's country attribute, which must be two letters
_COUNTRY = {"USA": "US", "JPN": "JP", "KOR": "KR", "AUS": "AU", "GBR": "GB"}


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
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    now: datetime,
    days: int,
    sans: list[x509.GeneralName],
    usage: tuple[x509.ObjectIdentifier, ...],
) -> x509.Certificate:
    """A certificate with the extensions strict verifiers (RFC 5280, OpenSSL's
    ``VERIFY_X509_STRICT``, Python 3.13's defaults) require: key identifiers both ways, key
    usage, and a CA that is marked as one."""
    issuer_cert, signing_key = ca if ca else (None, key)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.BasicConstraints(ca=issuer_cert is None, path_length=0 if ca is None else None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
        .add_extension(_key_usage(is_ca=issuer_cert is None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usage)), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _key_usage(*, is_ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not is_ca, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=not is_ca, key_cert_sign=is_ca, crl_sign=is_ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _ca_name(nation: str) -> x509.Name:
    """Each deployment's CA has a name of its own: a client that trusts two nodes' CAs picks
    the right one by name, where two CAs both called "Kizuna node CA" break verification."""
    tag = secrets.token_hex(4)
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, _COUNTRY.get(nation, "XX")),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Kizuna {nation}"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Kizuna {nation} node CA {tag}"),
        ]
    )


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
    nation: str | None = None,
) -> PkiPaths:
    """Create ``ca.pem``, ``server.pem``/``server.key`` and ``clients/<id>.pem``/``.key``.

    ``nation`` names the CA (default: the nation most of the registry's principals hold)."""
    if (directory / "ca.pem").exists():
        raise ConfigError(f"{directory} already holds a PKI; refusing to overwrite", field="dir")
    (directory / "clients").mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    if nation is None:
        nations = Counter(p.nation for p in registry.principals)
        nation = nations.most_common(1)[0][0] if nations else "XX"
    ca_cert = _issue(_ca_name(nation), ca_key, ca=None, now=now, days=days, sans=[], usage=())
    _write_cert(ca_cert, directory / "ca.pem")
    _write_key(ca_key, directory / "ca.key")
    ca = (ca_cert, ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue(
        _name(hosts[0]),
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
            _name(name), key, ca=ca, now=now, days=days,
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
