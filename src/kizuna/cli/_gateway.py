"""``kizuna gateway|audit|ledger``: run a gateway, work its hold queue, verify its audit log,
and show the reciprocity ledger.

Commands that change state go through the admin socket (``data_dir/admin.sock``, 0600) of a
serving gateway when one serves from the configured directory, so that one process alone
ever appends to its audit log; the operator the audit names is the OS user the socket's
peer credentials give. With no gateway serving they open its database directly, as the OS
user running them. Every operator error is one line and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from kizuna.clock import RealClock
from kizuna.errors import KizunaError
from kizuna.gateway import (
    AuditLog,
    Gateway,
    GatewayDb,
    GatewayFile,
    KeyRing,
    Ledger,
    admin_request,
    admin_socket,
    build_gateway,
    generate_keys,
    leaf_hash,
    load_gateway_file,
    local_operator,
    serve_forever,
    verdict_json,
    verify_inclusion,
    verify_log,
)
from kizuna.gateway._audit import AuditEntry
from kizuna.roadmap import Tier

gateway_app = typer.Typer(help="The alliance gateway (guard) and its hold queue.")
audit_app = typer.Typer(help="The gateway's tamper-evident audit log.")
ledger_app = typer.Typer(help="The reciprocity ledger.")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Gateway configuration (TOML).")]
NoteOpt = Annotated[
    str, typer.Option(help="A free-text note for the audit (the operator is your OS user).")
]


def _fail(message: object, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _cfg(path: Path) -> GatewayFile:
    try:
        return load_gateway_file(path)
    except KizunaError as exc:
        _fail(exc)


@contextmanager
def _db(path: Path) -> Iterator[GatewayDb]:
    """A gateway database opened read-only: a wrong path is an error, never a new file."""
    try:
        db = GatewayDb(path, readonly=True)
    except KizunaError as exc:
        _fail(exc)
    try:
        yield db
    except KizunaError as exc:
        _fail(exc)
    finally:
        db.close()


def _admin(cfg: GatewayFile, kind: bytes, args: dict[str, object]) -> object | None:
    """Ask the serving gateway, if there is one; None when none serves."""
    path = admin_socket(cfg.data_dir)
    if path is None:
        return None
    try:
        reply = asyncio.run(admin_request(path, kind, json.dumps(args).encode()))
    except KizunaError as exc:
        _fail(exc, 1)
    out: object = json.loads(reply)
    if isinstance(out, dict) and "error" in out:
        _fail(out["error"], 1)
    return out


def _offline(cfg: GatewayFile, act: Callable[[Gateway], object]) -> object:
    """Do ``act`` on the gateway's own database, no gateway serving; as the local OS user.
    The gateway's lock is held meanwhile, so that a gateway starting now waits for no one
    and two processes never append to one audit log."""

    async def run() -> object:
        gw, db, bus = build_gateway(cfg, RealClock())
        try:
            out = act(gw)
            return await out if asyncio.iscoroutine(out) else out
        finally:
            await bus.close()
            db.close()

    try:
        cfg.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with (cfg.data_dir / "gateway.lock").open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _fail(f"a gateway has just started serving from {cfg.data_dir}; try again", 1)
            return asyncio.run(run())
    except OSError as exc:
        _fail(f"{cfg.data_dir}: {exc.strerror}", 1)
    except KizunaError as exc:
        _fail(exc, 1)


def _holds(gw: Gateway) -> object:
    return [{"id": x.id, "partner": x.partner, "uid": x.uid, "rule": x.rule} for x in gw.holds()]


@gateway_app.command("serve")
def serve(config: ConfigOpt) -> None:
    """Serve the partner link and the admin socket until SIGTERM."""
    cfg = _cfg(config)
    try:
        asyncio.run(serve_forever(cfg, RealClock()))
    except KizunaError as exc:
        _fail(exc)


@gateway_app.command("keygen")
def keygen(
    name: Annotated[str, typer.Argument(help="Signer name, the gateway's nation (e.g. USA).")],
    directory: Annotated[Path, typer.Option("--dir", help="Where NAME.key and NAME.pub go.")],
    force: Annotated[bool, typer.Option(help="Replace an existing key pair.")] = False,
) -> None:
    """Create an Ed25519 key pair for a gateway (no key is ever shipped); the private key is
    0600 from its first byte, and an existing one is kept unless --force."""
    try:
        private, public = generate_keys(name, directory, overwrite=force)
    except KizunaError as exc:
        _fail(f"{exc}{'' if force else ' (use --force to replace it)'}")
    typer.echo(json.dumps({"private": str(private), "public": str(public)}))


@gateway_app.command("offer")
def offer(
    config: ConfigOpt,
    partner: Annotated[str, typer.Option(help="The receiving nation.")],
    items: Annotated[Path, typer.Argument(help="JSON Lines of items; '-' for stdin.")],
) -> None:
    """Offer items to a partner through the serving gateway; print one verdict per item."""
    cfg = _cfg(config)
    if partner not in cfg.partners:
        _fail(f"partner {partner!r} is not configured in {config}")
    try:
        text = sys.stdin.read() if str(items) == "-" else items.read_text(encoding="utf-8")
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        _fail(f"{items}: {exc}")
    out = _admin(cfg, b"O", {"partner": partner, "items": docs})
    if out is None:
        _fail("no gateway serves from this configuration", 1)
    for v in out if isinstance(out, list) else []:
        typer.echo(json.dumps(v))


@gateway_app.command("holds")
def holds(config: ConfigOpt) -> None:
    """Items waiting for a human of the originating nation."""
    cfg = _cfg(config)
    out = _admin(cfg, b"H", {})
    typer.echo(json.dumps(_offline(cfg, _holds) if out is None else out))


@gateway_app.command("approve")
def approve(
    config: ConfigOpt,
    hold_id: Annotated[int, typer.Argument(help="The hold's id.")],
    note: NoteOpt = "",
) -> None:
    """Release a held item; it passes every other filter again first."""
    cfg = _cfg(config)
    out = _admin(cfg, b"A", {"id": hold_id, "note": note})
    if out is None:
        me = local_operator().name

        async def act(gw: Gateway) -> object:
            return verdict_json(await gw.approve(hold_id, me, note))

        out = _offline(cfg, act)
    typer.echo(json.dumps(out))


@gateway_app.command("reject")
def reject(
    config: ConfigOpt,
    hold_id: Annotated[int, typer.Argument(help="The hold's id.")],
    note: NoteOpt = "",
) -> None:
    """Refuse a held item for good."""
    cfg = _cfg(config)
    out = _admin(cfg, b"R", {"id": hold_id, "note": note})
    if out is None:
        me = local_operator().name
        out = _offline(cfg, lambda gw: verdict_json(gw.reject(hold_id, me, note)))
    typer.echo(json.dumps(out))


@gateway_app.command("tier")
def tier(
    config: ConfigOpt,
    partner: Annotated[str, typer.Argument(help="The partner nation.")],
    new: Annotated[str | None, typer.Argument(help="T0, T1, T2 or T3.")] = None,
    why: Annotated[str, typer.Option(help="The reason, recorded in the audit log.")] = "",
    clear: Annotated[
        bool, typer.Option(help="Hand the tier back to the file and the assessments.")
    ] = False,
) -> None:
    """Set a partner's tier (it applies to the next item and outranks the file, across
    restarts, until --clear); audited with your OS user and the reason."""
    cfg = _cfg(config)
    if partner not in cfg.partners:
        _fail(f"partner {partner!r} is not configured in {config}")
    if clear == (new is not None):
        _fail("give a tier (T0..T3) or --clear, not both or neither")
    if new is not None and new not in Tier.__members__:
        _fail(f"unknown tier {new!r} (T0, T1, T2 or T3)")
    if not why.strip():
        _fail("--why is required: the reason goes in the audit log")
    args: dict[str, object] = {"partner": partner, "why": why, "tier": new, "clear": clear}
    out = _admin(cfg, b"T", args)
    if out is None:
        me = local_operator().name

        def act(gw: Gateway) -> object:
            if new is None:
                changed = gw.clear_tier(partner, why, me)
            else:
                changed = gw.set_tier(partner, Tier[new], why, me)
            now = gw.tier(partner)
            return {
                "changed": changed, "tier": now.name if now is not None else None,
                "pinned": gw.tier_pinned(partner), "operator": me,
            }  # fmt: skip

        out = _offline(cfg, act)
    typer.echo(json.dumps(out))


@audit_app.command("verify")
def verify(
    config: ConfigOpt,
    partner_db: Annotated[
        list[Path] | None,
        typer.Option(help="A partner gateway's database holding the checkpoints it countersigned."),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Fail when entries follow the last countersigned checkpoint.")
    ] = False,
) -> None:
    """Check the log against the checkpoints held by both sides; report the first bad entry
    and how many entries no countersigned checkpoint covers (``unprotected_tail``)."""
    cfg = _cfg(config)
    with _db(cfg.db_path) as db:
        rows, cps = db.rows(), db.checkpoints(cfg.nation)
    for path in partner_db or []:
        with _db(path) as other:
            cps += other.checkpoints(cfg.nation)
    try:
        ring = KeyRing.load_dir(cfg.keys_dir)
    except KizunaError as exc:
        _fail(exc)
    # A checkpoint signed while the partner was unreachable (or whose exchange is still in
    # flight) has no countersignature; it is still checked against the log with our own
    # signature, and the countersigned copies the partner holds anchor the rest, so a log
    # rewritten even with our key fails against them. What no countersigned copy covers is
    # reported as the unprotected tail.
    cosigned = sum(1 for c in cps if c.cosignature_ok(ring))
    report = verify_log(cfg.nation, rows, cps, ring, require_cosign=False)
    typer.echo(json.dumps({**report.to_json(), "countersigned": cosigned}))
    if not report.ok or (strict and report.unprotected_tail):
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(config: ConfigOpt) -> None:
    """Have the serving gateway sign a checkpoint now and get it countersigned by partners."""
    out = _admin(_cfg(config), b"K", {})
    if out is None:
        _fail("no gateway serves from this configuration", 1)
    typer.echo(json.dumps(out))


@audit_app.command("prove")
def prove(
    config: ConfigOpt,
    seq: Annotated[int, typer.Argument(help="The audit entry to prove.")],
) -> None:
    """An inclusion proof for one entry against the latest countersigned checkpoint: what a
    partner needs to check that entry without the log (``kizuna audit check``)."""
    cfg = _cfg(config)
    with _db(cfg.db_path) as db:
        log = AuditLog(cfg.nation, rows=db.rows())
        held = [c for c in db.checkpoints(cfg.nation) if c.cosigner]
    if not 0 <= seq < len(log):
        _fail(f"no entry {seq}: the log holds {len(log)}", 1)
    usable = [c for c in held if c.size > seq]
    if not usable:
        typer.echo(f"error: no countersigned checkpoint covers entry {seq} yet", err=True)
        raise typer.Exit(1)
    cp = usable[-1]
    doc = {
        "log_id": cfg.nation,
        "seq": seq,
        "entry": log.rows[seq].data.decode(),
        "size": cp.size,
        "root": cp.root.hex(),
        "proof": [h.hex() for h in log.inclusion_proof(seq, cp.size)],
    }
    typer.echo(json.dumps(doc))


@audit_app.command("check")
def check(
    config: ConfigOpt,
    proof: Annotated[Path, typer.Argument(help="Output of `kizuna audit prove` (JSON).")],
) -> None:
    """The partner's side: check an entry against a checkpoint this gateway countersigned."""
    cfg = _cfg(config)
    try:
        doc = json.loads(proof.read_text(encoding="utf-8"))
        log_id, seq, size = str(doc["log_id"]), int(doc["seq"]), int(doc["size"])
        entry, root = str(doc["entry"]).encode(), bytes.fromhex(doc["root"])
        path = [bytes.fromhex(h) for h in doc["proof"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        typer.echo(f"error: cannot read the proof: {exc}", err=True)
        raise typer.Exit(2) from exc
    with _db(cfg.db_path) as db:
        held = [c for c in db.checkpoints(log_id) if c.size == size and c.root == root]
    try:
        ring = KeyRing.load_dir(cfg.keys_dir)
    except KizunaError as exc:
        _fail(exc)
    known = any(c.signature_ok(ring) and c.cosignature_ok(ring) for c in held)
    included = verify_inclusion(seq, size, leaf_hash(entry), path, root)
    typer.echo(json.dumps({"checkpoint_held": known, "included": included}))
    if not (known and included):
        raise typer.Exit(1)


def _ledger(cfg: GatewayFile) -> Ledger:
    with _db(cfg.db_path) as db:
        return Ledger.of(AuditEntry.decode(r.data) for r in db.rows())


@ledger_app.command("show")
def show(
    config: ConfigOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Offered, released, sanitised, held and denied, each way, with the balance and ratio."""
    ledger = _ledger(cfg := _cfg(config))
    if as_json:
        typer.echo(json.dumps(ledger.to_json()))
        return
    console = Console()
    t = Table(title=f"Reciprocity ledger of {cfg.nation}")
    for col in ("partner", "way", "offered", "released", "sanitised", "held", "denied",
                "balance", "ratio out/in"):  # fmt: skip
        t.add_column(col)
    reasons = Table(title="Denials by reason")
    for col in ("partner", "way", "reason", "count"):
        reasons.add_column(col)
    for p in ledger.partners():
        b = ledger.balance(p)
        ratio = b["ratio_out_to_in"]
        for way in ("out", "in"):
            tally = ledger.total(way, p)
            t.add_row(
                p, way, str(tally.offered), str(tally.released), str(tally.sanitised),
                str(tally.held), str(tally.denied), str(b["balance"]) if way == "out" else "",
                (f"{ratio:.2f}" if isinstance(ratio, float) else "-") if way == "out" else "",
            )  # fmt: skip
            for reason, n in sorted(tally.reasons.items()):
                reasons.add_row(p, way, reason, str(n))
    console.print(t)
    console.print(reasons)
