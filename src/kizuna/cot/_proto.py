"""TAK protocol v1 payloads (protobuf TakMessage/CotEvent, see tak.proto), by hand.

The decoder is written for hostile input: every length is checked against the buffer,
varints are at most ten bytes, strings must be UTF-8 and the detail XML goes through the
same hardened reader and policy as the XML form.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kizuna._xml import parse_xml
from kizuna.cot._canon import attr
from kizuna.cot._model import Event, Point
from kizuna.cot._xmlcodec import CotPolicy, label_xml, read_detail
from kizuna.errors import ParseError
from kizuna.labels import PolicyTable, default_table

__all__ = ["TakControl", "TakMessage", "decode_message", "encode_message", "read_varint"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
_DOUBLE = struct.Struct("<d")
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
Field = tuple[int, int, int | bytes]


@dataclass(frozen=True, slots=True)
class TakControl:
    min_version: int = 0
    max_version: int = 0
    contact_uid: str = ""


@dataclass(frozen=True, slots=True)
class TakMessage:
    event: Event | None = None
    control: TakControl | None = None


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); ParseError if it runs off the end or past ten bytes."""
    value = shift = 0
    for i in range(pos, min(pos + 10, len(buf))):
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, i + 1
        shift += 7
    if len(buf) - pos >= 10:
        raise ParseError("varint longer than ten bytes")
    raise ParseError("varint runs past the end of the message")


def _fields(buf: bytes) -> Iterator[Field]:
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ParseError("protobuf field number 0")
        if wire == _VARINT:
            value, pos = read_varint(buf, pos)
            yield number, wire, value
            continue
        if wire == _LEN:
            size, pos = read_varint(buf, pos)
        elif wire in (_I64, _I32):
            size = 8 if wire == _I64 else 4
        else:
            raise ParseError(f"protobuf wire type {wire} is not accepted")
        if pos + size > end:
            raise ParseError(f"protobuf field {number} runs past the end of the message")
        yield number, wire, buf[pos : pos + size]
        pos += size


def _table(buf: bytes, where: str, wires: dict[int, int]) -> dict[int, int | bytes]:
    out: dict[int, int | bytes] = {}
    for number, wire, value in _fields(buf):
        expected = wires.get(number)
        if expected is None:
            continue  # unknown fields are skipped, as protobuf requires
        if wire != expected:
            raise ParseError(f"{where} field {number} has wire type {wire}, not {expected}")
        out[number] = value
    return out


def _str(fields: dict[int, int | bytes], number: int, name: str) -> str:
    raw = fields.get(number, b"")
    assert isinstance(raw, bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name} is not valid UTF-8") from exc


def _int(fields: dict[int, int | bytes], number: int) -> int:
    value = fields.get(number, 0)
    assert isinstance(value, int)
    return value


def _dbl(fields: dict[int, int | bytes], number: int, default: float = 0.0) -> float:
    raw = fields.get(number)
    if raw is None:
        return default
    assert isinstance(raw, bytes)
    return float(_DOUBLE.unpack(raw)[0])


def _time(ms: int, name: str) -> datetime:
    if ms > _MAX_MS:
        raise ParseError(f"cotEvent.{name} {ms} ms is past year 9999")
    return _EPOCH + ms * _MS


_S = {1: _LEN, 2: _LEN, 3: _LEN, 4: _LEN}
_DETAIL = {1: _LEN, 2: _LEN, 3: _LEN, 4: _LEN, 5: _LEN, 6: _LEN, 7: _LEN}
_SUB = {  # structured detail fields -> element name, attribute names in field order
    2: ("contact", ("endpoint", "callsign")),
    3: ("__group", ("name", "role")),
    4: ("precisionlocation", ("geopointsrc", "altsrc")),
    6: ("takv", ("device", "platform", "os", "version")),
}


def _element(name: str, attrs: dict[str, str]) -> str:
    body = "".join(f' {k}="{attr(v)}"' for k, v in sorted(attrs.items()) if v)
    return f"<{name}{body}/>"


def _detail_xml(buf: bytes) -> str:
    f = _table(buf, "detail", _DETAIL)
    parts: list[str] = []
    for number, (name, names) in _SUB.items():
        if number in f:
            raw = f[number]
            assert isinstance(raw, bytes)
            sub = _table(raw, name, _S)
            attrs = {n: _str(sub, i + 1, f"{name}.{n}") for i, n in enumerate(names)}
            parts.append(_element(name, attrs))
    if 5 in f:
        raw = f[5]
        assert isinstance(raw, bytes)
        battery = _int(_table(raw, "status", {1: _VARINT}), 1)
        parts.append(_element("status", {"battery": str(battery)}))
    if 7 in f:
        raw = f[7]
        assert isinstance(raw, bytes)
        t = _table(raw, "track", {1: _I64, 2: _I64})
        parts.append(_element("track", {"speed": repr(_dbl(t, 1)), "course": repr(_dbl(t, 2))}))
    return "".join(parts) + _str(f, 1, "detail.xmlDetail")


