"""The gateway's admin interface: a Unix socket, ``data_dir/admin.sock``, created 0600.

Only the gateway's own OS user (or root) can open it, and the operator who acts is the
peer's OS identity as the kernel reports it (``SO_PEERCRED``), never a name the client sends:
that identity is what the audit records for approve, reject, tier, clear and checkpoint.

Frames are the link's (a 4-byte length, then a kind byte and a JSON body), bounded; a frame
that is too long, not JSON or not the shape its kind asks for is answered with an error.

Kinds: ``O`` offer ``{partner, items?, raw?}``, ``H`` holds ``{}``, ``A`` approve and ``R``
reject ``{id, note?}``, ``T`` tier ``{partner, tier?, clear?, why}``, ``K`` checkpoint ``{}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import pwd
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from kizuna.errors import KizunaError, TransportError
from kizuna.gateway._gateway import Gateway
from kizuna.gateway._guard import Verdict
from kizuna.gateway._link import MAX_FRAME, read_frame, write_frame
from kizuna.roadmap import Tier

__all__ = [
    "AdminServer",
    "Operator",
    "admin_request",
    "admin_socket",
    "local_operator",
    "verdict_json",
]

log = logging.getLogger("kizuna.gateway.admin")
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


@dataclass(frozen=True, slots=True)
class Operator:
    """Who is on the other end of the admin socket, as the kernel says."""

    uid: int
    name: str


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def local_operator() -> Operator:
    """The OS user running this process: the operator of a command that opens the database
    directly because no gateway serves."""
    uid = os.getuid()
    return Operator(uid, _name(uid))


def peer_operator(sock: socket.socket) -> Operator:
    _pid, uid, _gid = _CRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size)
    )
    return Operator(uid, _name(uid))


def verdict_json(v: Verdict) -> dict[str, object]:
    """A verdict as the admin interface and the CLI print it."""
    item = v.work.item
    return {
        "uid": item.uid if item else None,
        "outcome": v.outcome.value,
        "reasons": [r.value for r in v.reasons],
        "stage": v.stage,
    }


def admin_socket(data_dir: Path) -> Path | None:
    """The admin socket of the gateway serving from ``data_dir``; None when none serves
    (its lock is free), so that the caller may open the database itself."""
    lock = data_dir / "gateway.lock"
    if not lock.exists():
        return None
    with lock.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return data_dir / "admin.sock"
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


async def admin_request(path: Path, kind: bytes, payload: bytes, timeout: float = 30.0) -> bytes:
    """Send one request to a gateway's admin socket and return the reply."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), timeout)
    except (OSError, TimeoutError) as exc:
        raise TransportError(f"cannot reach the gateway's admin socket {path}: {exc}") from exc
    try:
        write_frame(writer, kind + payload)
        await writer.drain()
        reply = await asyncio.wait_for(read_frame(reader), timeout)
    except (OSError, TimeoutError) as exc:
        raise TransportError(f"the gateway's admin socket {path} did not answer: {exc}") from exc
    finally:
        writer.close()
    if reply is None:
        raise TransportError(f"the gateway's admin socket {path} closed without a reply")
    return reply


# -- requests, each checked for its shape before anything is done --------------------------


class _Offer(msgspec.Struct, forbid_unknown_fields=True):
    partner: str
    items: list[dict[str, Any]] = []
    raw: list[str] = []


