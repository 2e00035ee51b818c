"""The Bus port: shaped like NATS JetStream so a JetStream adapter can stand in later.

A publish carries a message id; the stream keeps one copy per id (a re-publish is acknowledged
as a duplicate). A durable consumer hands out messages in stream order, each one redelivered
until it is explicitly acknowledged after processing; a negative acknowledgement or an ack
deadline that passes makes it due again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Acker", "Bus", "Message", "PubAck", "Subscription", "subject", "subject_matches"]


def subject(kind: str, nation: str) -> str:
    """The subject for one kind of traffic of one nation, e.g. ``kizuna.gw.out.JPN``."""
    for part, name in ((kind, "kind"), (nation, "nation")):
        if not part or any(c in part for c in " .*>\t\r\n"):
            raise ValueError(f"{name} {part!r} cannot be a subject token")
    return f"kizuna.gw.{kind}.{nation}"


def subject_matches(pattern: str, name: str) -> bool:
    """NATS wildcard rules: ``*`` matches one token, a final ``>`` one or more."""
    pat, toks = pattern.split("."), name.split(".")
    for i, p in enumerate(pat):
        if p == ">":
            return i == len(pat) - 1 and len(toks) > i
        if i >= len(toks) or (p != "*" and p != toks[i]):
            return False
    return len(pat) == len(toks)


@dataclass(frozen=True, slots=True)
class PubAck:
    stream: str
    seq: int
    duplicate: bool = False


class Acker(Protocol):
    async def ack(self, seq: int) -> None: ...

    async def nak(self, seq: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    data: bytes
    msg_id: str
    seq: int
    deliveries: int
    acker: Acker

    async def ack(self) -> None:
        """Processing is done: never deliver this message to this consumer again."""
        await self.acker.ack(self.seq)

    async def nak(self) -> None:
        """Processing failed: deliver again (in stream order) on the next fetch."""
        await self.acker.nak(self.seq)


class Subscription(Protocol):
    async def fetch(self, batch: int = 1, timeout: float = 0.0) -> list[Message]:
        """Up to ``batch`` due messages in stream order; waits up to ``timeout`` s for one."""
        ...

    def pending(self) -> int:
        """Messages handed out or waiting that are not yet acknowledged."""
        ...

    async def ack_many(self, messages: Sequence[Message]) -> None:
        """``ack`` for each message, together: as a JetStream client sends its acks without
        waiting on each."""
        ...


class Bus(Protocol):
    async def publish(self, subject: str, data: bytes, *, msg_id: str) -> PubAck:
        """Store durably (on return) unless ``msg_id`` was already published."""
        ...

    async def publish_many(
        self, subject: str, messages: Sequence[tuple[bytes, str]]
    ) -> list[PubAck]:
        """``publish`` for each ``(data, msg_id)`` in order, all durable on return: as a
        JetStream client pipelines publishes and then awaits their acks together."""
        ...

    async def subscribe(
        self, filter_subject: str, *, durable: str, ack_wait: float = 30.0
    ) -> Subscription:
        """A durable pull consumer: its position survives restarts of the bus."""
        ...

    async def close(self) -> None: ...
