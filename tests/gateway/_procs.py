"""Real processes for integration tests: gateways and national nodes on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kizuna(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kizuna.cli", *args],
        capture_output=True, text=True, timeout=60, check=check,
    )  # fmt: skip


class Proc:
    """A ``kizuna`` server process that prints one JSON line when it is ready."""

    command: tuple[str, ...] = ("gateway", "serve", "-c")

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.ready: dict[str, object] = {}

    def start(self) -> dict[str, object]:
        log = self.config.with_suffix(".log")
        with log.open("a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kizuna.cli", *self.command, str(self.config)],
                stdout=subprocess.PIPE, stderr=err, text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, log.read_text()
        self.ready = json.loads(line)
        return self.ready

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None


def write_config(d: Path, nation: str, port: int, partner: str, pport: int, tier: str) -> Path:
    cfg = d / f"{nation.lower()}.toml"
    cfg.write_text(
        f'nation = "{nation}"\nlisten = "127.0.0.1:{port}"\ndata_dir = "{nation.lower()}"\n'
        f'key = "keys/{nation}.key"\nkeys_dir = "keys"\n'
        f'[partners.{partner}]\naddress = "127.0.0.1:{pport}"\ntier = "{tier}"\n'
    )
    return cfg


class Gateway(Proc):
    command = ("gateway", "serve", "-c")


class NodeProc(Proc):
    command = ("node", "serve", "--config")
