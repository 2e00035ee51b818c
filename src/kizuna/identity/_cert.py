"""Identity from the peer's TLS certificate, and only from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kizuna.identity._model import Principal
from kizuna.identity._registry import Registry

__all__ = ["cert_names", "principal_for_cert"]

PeerCert = Mapping[str, object]


def cert_names(cert: PeerCert) -> list[str]:
    """Names in a verified peer certificate (``ssl.getpeercert()``): SANs first, then CN."""
    names: list[str] = []
    san = cert.get("subjectAltName", ())
    if isinstance(san, Sequence):
        for item in san:
            if isinstance(item, tuple) and len(item) == 2 and item[0] in ("DNS", "URI", "email"):
                names.append(str(item[1]))
    subject = cert.get("subject", ())
    if isinstance(subject, Sequence):
        for rdn in subject:
            for pair in rdn if isinstance(rdn, tuple) else ():
                if isinstance(pair, tuple) and len(pair) == 2 and pair[0] == "commonName":
                    names.append(str(pair[1]))
    return names


def principal_for_cert(cert: PeerCert | None, registry: Registry) -> Principal | None:
    """The registry entry a certificate names; None when it names none (or several)."""
    if not cert:
        return None
    found = {p.id: p for n in cert_names(cert) if (p := registry.by_cert_name(n)) is not None}
    if len(found) != 1:
        return None
    return next(iter(found.values()))
