"""Identity: principals with clearances and vetting, a registry, certificates, a small PKI."""

from kizuna.identity._cert import cert_names, principal_for_cert
from kizuna.identity._model import Principal, PrincipalKind, VettingRecord
from kizuna.identity._pki import PkiPaths, init_pki
from kizuna.identity._registry import Registry, load_registry, registry_from_mapping

__all__ = [
    "PkiPaths",
    "Principal",
    "PrincipalKind",
    "Registry",
    "VettingRecord",
    "cert_names",
    "init_pki",
    "load_registry",
    "principal_for_cert",
    "registry_from_mapping",
]
