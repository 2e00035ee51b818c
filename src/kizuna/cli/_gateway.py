"""``kizuna gateway|audit|ledger``: run a gateway, work its hold queue, verify its audit log,
and show the reciprocity ledger.

Commands that change state go through the admin port of a serving gateway when one serves
from the configured directory, so that one process alone ever appends to its audit log.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kizuna.clock import RealClock
from kizuna.errors import KizunaError
from kizuna.gateway import (
    AuditLog,
    GatewayDb,
    GatewayFile,
    KeyRing,
    Ledger,
    admin_address,
    build_gateway,
    generate_keys,
    leaf_hash,
    load_gateway_file,
    serve_forever,
    verdict_json,
    verify_inclusion,
    verify_log,
)
from kizuna.gateway._audit import AuditEntry
from kizuna.gateway._link import request

gateway_app = typer.Typer(help="The alliance gateway (guard) and its hold queue.")
audit_app = typer.Typer(help="The gateway's tamper-evident audit log.")
ledger_app = typer.Typer(help="The reciprocity ledger.")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Gateway configuration (TOML).")]


def _cfg(path: Path) -> GatewayFile:
    try:
        return load_gateway_file(path)
    except KizunaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _admin(cfg: GatewayFile, kind: bytes, args: dict[str, object]) -> object | None:
    """Ask the serving gateway, if there is one; None when none serves."""
    addr = admin_address(cfg.data_dir)
    if addr is None:
        return None
    reply = asyncio.run(request(addr[0], addr[1], kind, json.dumps(args).encode()))
    out: object = json.loads(reply)
    if isinstance(out, dict) and "error" in out:
        typer.echo(f"error: {out['error']}", err=True)
        raise typer.Exit(1)
    return out


def _offline(cfg: GatewayFile, kind: str, args: dict[str, object]) -> object:
    gw, db, bus = build_gateway(cfg, RealClock())

    async def act() -> object:
        try:
            if kind == "approve":
                return verdict_json(await gw.approve(int(str(args["id"])), str(args["by"])))
            if kind == "reject":
                return verdict_json(gw.reject(int(str(args["id"])), str(args["by"])))
            h = gw.holds()
            return [{"id": x.id, "partner": x.partner, "uid": x.uid, "rule": x.rule} for x in h]
        finally:
            await bus.close()
            db.close()

    try:
        return asyncio.run(act())
    except KizunaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def _hold_cmd(cfg: GatewayFile, kind: str, code: bytes, args: dict[str, object]) -> None:
    out = _admin(cfg, code, args)
    if out is None:
        out = _offline(cfg, kind, args)
    typer.echo(json.dumps(out))


@gateway_app.command("serve")
def serve(config: ConfigOpt) -> None:
    """Serve the partner link and the admin port until SIGTERM."""
    try:
        asyncio.run(serve_forever(_cfg(config), RealClock()))
    except KizunaError as exc:  # a plain link, a missing key file: one line, no traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@gateway_app.command("keygen")
def keygen(
    name: Annotated[str, typer.Argument(help="Signer name, the gateway's nation (e.g. USA).")],
    directory: Annotated[Path, typer.Option("--dir", help="Where NAME.key and NAME.pub go.")],
) -> None:
    """Create an Ed25519 key pair for a gateway (no key is ever shipped)."""
    private, public = generate_keys(name, directory)
    typer.echo(json.dumps({"private": str(private), "public": str(public)}))


@gateway_app.command("offer")
def offer(
    config: ConfigOpt,
    partner: Annotated[str, typer.Option(help="The receiving nation.")],
    items: Annotated[Path, typer.Argument(help="JSON Lines of items; '-' for stdin.")],
) -> None:
    """Offer items to a partner through the serving gateway; print one verdict per item."""
    cfg = _cfg(config)
    src = sys.stdin if str(items) == "-" else items.open(encoding="utf-8")
    docs = [json.loads(line) for line in src if line.strip()]
    out = _admin(cfg, b"O", {"partner": partner, "items": docs})
    if out is None:
        typer.echo("error: no gateway serves from this configuration", err=True)
        raise typer.Exit(1)
    for v in out if isinstance(out, list) else []:
        typer.echo(json.dumps(v))


@gateway_app.command("holds")
def holds(config: ConfigOpt) -> None:
    """Items waiting for a human of the originating nation."""
    _hold_cmd(_cfg(config), "holds", b"H", {})


@gateway_app.command("approve")
def approve(
    config: ConfigOpt,
    hold_id: Annotated[int, typer.Argument(help="The hold's id.")],
    by: Annotated[str, typer.Option(help="Who approves (recorded in the audit log).")],
) -> None:
    """Release a held item; it passes every other filter again first."""
    _hold_cmd(_cfg(config), "approve", b"A", {"id": hold_id, "by": by})


@gateway_app.command("reject")
def reject(
    config: ConfigOpt,
    hold_id: Annotated[int, typer.Argument(help="The hold's id.")],
    by: Annotated[str, typer.Option(help="Who rejects (recorded in the audit log).")],
) -> None:
    """Refuse a held item for good."""
    _hold_cmd(_cfg(config), "reject", b"R", {"id": hold_id, "by": by})


@gateway_app.command("tier")
def tier(
    config: ConfigOpt,
    partner: Annotated[str, typer.Argument(help="The partner nation.")],
    new: Annotated[str, typer.Argument(help="T0, T1, T2 or T3.")],
    why: Annotated[str, typer.Option(help="The reason, recorded in the audit log.")],
) -> None:
    """Change a partner's tier on the serving gateway: it applies to the next item."""
    if new not in ("T0", "T1", "T2", "T3"):
        raise typer.BadParameter(f"unknown tier {new!r}")
    out = _admin(_cfg(config), b"T", {"partner": partner, "tier": new, "why": why})
    if out is None:
        typer.echo("error: no gateway serves from this configuration", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(out))


