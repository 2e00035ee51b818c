"""The README is the contract: its federation files are the shape the loaders take."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from kizuna.gateway import generate_keys, load_gateway_file
from kizuna.identity import init_pki, load_registry
from kizuna.node import load_config

README = Path(__file__).parent.parent / "README.md"


def _files() -> dict[str, str]:
    """The README's TOML blocks that open with a ``# nation/file.toml`` comment, by name."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    out = {}
    for block in blocks:
        head = block.splitlines()[0]
        if m := re.fullmatch(r"# (usa/[a-z-]+\.toml).*", head):
            out[m.group(1)] = block
    return out


def test_the_readmes_federation_files_load_as_written(tmp_path: Path) -> None:
    files = _files()
    assert set(files) == {"usa/registry.toml", "usa/node.toml", "usa/gateway.toml"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    usa, jpn = tmp_path / "usa", tmp_path / "jpn"
    jpn.mkdir()
    (jpn / "registry.toml").write_text(
        files["usa/registry.toml"].replace("USA", "JPN").replace("gw-usa", "gw-jpn")
        .replace("JPN:SECRET", "JPN:GOKUHI").replace("JPN:TOP SECRET", "JPN:KIMITSU")
    )  # fmt: skip
    now = datetime.now(UTC)
    for d, nation in ((usa, "USA"), (jpn, "JPN")):
        init_pki(d / "pki", load_registry(d / "registry.toml"), now, nation=nation)
        generate_keys(nation, d / "keys")
    (usa / "keys" / "JPN.pub").write_bytes((jpn / "keys" / "JPN.pub").read_bytes())
    (usa / "jpn-ca.pem").write_bytes((jpn / "pki" / "ca.pem").read_bytes())
    node = load_config(usa / "node.toml")
    assert node.nation == "USA" and node.feed is not None and node.tcp is None
    gw = load_gateway_file(usa / "gateway.toml")
    assert gw.node == ("127.0.0.1", node.feed.port)
    assert set(gw.partners) == {"JPN"} and gw.partners["JPN"].ca == usa / "jpn-ca.pem"
