from __future__ import annotations

import socket
import ssl
import stat
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography import x509

from kizuna.errors import ConfigError
from kizuna.identity import (
    PrincipalKind,
    cert_names,
    init_pki,
    load_registry,
    principal_for_cert,
    registry_from_mapping,
)
from kizuna.labels import ClearanceStatus

TOML = """
[[principal]]
id = "usa-secret"
nation = "USA"
clearance = "USA:SECRET"
expires = "2027-12-31"
[[principal.vetting]]
kind = "T5"
completed = 2024-01-01
authority = "DCSA"

[[principal]]
id = "jpn-sensor-1"
kind = "device"
nation = "JPN"
clearance = "JPN:HI"
status = "suspended"
expires = "2027-03-31"
cert_names = ["sensor-1.jgsdf.example", "jpn-sensor-1"]
"""

YAML = """
principal:
  - id: usa-secret
    nation: USA
    clearance: USA:SECRET
    expires: 2027-12-31
    vetting: [{kind: T5, completed: 2024-01-01, authority: DCSA}]
  - id: jpn-sensor-1
    kind: device
    nation: JPN
    clearance: JPN:HI
    status: suspended
    expires: 2027-03-31
    cert_names: [sensor-1.jgsdf.example, jpn-sensor-1]
"""


