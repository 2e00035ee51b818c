"""The one small error hierarchy. Denials are data, not exceptions: these are for bad input
that cannot be turned into a decision, for broken configuration, and for I/O faults."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "KizunaError",
    "ParseError",
    "PolicyError",
    "StoreError",
    "TransportError",
    "ValidationError",
]


class KizunaError(Exception):
    """Base of every error Kizuna raises on purpose."""


class ParseError(KizunaError):
    """Input could not be parsed (a label, a CoT event, a frame, a file)."""


class ValidationError(KizunaError):
    """Input parsed but breaks a rule; ``field`` names where, when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class ConfigError(ValidationError):
    """A configuration, scenario or data file is invalid."""


class PolicyError(KizunaError):
    """A security policy table is inconsistent (for example an equivalence table)."""


class StoreError(KizunaError):
    """The durable store failed; the cause is chained."""


class TransportError(KizunaError):
    """A network or bus transport failed; the cause is chained."""
