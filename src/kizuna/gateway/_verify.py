"""Checking an audit log against the checkpoints both gateways hold, and countersigning."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kizuna.errors import ParseError
from kizuna.gateway._audit import GENESIS, AuditEntry, AuditRow, Checkpoint, chain_hash
from kizuna.gateway._keys import KeyRing, Signer
from kizuna.gateway._merkle import MerkleTree, leaf_hash, verify_consistency

__all__ = ["VerifyReport", "countersign", "verify_log"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    size: int
    checkpoints: int
    first_bad: int | None = None
    problem: str = ""
    # Entries after the last countersigned checkpoint that matches the log: nothing a partner
    # holds proves them, so a cut or an addition there cannot be told from the log alone.
    unprotected_tail: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.size,
            "checkpoints": self.checkpoints,
            "first_bad": self.first_bad,
            "problem": self.problem,
            "unprotected_tail": self.unprotected_tail,
        }


def _chain_prefix(rows: Sequence[AuditRow]) -> tuple[MerkleTree, list[bytes], int | None, str]:
    """Recompute chain and tree; stop at the first row that does not hold together."""
    tree, chains, prev = MerkleTree(), [GENESIS], GENESIS
    for i, row in enumerate(rows):
        try:
            entry = AuditEntry.decode(row.data)
        except ParseError as exc:
            return tree, chains, i, f"entry {i}: {exc}"
        if entry.seq != i:
            return tree, chains, i, f"entry {i}: carries sequence number {entry.seq}"
        leaf = leaf_hash(row.data)
        prev = chain_hash(prev, leaf)
        if prev != row.chain:
            return tree, chains, i, f"entry {i}: chain hash does not match its content"
        tree.append(leaf)
        chains.append(prev)
    return tree, chains, None, ""


def _merge(checkpoints: Iterable[Checkpoint], log_id: str) -> list[Checkpoint]:
    by_size: dict[int, Checkpoint] = {}
    for cp in checkpoints:
        if cp.log_id == log_id:
            known = by_size.get(cp.size)
            if known is None or (not known.cosigner and cp.cosigner):
                by_size[cp.size] = cp
    return [by_size[s] for s in sorted(by_size)]


def verify_log(
    log_id: str,
    rows: Sequence[AuditRow],
    checkpoints: Iterable[Checkpoint],
    ring: KeyRing,
    *,
    require_cosign: bool = True,
) -> VerifyReport:
    """Judge a log: the first entry that cannot be trusted, or ok.

    An entry edited, dropped, inserted or moved without recomputing the chain is found
    exactly. A rewrite that recomputes the chain is caught by the first checkpoint that no
    longer matches: every entry after the last matching checkpoint is then suspect, and the
    first of them is reported. A tail cut below a checkpoint is reported at the cut.
    """
    tree, chains, bad, problem = _chain_prefix(rows)
    cps = _merge(checkpoints, log_id)
    good = 0  # size of the longest checkpointed prefix that matches
    protected = 0  # ... and of the longest one a partner countersigned
    for cp in cps:
        if not cp.signature_ok(ring):
            problem = f"checkpoint {cp.size}: bad signature"
            return VerifyReport(False, len(rows), len(cps), good, problem, len(rows) - protected)
        if require_cosign and not cp.cosignature_ok(ring):
            problem = f"checkpoint {cp.size}: not countersigned"
            return VerifyReport(False, len(rows), len(cps), good, problem, len(rows) - protected)
        if cp.size > len(tree):
            if bad is None:
                bad = len(rows)
                problem = f"log holds {len(rows)} entries; checkpoint {cp.size} proves more"
            break
        if tree.root(cp.size) != cp.root or chains[cp.size] != cp.chain:
            if bad is None or good < bad:
                bad = good
                problem = f"entries {good}..{cp.size - 1} do not match checkpoint {cp.size}"
            break
        good = cp.size
        if cp.cosignature_ok(ring):
            protected = cp.size
    tail = len(rows) - protected
    if bad is not None:
        return VerifyReport(False, len(rows), len(cps), bad, problem, tail)
    return VerifyReport(True, len(rows), len(cps), unprotected_tail=tail)


def countersign(
    cp: Checkpoint,
    proof: Sequence[bytes],
    held: Checkpoint | None,
    ring: KeyRing,
    witness: Signer,
) -> Checkpoint:
    """The partner's side: check the signature and that the log only grew, then countersign.

    ``held`` is the latest checkpoint of the same log this witness already countersigned;
    ``proof`` is the consistency proof from ``held.size`` to ``cp.size``.
    """
    if not cp.signature_ok(ring):
        raise ParseError(f"checkpoint {cp.log_id}/{cp.size}: signature does not verify")
    if held is not None:
        if cp.size < held.size:
            raise ParseError(f"checkpoint {cp.size} is older than the held {held.size}")
        if held.size and not verify_consistency(held.size, cp.size, held.root, cp.root, proof):
            raise ParseError(
                f"checkpoint {cp.size} is not consistent with the held {held.size}: "
                "the log was rewritten"
            )
    return cp.countersigned(witness)
