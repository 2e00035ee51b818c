"""CAPCO-style banner markings: ``CLASSIFICATION[//REL TO X, Y][//NOFORN]``."""

from __future__ import annotations

from kizuna.errors import ParseError
from kizuna.labels._model import Label
from kizuna.labels._table import PolicyTable, default_table

__all__ = ["format_banner", "parse_banner"]

ASCII_WS = " \t\n\r\x0b\x0c"
_REL = "REL TO "
_NOFORN = "NOFORN"


def parse_banner(text: str, table: PolicyTable | None = None) -> Label:
    """Parse a banner marking exactly; raise ParseError naming what is wrong."""
    table = table or default_table()
    if not isinstance(text, str):
        raise ParseError(f"a banner must be a string, not {type(text).__name__}")
    blocks = text.strip(ASCII_WS).split("//")
    head = table.banners.get(blocks[0])
    if head is None:
        raise ParseError(f"unknown classification {blocks[0]!r}")
    rel_to: frozenset[str] | None = None
    noforn = False
    for block in blocks[1:]:
        if block == _NOFORN:
            if noforn:
                raise ParseError("NOFORN appears twice")
            noforn = True
        elif block.startswith(_REL):
            if rel_to is not None:
                raise ParseError("REL TO appears twice")
            codes = block[len(_REL) :].split(", ")
            unknown = [c for c in codes if c not in table.codes]
            if unknown:
                raise ParseError(f"REL TO names unknown codes {unknown!r}")
            rel_to = frozenset(codes)
        else:
            raise ParseError(f"unknown block {block!r}")
    policy, level = head
    return Label(policy, level, rel_to, noforn)


def order_codes(codes: frozenset[str], home: str, table: PolicyTable) -> list[str]:
    """Home nation first, then other trigraphs, then tetragraphs, each alphabetical."""
    return sorted(codes, key=lambda c: (c != home, c in table.tetragraphs, c))


def format_banner(label: Label, table: PolicyTable | None = None) -> str:
    """Print a label in canonical form; categories other than REL TO/NOFORN have no banner."""
    table = table or default_table()
    if label.policy is None:
        parts = [label.level]
    else:
        banner = table.banner_of.get((label.policy, label.level))
        if banner is None:
            raise ParseError(f"no banner for {label.policy}:{label.level}")
        parts = [banner]
    if label.rel_to is not None:
        if not label.rel_to:
            raise ParseError("an empty REL TO list has no banner form")
        parts.append(_REL + ", ".join(order_codes(label.rel_to, table.home(label.policy), table)))
    if label.noforn:
        parts.append(_NOFORN)
    return "//".join(parts)
