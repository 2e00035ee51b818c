"""Issue 13 item 10: configuration mistakes are errors, all reported at once with file, key
and line; paths that must exist are opened read-only and never created; every operator error
of the gateway, audit and ledger commands is one line and a non-zero exit, never a traceback.

Before: `[partner.JPN]` or `adress=` started a gateway with no partners, `audit verify
--partner-db WRONG_PATH` created an empty database and printed ok, `gateway tier KOR T1`
succeeded, and a missing key, a busy port or a second gateway printed a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kizuna.cli import app
from kizuna.gateway import GatewayFileError, load_gateway_file
from tests.gateway._procs import Gateway as GatewayProc
from tests.gateway._procs import free_port, kizuna
from tests.security._gwfiles import gateway_file, keys

runner = CliRunner()


def _problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(GatewayFileError) as err:
        load_gateway_file(path)
    return err.value.problems


def _one_line_error(out: str) -> None:
    assert out.startswith("error: ") and out.count("\n") <= 1, out
    assert "Traceback" not in out


def _file(tmp_path: Path, text: str) -> Path:
    keys(tmp_path, "USA", "JPN")
    path = tmp_path / "usa.toml"
    path.write_text('nation = "USA"\nlisten = "127.0.0.1:7401"\n' + text)
    return path


def test_a_misspelt_table_is_an_error_not_a_gateway_without_partners(tmp_path: Path) -> None:
    path = _file(tmp_path, '[partner.JPN]\naddress = "127.0.0.1:7402"\n')
    assert _problems(path) == (f"{path}:3: partner: unknown table",)


def test_a_misspelt_key_is_an_error(tmp_path: Path) -> None:
    path = _file(tmp_path, '[partners.JPN]\nadress = "127.0.0.1:7402"\n')
    assert set(_problems(path)) == {
        f"{path}:4: partners.JPN.adress: unknown key",
        f"{path}:3: partners.JPN.address: is required",
    }


def test_every_problem_is_reported_at_once_with_its_key(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        'codec = "xml"\nmax_bytes = "big"\nrules = "missing-rules.toml"\n'
        'catalogue = "nope.toml"\nassessments = "nope2.toml"\ncolour = "red"\n'
        '[tls]\ncert = "pki/gw.pem"\n'
        '[node]\naddress = "127.0.0.1"\nca = "pki/node-ca.pem"\n'
        "[audit]\ncheckpoint_every_entries = 0\ncheckpoint_every_s = -1\n"
        "[limits]\nmax_connections = true\nidle_timeout_s = 0\nread_timeout_s = 1e9\n"
        "max_unauth_bytes = 1.5\nburst = 3\n"
        '[partners.JPN]\naddress = "127.0.0.1:99999"\ntier = "T7"\nca = "jpn-ca.pem"\n'
        '[partners.KOR]\naddress = "127.0.0.1:7403"\n'  # no keys/KOR.pub
        '[partners.usa]\naddress = "127.0.0.1:7404"\n',
    )
    problems = _problems(path)
    keys_named = {p.split(": ")[1] for p in problems}
    assert keys_named >= {
        "codec", "max_bytes", "rules", "catalogue", "assessments", "colour",
        "tls.cert", "tls.key", "node.address", "node.ca",
        "audit.checkpoint_every_entries", "audit.checkpoint_every_s",
        "limits.max_connections", "limits.idle_timeout_s", "limits.read_timeout_s",
        "limits.max_unauth_bytes", "limits.burst",
        "partners.JPN.address", "partners.JPN.tier", "partners.JPN.ca",
        "partners.KOR", "partners.usa",
    }, problems  # fmt: skip
    assert all(p.startswith(f"{path}:") for p in problems)
    assert any(p.startswith(f"{path}:3: codec:") for p in problems)  # with its line
    assert not (tmp_path / "missing-rules.toml").exists()  # looked for, never created
    assert not (tmp_path / "usa").exists()
    out = runner.invoke(app, ["gateway", "holds", "-c", str(path)])
    assert out.exit_code == 2
    _one_line_error(out.output)
    assert "partners.KOR" in out.output and "limits.burst" in out.output


def test_a_complete_file_of_every_key_loads(tmp_path: Path) -> None:
    for f in ("pki/gw.pem", "pki/gw.key", "pki/node-ca.pem", "jpn-ca.pem", "rules.toml"):
        (tmp_path / f).parent.mkdir(exist_ok=True)
        (tmp_path / f).write_text("")
    (tmp_path / "pki" / "gw.key").chmod(0o600)
    path = _file(
        tmp_path,
        'data_dir = "usa"\nkey = "keys/USA.key"\nkeys_dir = "keys"\ncodec = "cot"\n'
        'max_bytes = 65536\nrules = "rules.toml"\n'
        '[tls]\ncert = "pki/gw.pem"\nkey = "pki/gw.key"\n'
        '[node]\naddress = "127.0.0.1:8090"\nca = "pki/node-ca.pem"\n'
        "[audit]\ncheckpoint_every_entries = 500\ncheckpoint_every_s = 30.0\n"
        "[limits]\nmax_connections = 32\nidle_timeout_s = 30.0\nread_timeout_s = 5.0\n"
        "max_unauth_bytes = 4096\n"
        '[partners.JPN]\naddress = "127.0.0.1:7402"\nca = "jpn-ca.pem"\ntier = "T2"\n',
    )
    cfg = load_gateway_file(path)
    assert (cfg.tls_cert, cfg.tls_key) == (tmp_path / "pki/gw.pem", tmp_path / "pki/gw.key")
    assert (cfg.node, cfg.node_ca) == (("127.0.0.1", 8090), tmp_path / "pki/node-ca.pem")
    assert (cfg.checkpoint_every_entries, cfg.checkpoint_every_s) == (500, 30.0)
    assert (cfg.max_connections, cfg.idle_timeout_s, cfg.read_timeout_s) == (32, 30.0, 5.0)
    assert cfg.max_unauth_bytes == 4096 and cfg.partners["JPN"].ca == tmp_path / "jpn-ca.pem"
    assert cfg.codec == "cot" and cfg.rules == tmp_path / "rules.toml"


def test_a_wrong_partner_db_is_an_error_not_an_empty_new_database(tmp_path: Path) -> None:
    path = gateway_file(tmp_path, "USA", {"JPN": (1, "T2")})
    runner.invoke(app, ["gateway", "holds", "-c", str(path)])  # makes our own database
    wrong = tmp_path / "jnp" / "gateway.db"
    out = runner.invoke(app, ["audit", "verify", "-c", str(path), "--partner-db", str(wrong)])
    assert out.exit_code == 2 and str(wrong) in out.output
    _one_line_error(out.output)
    assert not wrong.exists() and not wrong.parent.exists()
    not_a_db = tmp_path / "usa.toml"
    out = runner.invoke(app, ["audit", "verify", "-c", str(path), "--partner-db", str(not_a_db)])
    assert out.exit_code == 2
    _one_line_error(out.output)


def test_look_only_commands_never_create_a_database(tmp_path: Path) -> None:
    path = gateway_file(tmp_path, "USA", {"JPN": (1, "T2")})
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps({"log_id": "JPN", "seq": 0, "size": 1, "entry": "x",
                                 "root": "00", "proof": []}))  # fmt: skip
    for args in (
        ["ledger", "show", "-c", str(path)],
        ["audit", "verify", "-c", str(path)],
        ["audit", "prove", "-c", str(path), "0"],
        ["audit", "check", "-c", str(path), str(proof)],
    ):
        out = runner.invoke(app, args)
        assert out.exit_code == 2, (args, out.output)
        _one_line_error(out.output)
        assert "no gateway database" in out.output
    assert not (tmp_path / "usa").exists()


def test_operator_errors_without_a_serving_gateway_are_one_line(tmp_path: Path) -> None:
    path = gateway_file(tmp_path, "USA", {"JPN": (1, "T2")})
    items = tmp_path / "items.jsonl"
    items.write_text("{}\n")
    for args, code in (
        (["gateway", "offer", "-c", str(path), "--partner", "JPN", str(items)], 1),
        (["gateway", "offer", "-c", str(path), "--partner", "KOR", str(items)], 2),
        (["gateway", "offer", "-c", str(path), "--partner", "JPN", "missing.jsonl"], 2),
        (["gateway", "approve", "-c", str(path), "7"], 1),
        (["gateway", "reject", "-c", str(path), "7"], 1),
        (["gateway", "tier", "-c", str(path), "KOR", "T1", "--why", "x"], 2),
        (["gateway", "tier", "-c", str(path), "JPN", "T9", "--why", "x"], 2),
        (["gateway", "tier", "-c", str(path), "JPN", "T1"], 2),  # no reason
        (["gateway", "tier", "-c", str(path), "JPN", "T1", "--clear", "--why", "x"], 2),
        (["audit", "checkpoint", "-c", str(path)], 1),
        (["audit", "prove", "-c", str(path), "99"], 1),
        (["gateway", "serve", "-c", str(tmp_path / "none.toml")], 2),
    ):
        out = runner.invoke(app, args)
        assert out.exit_code == code, (args, out.output)
        _one_line_error(out.output)


@pytest.mark.integration
def test_a_missing_key_a_busy_port_and_a_second_gateway_are_one_line(tmp_path: Path) -> None:
    port = free_port()
    path = gateway_file(tmp_path, "USA", {"JPN": (free_port(), "T2")}, port=port)
    first = GatewayProc(path)
    try:
        first.start()
        second = kizuna("gateway", "serve", "-c", str(path), check=False)
        assert second.returncode == 2
        _one_line_error(second.stderr)
        assert "already serves" in second.stderr

        other = tmp_path / "other.toml"  # its own data directory, the same port
        other.write_text(path.read_text().replace('data_dir = "usa"', 'data_dir = "usa2"'))
        busy = kizuna("gateway", "serve", "-c", str(other), check=False)
        assert busy.returncode == 2
        _one_line_error(busy.stderr)
        assert f"127.0.0.1:{port}" in busy.stderr and "in use" in busy.stderr
    finally:
        first.stop()

    (tmp_path / "keys" / "USA.key").unlink()
    missing = kizuna("gateway", "serve", "-c", str(path), check=False)
    assert missing.returncode == 2
    _one_line_error(missing.stderr)
    assert "key" in missing.stderr and "USA.key does not exist" in missing.stderr
