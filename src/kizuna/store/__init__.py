"""Durable event storage: the Store port, SQLite (the default) and memory adapters."""

from kizuna.store._base import DEFAULT, PUBLISHER, Committed, LabelSource, Record, Store
from kizuna.store._memory import MemoryStore
from kizuna.store._sqlite import SqliteStore

__all__ = [
    "DEFAULT",
    "PUBLISHER",
    "Committed",
    "LabelSource",
    "MemoryStore",
    "Record",
    "SqliteStore",
    "Store",
]
