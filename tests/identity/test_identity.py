from __future__ import annotations

import ssl
import stat
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
