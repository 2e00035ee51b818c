from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.cli._app import app
from kizuna.errors import ConfigError
from kizuna.node import config_from_mapping, load_config

from ._support import REGISTRY


def test_a_full_config_reads(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text(
        '[node]\nnation = "USA"\nregistry = "r.toml"\ndefault_label = "SECRET//REL TO USA, JPN"\n'
        '[tls]\ncert = "s.pem"\nkey = "s.key"\nca = "ca.pem"\nport = 9000\n'
        '[tcp]\nenabled = true\nidentity = "tools-usa"\n'
        "[limits]\nmax_connections = 10\n"
    )
    cfg = load_config(tmp_path / "node.toml")
    assert cfg.tls is not None and cfg.tls.port == 9000 and cfg.tls.cert == tmp_path / "s.pem"
    assert cfg.tcp is not None and cfg.tcp.identity == "tools-usa"
    assert cfg.default_label.level == "SECRET"
    assert cfg.limits.max_connections == 10
    assert cfg.store_path == tmp_path / "kizuna-data" / "events.db"


_NODE = {"nation": "USA", "registry": "r", "default_label": "SECRET"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"node": _NODE}, "tls"),
        ({"node": _NODE, "tcp": {"enabled": True}}, "tcp.identity"),
        ({"node": {"nation": "USA", "default_label": "SECRET"},
          "tcp": {"enabled": True, "identity": "x"}}, "node.registry"),
        (
            {"node": {"nation": "USA", "registry": "r", "default_label": "SECRET//REL TO MARS"},
             "tcp": {"enabled": True, "identity": "x"}},
            "node.default_label",
        ),
        (
            {"node": _NODE, "tcp": {"enabled": True, "identity": "x"},
             "limits": {"max_connections": -1}},
            "limits.max_connections",
        ),
        (
            {"node": _NODE, "tcp": {"enabled": True, "identity": "x"},
             "limits": {"speed": 1}},
            "limits",
        ),
        ({"node": _NODE, "tls": {"cert": "c", "key": "k"}}, "tls.ca"),
        ({"node": {"nation": "USA", "registry": "r"}, "tcp": {"enabled": True, "identity": "x"}},
         "node.default_label"),
        (
            {"node": _NODE,
             "tcp": {"enabled": True, "identity": "x", "allow_cleared_tcp": "yes"}},
            "tcp.allow_cleared_tcp",
        ),
        (
            {"node": _NODE,
             "tcp": {"enabled": True, "identity": "x"}, "feed": {"port": 1}},
            "feed",
        ),
    ],
)  # fmt: skip
def test_bad_config_names_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping(raw, Path())
    assert err.value.field == field


def test_cli_pki_init_writes_certificates(tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    result = CliRunner().invoke(
        app, ["pki", "init", str(tmp_path / "pki"), "--registry", str(tmp_path / "registry.toml")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "pki" / "clients" / "jpn-hi.pem").exists()
    again = CliRunner().invoke(
        app, ["pki", "init", str(tmp_path / "pki"), "--registry", str(tmp_path / "registry.toml")]
    )
    assert again.exit_code == 2


def test_cli_serve_reports_a_bad_config(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text("[node]\n")
    result = CliRunner().invoke(app, ["node", "serve", "--config", str(tmp_path / "node.toml")])
    assert result.exit_code == 2


def test_every_unknown_key_and_a_missing_nation_are_named_at_once(tmp_path: Path) -> None:
    """A misspelt key is a setting silently not made (a TCP guard left off): refused, every
    one named; and a node without a nation would take someone else's."""
    raw = {
        "node": {"nation": "USA", "registry": "r", "default_label": "SECRET", "regsitry": "x"},
        "tcp": {"enabled": True, "identity": "t", "alow_cleared_tcp": True},
        "partner": {},
    }
    with pytest.raises(ConfigError) as err:
        config_from_mapping(raw, tmp_path)
    for name in ("node.regsitry", "tcp.alow_cleared_tcp", "partner: unknown table"):
        assert name in str(err.value)
    with pytest.raises(ConfigError, match=r"node\.nation"):
        config_from_mapping({"node": {"registry": "r", "default_label": "SECRET"}}, tmp_path)
