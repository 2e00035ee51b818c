"""Streaming batch decisions: JSON Lines in, one JSON line out per input line, in order.

Memory stays constant whatever the input size: lines are read and answered one at a time,
and output is flushed in chunks. Typical lines take a typed msgspec fast path; anything
unusual falls back to a general reader, and a line that is not JSON at all is answered
with DENY_MALFORMED_REQUEST rather than stopping the run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import BinaryIO

import msgspec

from kizuna.labels import Decider, Decision, Reason, Viewer, parse_clearance
from kizuna.labels._viewer import viewer_from_mapping

__all__ = ["run_batch"]

_MALFORMED = Decision.deny(Reason.DENY_MALFORMED_REQUEST)
_CHUNK = 4096


class _ViewerIn(msgspec.Struct, frozen=True):
    nation: str
    clearance: str | None = None
    expires: str | None = None
    status: str | None = None
    categories: msgspec.Raw | None = None


class _LineIn(msgspec.Struct):
    id: msgspec.Raw = msgspec.Raw(b"null")
    label: str | None = None
    viewer: _ViewerIn | None = None


class _SlowPathError(Exception):
    """This line needs the general reader."""


class _Batch:
    def __init__(self, decider: Decider, at: datetime) -> None:
        self.decider = decider
        self.at = at
        self.decoder = msgspec.json.Decoder(_LineIn)
        self.viewers: dict[_ViewerIn, Viewer] = {}
        self.tails: dict[Decision, bytes] = {}

    def _tail(self, decision: Decision) -> bytes:
        tail = self.tails.get(decision)
        if tail is None:
            body = json.dumps(decision.to_json(), separators=(",", ":"))
            tail = self.tails[decision] = b"," + body[1:].encode() + b"\n"
        return tail

    def _viewer(self, v: _ViewerIn) -> Viewer:
        viewer = self.viewers.get(v)
        if viewer is None:
            if v.categories is not None:
                raise _SlowPathError
            viewer = Viewer(v.nation, parse_clearance(v.clearance, v.status, v.expires))
            if len(self.viewers) > 4096:
                self.viewers.clear()
            self.viewers[v] = viewer
        return viewer

    def fast(self, line: bytes) -> bytes:
        row = self.decoder.decode(line)
        if row.viewer is None:
            return b'{"id":' + bytes(row.id) + self._tail(_MALFORMED)
        decision = self.decider.decide(row.label, self._viewer(row.viewer), self.at)
        return b'{"id":' + bytes(row.id) + self._tail(decision)

    def slow(self, line: bytes) -> bytes:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return b'{"id":null' + self._tail(_MALFORMED)
        if not isinstance(obj, dict):
            return b'{"id":null' + self._tail(_MALFORMED)
        ident = json.dumps(obj.get("id"), separators=(",", ":")).encode()
        viewer = viewer_from_mapping(obj.get("viewer"))
        decision = (
            _MALFORMED if viewer is None else self.decider.decide(obj.get("label"), viewer, self.at)
        )
        return b'{"id":' + ident + self._tail(decision)

    def answer(self, line: bytes) -> bytes:
        try:
            return self.fast(line)
        except (msgspec.DecodeError, _SlowPathError):
            return self.slow(line)


def run_batch(src: BinaryIO, dst: BinaryIO, decider: Decider, at: datetime) -> int:
    """Answer every line of ``src`` on ``dst``; return how many lines were answered."""
    batch = _Batch(decider, at)
    out: list[bytes] = []
    count = 0
    for line in src:
        out.append(batch.answer(line))
        count += 1
        if len(out) >= _CHUNK:
            dst.write(b"".join(out))
            out.clear()
    dst.write(b"".join(out))
    return count
