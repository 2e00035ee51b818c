"""Gateway files for the red-team tests: keys made with ``kizuna gateway keygen``'s code, each
nation's PKI made with ``kizuna pki init``'s, and a configuration naming them, one gateway per
nation in one directory."""

from __future__ import annotations

import json
from pathlib import Path

from kizuna.gateway import generate_keys
from tests.gateway._procs import link_toml, nation_pki

SECRET_REL = {
    "uid": "u-secret", "type": "a-h-S", "origin": "USA", "time": "2026-06-01T00:00Z",
    "lat": 26.2, "lon": 127.7, "label": "SECRET//REL TO USA, JPN", "category": "track",
}  # fmt: skip


def keys(d: Path, *nations: str) -> None:
    for n in nations:
        if not (d / "keys" / f"{n}.key").exists():
            generate_keys(n, d / "keys")


def gateway_file(
    d: Path, nation: str, partners: dict[str, tuple[int, str]], *, port: int = 0, extra: str = ""
) -> Path:
    """``partners``: nation -> (port, tier). Writes ``<nation>.toml`` in ``d``, with the
    link's TLS as the merged system requires: each nation's own PKI (made once in ``d``, so
    the partners' files agree), our ``[tls]`` certificate and each partner's CA pinned."""
    keys(d, nation, *partners)
    pki = {n: nation_pki(d, n) for n in (nation, *partners)}
    link = {p: (f"127.0.0.1:{pport}", pki[p]) for p, (pport, _) in partners.items()}
    text = (
        f'nation = "{nation}"\nlisten = "127.0.0.1:{port}"\ndata_dir = "{nation.lower()}"\n'
        f'key = "keys/{nation}.key"\nkeys_dir = "keys"\n{extra}'
        + link_toml(d, pki[nation], link, tiers={p: tier for p, (_, tier) in partners.items()})
    )
    path = d / f"{nation.lower()}.toml"
    path.write_text(text)
    return path


def offer_doc(uid: str = "u-secret", **fields: object) -> dict[str, object]:
    return {**SECRET_REL, "uid": uid, **fields}


def offer_frame(partner: str, *docs: dict[str, object]) -> bytes:
    return b"O" + json.dumps({"partner": partner, "items": list(docs)}).encode()
