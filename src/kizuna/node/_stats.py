"""What the node refused and why: every rejection is counted under a reason and logged."""

from __future__ import annotations

import logging
from collections import Counter
from enum import StrEnum

__all__ = ["Drop", "Stats"]


class Drop(StrEnum):
    """Why an event was dropped or a connection closed."""

    # events
    MALFORMED = "malformed"  # not parseable: bad XML, DTD/entities, NUL, bad UTF-8, protobuf
    INVALID = "invalid"  # parsed but a field breaks a rule (range, NaN, stale before start)
    FUTURE_TIME = "future_time"
    NOT_PERMITTED = "not_permitted"  # above the publisher's clearance or releasability
    UID_OWNED = "uid_owned"  # the uid belongs to another identity
    STORE_FAILED = "store_failed"
    # reserved detail (``__kizuna...``) a client wrote: taken out, the rest of the event kept
    RESERVED_STRIPPED = "reserved_stripped"
    # connections
    FRAMING = "framing"  # garbage, absurd frame length, an event over the size limit
    IDLE_TIMEOUT = "idle_timeout"
    PARTIAL_TIMEOUT = "partial_timeout"
    CONNECTION_LIMIT = "connection_limit"
    UNKNOWN_CERTIFICATE = "unknown_certificate"
    SLOW_CONSUMER = "slow_consumer"
    FEED_REFUSED = "feed_refused"  # a connection to the feed that is not our gateway


class Stats:
    def __init__(self, logger: logging.Logger) -> None:
        self.log = logger
        self.dropped: Counter[Drop] = Counter()
        self.accepted = 0
        self.duplicates = 0
        self.delivered = 0
        self.withheld = 0  # deliveries a label did not permit
        self.connections = 0

    def drop(self, reason: Drop, who: str, detail: str) -> None:
        self.dropped[reason] += 1
        self.log.warning("dropped %s from %s: %s", reason.value, who, detail[:300])

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "delivered": self.delivered,
            "withheld": self.withheld,
            "connections": self.connections,
            "dropped": {k.value: v for k, v in sorted(self.dropped.items())},
        }
