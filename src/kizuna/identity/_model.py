"""People and devices, their clearances and vetting records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from kizuna.labels import Clearance, Viewer

__all__ = ["Principal", "PrincipalKind", "VettingRecord"]


class PrincipalKind(StrEnum):
    """What a principal is. A ``gateway`` is the alliance gateway beside a node: the one kind
    of principal the node lets read its committed feed and publish partners' items, and whose
    certificate serves both ends of the partner link."""

    PERSON = "person"
    DEVICE = "device"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class VettingRecord:
    """A completed background investigation: what, when, by whom, valid until when."""

    kind: str
    completed: date
    authority: str
    expires: date | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone or something that connects; ``cert_names`` are the certificate names
    (subject CN or subjectAltName) that identify it."""

    id: str
    nation: str
    kind: PrincipalKind = PrincipalKind.PERSON
    clearance: Clearance | None = None
    vetting: tuple[VettingRecord, ...] = ()
    cert_names: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.nation, self.clearance, self.categories)