_EVENT = {
    **dict.fromkeys((1, 2, 3, 4, 5, 9, 15, 16, 17), _LEN),
    **dict.fromkeys((6, 7, 8), _VARINT),
    **dict.fromkeys((10, 11, 12, 13, 14), _I64),
}


def _event(buf: bytes, policy: CotPolicy, table: PolicyTable) -> Event:
    f = _table(buf, "cotEvent", _EVENT)
    detail_raw = f.get(15, b"")
    assert isinstance(detail_raw, bytes)
    inner = _detail_xml(detail_raw)
    detail, label = "", None
    if inner:
        root = parse_xml(
            f"<detail>{inner}</detail>",
            max_bytes=policy.max_event_bytes,
            max_depth=policy.max_depth,
            max_elements=policy.max_elements,
        )
        detail, label = read_detail(root, policy, table)
    point = Point(_dbl(f, 10), _dbl(f, 11), _dbl(f, 12), _dbl(f, 13), _dbl(f, 14))
    return Event(
        uid=_str(f, 5, "cotEvent.uid"),
        type=_str(f, 1, "cotEvent.type"),
        time=_time(_int(f, 6), "sendTime"),
        start=_time(_int(f, 7), "startTime"),
        stale=_time(_int(f, 8), "staleTime"),
        point=point,
        how=_str(f, 9, "cotEvent.how"),
        detail=detail,
        label=label,
        access=_str(f, 2, "cotEvent.access"),
        qos=_str(f, 3, "cotEvent.qos"),
        opex=_str(f, 4, "cotEvent.opex"),
        caveat=_str(f, 16, "cotEvent.caveat"),
        releasable_to=_str(f, 17, "cotEvent.releaseableTo"),
    )


def _control(buf: bytes) -> TakControl:
    f = _table(buf, "takControl", {1: _VARINT, 2: _VARINT, 3: _LEN})
    return TakControl(_int(f, 1), _int(f, 2), _str(f, 3, "takControl.contactUid"))


def decode_message(
    payload: bytes, policy: CotPolicy | None = None, table: PolicyTable | None = None
) -> TakMessage:
    """Decode one TakMessage; ParseError/ValidationError say what is wrong."""
    f = _table(payload, "takMessage", {1: _LEN, 2: _LEN})
    control = event = None
    if 1 in f:
        raw = f[1]
        assert isinstance(raw, bytes)
        control = _control(raw)
    if 2 in f:
        raw = f[2]
        assert isinstance(raw, bytes)
        event = _event(raw, policy or CotPolicy(), table or default_table())
    return TakMessage(event, control)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(len(data)) + data


def _str_field(number: int, value: str) -> bytes:
    return _len_field(number, value.encode()) if value else b""


def _ms(value: datetime) -> int:
    return (value - _EPOCH) // _MS


def _encode_event(e: Event, table: PolicyTable) -> bytes:
    xml = e.detail
    if e.label is not None:
        xml = label_xml(e.label, table) + xml
    times = ((6, e.time), (7, e.start), (8, e.stale))
    p = e.point
    doubles = ((10, p.lat), (11, p.lon), (12, p.hae), (13, p.ce), (14, p.le))
    parts = [
        _str_field(1, e.type),
        _str_field(2, e.access),
        _str_field(3, e.qos),
        _str_field(4, e.opex),
        _str_field(5, e.uid),
        *(_varint(n << 3 | _VARINT) + _varint(_ms(t)) for n, t in times),
        _str_field(9, e.how),
        *(_varint(n << 3 | _I64) + _DOUBLE.pack(v) for n, v in doubles),
        _len_field(15, _str_field(1, xml)) if xml else b"",
        _str_field(16, e.caveat),
        _str_field(17, e.releasable_to),
    ]
    return b"".join(parts)


def encode_message(message: TakMessage | Event, table: PolicyTable | None = None) -> bytes:
    """Encode a TakMessage (or a bare Event) as protobuf bytes, without framing."""
    if isinstance(message, Event):
        message = TakMessage(message)
    out = b""
    if message.control is not None:
        c = message.control
        body = b"".join(
            (
                _varint(1 << 3) + _varint(c.min_version) if c.min_version else b"",
                _varint(2 << 3) + _varint(c.max_version) if c.max_version else b"",
                _str_field(3, c.contact_uid),
            )
        )
        out += _len_field(1, body)
    if message.event is not None:
        out += _len_field(2, _encode_event(message.event, table or default_table()))
    return out
