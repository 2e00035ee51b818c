from __future__ import annotations

from datetime import UTC, datetime

from kizuna.cot import (
    PROTOCOL_REQUEST,
    event_to_xml,
    parse_event,
    protocol_response,
    protocol_support,
    requested_version,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REQUEST = (
    b'<event version="2.0" uid="protouid" type="t-x-takp-q" time="2026-01-01T00:00:00Z" '
    b'start="2026-01-01T00:00:00Z" stale="2026-01-01T00:01:00Z" how="m-g">'
    b'<point lat="0" lon="0" hae="0" ce="999999" le="999999"/>'
    b'<detail><TakControl><TakRequest version="1"/></TakControl></detail></event>'
)


def test_support_announcement_lists_version_1() -> None:
    xml = event_to_xml(protocol_support(NOW))
    assert b'type="t-x-takp-v"' in xml
    assert b'<TakControl><TakProtocolSupport version="1"/></TakControl>' in xml
    assert parse_event(xml) == protocol_support(NOW)


def test_request_version_is_read() -> None:
    event = parse_event(REQUEST)
    assert event.type == PROTOCOL_REQUEST
    assert requested_version(event) == 1


def test_other_events_are_not_requests() -> None:
    assert requested_version(protocol_support(NOW)) is None


def test_response_carries_status() -> None:
    assert b'<TakResponse status="true"/>' in event_to_xml(protocol_response(True, NOW))
    assert b'<TakResponse status="false"/>' in event_to_xml(protocol_response(False, NOW))
