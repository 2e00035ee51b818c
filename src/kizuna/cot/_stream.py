"""Splitting a TAK stream into messages: XML events and TAK protocol v1 frames.

A stream may carry either form, and a client switches from XML to protobuf after the
protocol negotiation, so every message is recognised by its first byte: ``<`` starts an XML
event that ends at ``</event>``, 0xbf starts a frame ``0xbf varint(length) payload``.
Anything else, an over-long message or an absurd frame length is a framing error: the
stream cannot be resynchronised and the connection must be closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kizuna.cot._proto import read_varint
from kizuna.errors import ParseError

__all__ = ["MAGIC", "FramingError", "Message", "StreamDecoder", "WireFormat", "frame"]

MAGIC = 0xBF
_END = b"</event>"
_WS = b" \t\r\n"


class FramingError(ParseError):
    """The byte stream cannot be split into messages; the connection must end."""


class WireFormat(StrEnum):
    XML = "xml"
    PROTO = "proto"


@dataclass(frozen=True, slots=True)
class Message:
    format: WireFormat
    data: bytes  # the XML event, or the protobuf payload without its frame header


def frame(payload: bytes) -> bytes:
    """Wrap a protobuf TakMessage for a stream: 0xbf, varint length, payload."""
    length = len(payload)
    head = bytearray((MAGIC,))
    while length > 0x7F:
        head.append((length & 0x7F) | 0x80)
        length >>= 7
    head.append(length)
    return bytes(head) + payload


class StreamDecoder:
    """Feed bytes as they arrive; get back whole messages. Holds at most one partial one."""

    def __init__(self, max_message_bytes: int = 64 * 1024) -> None:
        self.max = max_message_bytes
        self._buf = bytearray()
        self._scan = 0  # where to resume looking for </event>

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        while True:
            msg = self._next()
            if msg is None:
                return out
            out.append(msg)

    def _next(self) -> Message | None:
        buf = self._buf
        start = 0
        while start < len(buf) and buf[start] in _WS:
            start += 1
        if start:
            del buf[:start]
            self._scan = 0
        if not buf:
            return None
        if buf[0] == MAGIC:
            return self._frame()
        if buf[0] == ord("<"):
            return self._xml()
        raise FramingError(f"byte 0x{buf[0]:02x} cannot start a CoT message")

    def _frame(self) -> Message | None:
        buf = self._buf
        try:
            length, pos = read_varint(bytes(buf[1:11]), 0)
        except ParseError as exc:
            if len(buf) >= 11:
                raise FramingError(f"TAK frame header: {exc}") from exc
            return None
        if length > self.max:
            raise FramingError(f"TAK frame of {length} bytes exceeds {self.max}")
        end = 1 + pos + length
        if len(buf) < end:
            return None
        payload = bytes(buf[1 + pos : end])
        del buf[:end]
        return Message(WireFormat.PROTO, payload)

    def _xml(self) -> Message | None:
        buf = self._buf
        idx = buf.find(_END, max(0, self._scan - len(_END)))
        if idx < 0:
            if len(buf) > self.max:
                raise FramingError(f"XML event longer than {self.max} bytes without </event>")
            self._scan = len(buf)
            return None
        end = idx + len(_END)
        if end > self.max:
            raise FramingError(f"XML event of {end} bytes exceeds {self.max}")
        data = bytes(buf[:end])
        del buf[:end]
        self._scan = 0
        return Message(WireFormat.XML, data)
