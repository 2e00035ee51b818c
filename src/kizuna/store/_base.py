"""The Store port: a durable, idempotent log of CoT events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec

from kizuna.cot import Event
from kizuna.errors import StoreError
from kizuna.labels import Decider, Viewer

__all__ = ["DEFAULT", "PUBLISHER", "Committed", "LabelSource", "Record", "Store", "visible"]

Committed = Callable[[tuple[bool, ...] | StoreError], None]
"""Told, on the event loop, a submitted batch's new-flags once durable, or why it is not."""


LabelSource = Literal["publisher", "default"]
"""Who set a record's label: its publisher, or the node applying its default label."""
PUBLISHER: LabelSource = "publisher"
DEFAULT: LabelSource = "default"


class Record(msgspec.Struct, frozen=True):
    """An event as the node accepted it: ``origin`` is the publishing principal's id,
    ``nation`` the nation the item comes from (the authenticated publisher's, or for a
    partner's item the one its gateway stated: never read from the item), and
    ``label_source`` whether the publisher labelled it or the node's default did. A frozen
    msgspec struct, like the event it holds: a picture makes one per item."""

    origin: str
    event: Event
    nation: str = ""
    label_source: LabelSource = PUBLISHER

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.origin, self.event.uid, self.event.time)


@runtime_checkable
class Store(Protocol):
    async def append(self, records: Sequence[Record]) -> tuple[bool, ...]:
        """Make records durable; on return they are committed. True where a record was new:
        a record whose (origin, uid, time) is already stored is ignored, so replays are
        idempotent."""
        ...

    def submit(
        self, records: Sequence[Record], done: Committed, *, after: Callable[[], None] | None = None
    ) -> None:
        """``append`` without a task: ``done`` gets what ``append`` would return (or raise)
        from a later turn of the event loop, never from inside ``submit``. ``after`` is
        called once the ``done`` of everything committed with these records has been, once
        per commit however many submits passed it (a server sends its relays then). Raises
        StoreError at once when the store is closed."""
        ...

    async def replay(
        self,
        start: datetime,
        end: datetime,
        viewer: Viewer | None = None,
        at: datetime | None = None,
        *,
        limit: int = 100_000,
    ) -> list[Record]:
        """Records with ``start <= time < end`` in commit order; with a viewer, only those
        its labels let that viewer see at time ``at``."""
        ...

    async def current(self, at: datetime) -> list[Record]:
        """The picture as the store holds it at ``at``: for each uid its latest record (by
        event time, then commit order), if that record is not yet stale; in commit order.
        A node rebuilds its picture from this when it starts."""
        ...

    async def owners(self) -> dict[str, str]:
        """uid -> the origin that first published it."""
        ...

    async def count(self) -> int: ...

    async def since(self, after: int, limit: int) -> list[tuple[int, Record]]:
        """Up to ``limit`` records committed after sequence number ``after``, in commit
        order, each with its sequence number. Sequence numbers grow with every commit, so a
        reader that keeps the last one it saw misses nothing and sees nothing twice."""
        ...

    async def last_seq(self) -> int:
        """The sequence number of the last committed record (0 when there is none)."""
        ...

    async def close(self) -> None: ...


def visible(
    records: list[Record], viewer: Viewer | None, at: datetime | None, decider: Decider
) -> list[Record]:
    if viewer is None:
        return records
    if at is None:
        raise ValueError("a replay for a viewer needs the decision time 'at'")
    return [r for r in records if decider.decide(r.event.label, viewer, at).permit]