@pytest.mark.parametrize(("name", "text"), [("r.toml", TOML), ("r.yaml", YAML)])
def test_registry_reads_toml_and_yaml_alike(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    reg = load_registry(path)
    usa = reg.get("usa-secret")
    assert usa is not None and usa.clearance is not None
    assert usa.clearance.code == "USA:SECRET" and usa.clearance.expires == date(2027, 12, 31)
    assert usa.vetting[0].authority == "DCSA"
    sensor = reg.by_cert_name("sensor-1.jgsdf.example")
    assert sensor is not None and sensor.kind is PrincipalKind.DEVICE
    assert sensor.clearance is not None and sensor.clearance.status is ClearanceStatus.SUSPENDED
    assert sensor.viewer.nation == "JPN"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"nation": "USA"}, "principal[0].id"),
        ({"id": "x"}, "principal.x.nation"),
        ({"id": "x", "nation": "USA", "clearance": "SECRET"}, "principal.x.clearance"),
        (
            {"id": "x", "nation": "USA", "clearance": "USA:SECRET", "expires": "soon"},
            "principal.x.expires",
        ),
        (
            {"id": "x", "nation": "USA", "clearance": "USA:SECRET", "expires": "2027-01-01",
             "status": "maybe"},
            "principal.x.status",
        ),
        ({"id": "x", "nation": "USA", "kind": "robot"}, "principal.x.kind"),
    ],
)  # fmt: skip
def test_bad_registry_entries_name_the_field(entry: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        registry_from_mapping({"principal": [entry]})
    assert err.value.field == field


def test_a_certificate_name_cannot_belong_to_two_principals() -> None:
    with pytest.raises(ConfigError, match="two principals"):
        registry_from_mapping(
            {
                "principal": [
                    {"id": "a", "nation": "USA", "cert_names": ["n"]},
                    {"id": "b", "nation": "USA", "cert_names": ["n"]},
                ]
            }
        )


def test_identity_comes_from_certificate_names() -> None:
    reg = registry_from_mapping({"principal": [{"id": "a", "nation": "USA"}]})
    cert = {"subject": ((("countryName", "US"),), (("commonName", "a"),))}
    assert cert_names(cert) == ["a"]
    principal = principal_for_cert(cert, reg)
    assert principal is not None and principal.id == "a"
    assert principal_for_cert({"subject": ((("commonName", "zz"),),)}, reg) is None
    assert principal_for_cert(None, reg) is None
    assert principal_for_cert({}, reg) is None


def test_pki_init_makes_a_verifiable_chain_with_private_keys(tmp_path: Path) -> None:
    reg = registry_from_mapping({"principal": [{"id": "usa-secret", "nation": "USA"}]})
    paths = init_pki(tmp_path / "pki", reg, datetime.now(UTC))
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    client_pem, client_key = paths.clients["usa-secret"]
    client = x509.load_pem_x509_certificate(client_pem.read_bytes())
    client.verify_directly_issued_by(ca)
    assert client.subject.rfc4514_string() == "CN=usa-secret"
    assert stat.S_IMODE(client_key.stat().st_mode) == 0o600
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(paths.server_cert, paths.server_key)
    with pytest.raises(ConfigError, match="refusing"):
        init_pki(tmp_path / "pki", reg, datetime.now(UTC))


def test_two_inits_share_no_key(tmp_path: Path) -> None:
    reg = registry_from_mapping({"principal": [{"id": "a", "nation": "USA"}]})
    one = init_pki(tmp_path / "one", reg, datetime.now(UTC))
    two = init_pki(tmp_path / "two", reg, datetime.now(UTC))
    assert one.server_key.read_bytes() != two.server_key.read_bytes()


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str:
    """One TLS handshake over a socket pair; the client's view of the server's CN."""

    a, b = socket.socketpair()
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server.wrap_socket(a, server_side=True) as s:
                s.recv(1)
        except (ssl.SSLError, OSError) as exc:
            errors.append(exc)

    t = threading.Thread(target=serve)
    t.start()
    try:
        with client.wrap_socket(b, server_hostname="localhost") as c:
            c.sendall(b"x")
            peer = c.getpeercert()
    finally:
        t.join(5)
    assert not errors, errors
    return str(dict(x[0] for x in peer["subject"])["commonName"])


def test_two_nations_cas_verify_strictly_side_by_side(tmp_path: Path) -> None:
    """A client that trusts both nations' CAs at once, under strict X.509 checking (what
    Python 3.13 turns on by default), reaches each node, and each node takes its own
    client's certificate strictly too."""
    now = datetime.now(UTC)
    paths = {}
    for nation in ("USA", "JPN"):
        reg = registry_from_mapping({"principal": [{"id": f"c-{nation}", "nation": nation}]})
        paths[nation] = init_pki(tmp_path / nation, reg, now)
    names = {
        x509.load_pem_x509_certificate(p.ca_cert.read_bytes()).subject.rfc4514_string()
        for p in paths.values()
    }
    assert len(names) == 2, "each deployment's CA must have a name of its own"
    both = tmp_path / "both.pem"
    both.write_bytes(b"".join(p.ca_cert.read_bytes() for p in paths.values()))
    for nation, p in paths.items():
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(both))
        server.load_cert_chain(p.server_cert, p.server_key)
        server.verify_mode = ssl.CERT_REQUIRED
        server.verify_flags |= ssl.VERIFY_X509_STRICT
        client = ssl.create_default_context(cafile=str(both))
        client.verify_flags |= ssl.VERIFY_X509_STRICT
        client.load_cert_chain(*p.clients[f"c-{nation}"])
        assert _handshake(server, client) == "localhost"
    # a client of one nation is not a client of the other's node, though it trusts both CAs
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(paths["JPN"].ca_cert))
    server.load_cert_chain(paths["JPN"].server_cert, paths["JPN"].server_key)
    server.verify_mode = ssl.CERT_REQUIRED
    client = ssl.create_default_context(cafile=str(both))
    client.load_cert_chain(*paths["USA"].clients["c-USA"])
    with pytest.raises((ssl.SSLError, OSError, AssertionError)):
        _handshake(server, client)


def test_certificates_carry_the_extensions_strict_verifiers_need(tmp_path: Path) -> None:
    reg = registry_from_mapping(
        {
            "principal": [
                {"id": "gw", "nation": "USA", "kind": "gateway"},
                {"id": "p", "nation": "USA"},
            ]
        }
    )
    paths = init_pki(tmp_path / "pki", reg, datetime.now(UTC))
    ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    assert "USA" in ca.subject.rfc4514_string()
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    for pem in (paths.server_cert, paths.clients["gw"][0], paths.clients["p"][0]):
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == ca_ski.digest
        cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    gw = x509.load_pem_x509_certificate(paths.clients["gw"][0].read_bytes())
    usages = set(gw.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == {
        x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
        x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
    }
