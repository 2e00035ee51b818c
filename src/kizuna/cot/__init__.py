"""Cursor on Target: the event model, the strict XML codec, TAK protocol v1 and its streams.

Public API (kept stable):

- values: ``Event``, ``Point``, ``UNKNOWN``; ``check_times(event, now, max_skew=...)``
- XML: ``parse_event(data, policy, table) -> Event`` (strict, hardened), ``event_to_xml(event)
  -> bytes`` (canonical), ``CotPolicy`` (sizes, depth, unknown-detail rule), ``KNOWN_DETAIL``,
  ``parse_time``/``format_time``, ``label_xml``
- protobuf: ``encode_message(event | TakMessage) -> bytes``, ``decode_message(payload) ->
  TakMessage``, ``TakMessage``, ``TakControl``
- streams: ``StreamDecoder`` (bytes in, ``Message``s out, ``FramingError`` when the stream is
  beyond repair), ``frame(payload)``, ``WireFormat``, ``MAGIC``
- reserved names: ``strip_reserved(detail) -> (detail, removed)``, ``is_reserved(name)``,
  ``RESERVED_PREFIX`` (``__kizuna``: what only the node or gateway writes)
- categories: ``category_of(cot_type) -> str`` (the shipped table, ``data/categories.toml``:
  type prefixes atom by atom, the longest wins), ``CategoryTable``, ``load_categories``,
  ``parse_categories``, ``default_categories``
- negotiation: ``protocol_support``, ``protocol_response``, ``requested_version`` and the
  ``PROTOCOL_*`` event types
"""

from kizuna.cot._category import (
    CategoryTable,
    category_of,
    default_categories,
    load_categories,
    parse_categories,
)
from kizuna.cot._model import UNKNOWN, Event, Point, check_times
from kizuna.cot._negotiate import (
    PROTOCOL_REQUEST,
    PROTOCOL_RESPONSE,
    PROTOCOL_SUPPORT,
    SUPPORTED_VERSIONS,
    protocol_response,
    protocol_support,
    requested_version,
)
from kizuna.cot._proto import TakControl, TakMessage, decode_message, encode_message
from kizuna.cot._reserved import RESERVED_PREFIX, is_reserved, strip_reserved
from kizuna.cot._stream import MAGIC, FramingError, Message, StreamDecoder, WireFormat, frame
from kizuna.cot._xmlcodec import (
    KNOWN_DETAIL,
    CotPolicy,
    event_to_xml,
    format_time,
    label_xml,
    parse_event,
    parse_time,
)

__all__ = [
    "KNOWN_DETAIL",
    "MAGIC",
    "PROTOCOL_REQUEST",
    "PROTOCOL_RESPONSE",
    "PROTOCOL_SUPPORT",
    "RESERVED_PREFIX",
    "SUPPORTED_VERSIONS",
    "UNKNOWN",
    "CategoryTable",
    "CotPolicy",
    "Event",
    "FramingError",
    "Message",
    "Point",
    "StreamDecoder",
    "TakControl",
    "TakMessage",
    "WireFormat",
    "category_of",
    "check_times",
    "decode_message",
    "default_categories",
    "encode_message",
    "event_to_xml",
    "format_time",
    "frame",
    "is_reserved",
    "label_xml",
    "load_categories",
    "parse_categories",
    "parse_event",
    "parse_time",
    "protocol_response",
    "protocol_support",
    "requested_version",
    "strip_reserved",
]
