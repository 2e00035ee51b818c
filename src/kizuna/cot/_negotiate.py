"""TAK protocol negotiation on a stream, as TAK servers do it.

The server announces the versions it speaks with a ``t-x-takp-v`` event; a client asks for
one with ``t-x-takp-q``; the server answers ``t-x-takp-r`` with status true or false, in
XML, and when true both sides speak TAK protocol v1 frames from then on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from kizuna._xml import parse_xml
from kizuna.cot._model import Event, Point
from kizuna.errors import ParseError

__all__ = [
    "PROTOCOL_REQUEST",
    "PROTOCOL_RESPONSE",
    "PROTOCOL_SUPPORT",
    "SUPPORTED_VERSIONS",
    "protocol_response",
    "protocol_support",
    "requested_version",
]

PROTOCOL_SUPPORT = "t-x-takp-v"
PROTOCOL_REQUEST = "t-x-takp-q"
PROTOCOL_RESPONSE = "t-x-takp-r"
SUPPORTED_VERSIONS = (1,)
_UID = "protouid"


def _control_event(kind: str, detail: str, now: datetime) -> Event:
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return Event(
        uid=_UID,
        type=kind,
        time=now,
        start=now,
        stale=now + timedelta(minutes=1),
        point=Point(0.0, 0.0),
        how="m-g",
        detail=f"<TakControl>{detail}</TakControl>",
    )


def protocol_support(now: datetime) -> Event:
    """The server's announcement of the protocol versions it speaks."""
    inner = "".join(f'<TakProtocolSupport version="{v}"/>' for v in SUPPORTED_VERSIONS)
    return _control_event(PROTOCOL_SUPPORT, inner, now)


def protocol_response(accepted: bool, now: datetime) -> Event:
    status = "true" if accepted else "false"
    return _control_event(PROTOCOL_RESPONSE, f'<TakResponse status="{status}"/>', now)


def requested_version(event: Event) -> int | None:
    """The version a ``t-x-takp-q`` event asks for; None if it is not a readable request."""
    if event.type != PROTOCOL_REQUEST:
        return None
    try:
        root = parse_xml(f"<detail>{event.detail}</detail>", max_depth=4)
    except ParseError:
        return None
    found: ET.Element | None = root.find("TakControl/TakRequest")
    if found is None:
        return None
    version = found.get("version", "")
    return int(version) if version.isdigit() and len(version) < 4 else None