@audit_app.command("verify")
def verify(
    config: ConfigOpt,
    partner_db: Annotated[
        list[Path] | None,
        typer.Option(help="A partner gateway's database holding the checkpoints it countersigned."),
    ] = None,
) -> None:
    """Check the log against the checkpoints held by both sides; report the first bad entry."""
    cfg = _cfg(config)
    try:
        db = GatewayDb(cfg.db_path)
        rows, cps = db.rows(), db.checkpoints(cfg.nation)
        db.close()
        for path in partner_db or []:
            other = GatewayDb(path)
            cps += other.checkpoints(cfg.nation)
            other.close()
        ring = KeyRing.load_dir(cfg.keys_dir)
    except KizunaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    # A checkpoint signed while the partner was unreachable (or whose exchange is still in
    # flight) has no countersignature; it is still checked against the log with our own
    # signature, and the countersigned copies the partner holds anchor the rest, so a log
    # rewritten even with our key fails against them.
    cosigned = sum(1 for c in cps if c.cosignature_ok(ring))
    report = verify_log(cfg.nation, rows, cps, ring, require_cosign=False)
    typer.echo(json.dumps({**report.to_json(), "countersigned": cosigned}))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(config: ConfigOpt) -> None:
    """Have the serving gateway sign a checkpoint now and get it countersigned by partners."""
    out = _admin(_cfg(config), b"K", {})
    if out is None:
        typer.echo("error: no gateway serves from this configuration", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(out))


@audit_app.command("prove")
def prove(
    config: ConfigOpt,
    seq: Annotated[int, typer.Argument(help="The audit entry to prove.")],
) -> None:
    """An inclusion proof for one entry against the latest countersigned checkpoint: what a
    partner needs to check that entry without the log (``kizuna audit check``)."""
    cfg = _cfg(config)
    db = GatewayDb(cfg.db_path)
    try:
        log = AuditLog(cfg.nation, rows=db.rows())
        held = [c for c in db.checkpoints(cfg.nation) if c.cosigner]
    finally:
        db.close()
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
    db = GatewayDb(cfg.db_path)
    held = [c for c in db.checkpoints(log_id) if c.size == size and c.root == root]
    db.close()
    ring = KeyRing.load_dir(cfg.keys_dir)
    known = any(c.signature_ok(ring) and c.cosignature_ok(ring) for c in held)
    included = verify_inclusion(seq, size, leaf_hash(entry), path, root)
    typer.echo(json.dumps({"checkpoint_held": known, "included": included}))
    if not (known and included):
        raise typer.Exit(1)


def _ledger(cfg: GatewayFile) -> Ledger:
    db = GatewayDb(cfg.db_path)
    try:
        return Ledger.of(AuditEntry.decode(r.data) for r in db.rows())
    finally:
        db.close()


@ledger_app.command("show")
def show(
    config: ConfigOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Offered, released, sanitised, held and denied, each way, with the balance and ratio."""
    cfg = _cfg(config)
    try:
        ledger = _ledger(cfg)
    except KizunaError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
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