class _Hold(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    note: str = ""


class _Tier(msgspec.Struct, forbid_unknown_fields=True):
    partner: str
    why: str
    tier: str | None = None
    clear: bool = False


class _Empty(msgspec.Struct, forbid_unknown_fields=True):
    pass


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class AdminServer:
    """Serves the admin socket for one gateway. ``checkpoint`` signs a checkpoint now and
    has the partners countersign it (the number that did)."""

    def __init__(
        self,
        path: Path,
        gw: Gateway,
        checkpoint: Callable[[], Awaitable[int]],
        *,
        idle_timeout: float = 60.0,
    ) -> None:
        self.path = path
        self.gw = gw
        self._checkpoint = checkpoint
        self._idle = idle_timeout
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Bind the socket 0600 from the first moment: under a umask that leaves nothing to
        others, so there is no window in which another user could connect."""
        with contextlib.suppress(FileNotFoundError):  # a stale socket: our lock is held
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        except OSError as exc:
            sock.close()
            raise TransportError(f"cannot bind the admin socket {self.path}: {exc}") from exc
        finally:
            os.umask(old)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode != 0o600:  # not expected; but never serve a socket others can open
            sock.close()
            raise TransportError(f"admin socket {self.path} has mode {mode:o}, not 600")
        self._server = await asyncio.start_unix_server(self._serve, sock=sock)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(OSError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            op = peer_operator(sock)
            if op.uid not in (os.getuid(), 0):  # the mode should make this impossible
                log.error("admin socket: refused uid %d", op.uid)
                return
            while True:
                try:
                    frame = await asyncio.wait_for(read_frame(reader, MAX_FRAME), self._idle)
                except TransportError as exc:
                    write_frame(writer, _error(str(exc)))
                    await writer.drain()
                    return
                if frame is None:
                    return
                write_frame(writer, await self.handle(frame, op))
                await writer.drain()
        except (OSError, TimeoutError) as exc:
            log.info("admin connection closed: %s", exc)
        finally:
            writer.close()

    async def handle(self, frame: bytes, op: Operator) -> bytes:
        """One request from ``op``; every refusal is an error reply."""
        kind, body = frame[:1], frame[1:] or b"{}"
        try:
            if kind == b"O":
                o = msgspec.json.decode(body, type=_Offer)
                raws = [json.dumps(i).encode() for i in o.items] + [x.encode() for x in o.raw]
                verdicts = await self.gw.offer(raws, o.partner)
                return json.dumps([verdict_json(v) for v in verdicts]).encode()
            if kind == b"H":
                msgspec.json.decode(body, type=_Empty)
                holds = [
                    {"id": h.id, "partner": h.partner, "uid": h.uid, "rule": h.rule, "at": h.at}
                    for h in self.gw.holds()
                ]
                return json.dumps(holds).encode()
            if kind in (b"A", b"R"):
                h = msgspec.json.decode(body, type=_Hold)
                if kind == b"A":
                    v = await self.gw.approve(h.id, op.name, h.note)
                else:
                    v = self.gw.reject(h.id, op.name, h.note)
                return json.dumps(verdict_json(v)).encode()
            if kind == b"T":
                return json.dumps(self.tier(msgspec.json.decode(body, type=_Tier), op)).encode()
            if kind == b"K":
                msgspec.json.decode(body, type=_Empty)
                self.gw.audit_operator("checkpoint", "requested", op.name)
                return json.dumps({"countersigned": await self._checkpoint()}).encode()
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return _error(f"malformed {kind.decode(errors='replace')!r} request: {exc}")
        except KizunaError as exc:
            return _error(str(exc))
        return _error(f"unknown request {kind!r}")

    def tier(self, t: _Tier, op: Operator) -> dict[str, object]:
        """Set or clear a partner's tier: the request's reason, the socket's operator."""
        if not t.why.strip():
            raise KizunaError("a reason (why) is required")
        if t.clear == (t.tier is not None):
            raise KizunaError("give either a tier or clear, not both or neither")
        if t.clear:
            changed = self.gw.clear_tier(t.partner, t.why, op.name)
        else:
            tier = Tier.__members__.get(t.tier or "")
            if tier is None:
                raise KizunaError(f"unknown tier {t.tier!r} (T0, T1, T2 or T3)")
            changed = self.gw.set_tier(t.partner, tier, t.why, op.name)
        now = self.gw.tier(t.partner)
        return {
            "changed": changed,
            "tier": now.name if now is not None else None,
            "pinned": self.gw.tier_pinned(t.partner),
            "operator": op.name,
        }
