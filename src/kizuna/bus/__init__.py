"""The message bus between gateways: a Protocol shaped like NATS JetStream, and its embedded
SQLite-backed default."""

from kizuna.bus._protocol import (
    Acker,
    Bus,
    Message,
    PubAck,
    Subscription,
    subject,
    subject_matches,
)
from kizuna.bus._sqlite import SqliteBus

__all__ = [
    "Acker",
    "Bus",
    "Message",
    "PubAck",
    "SqliteBus",
    "Subscription",
    "subject",
    "subject_matches",
]
