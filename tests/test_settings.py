from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kizuna.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUNA_NATION", "JPN")
    monkeypatch.setenv("KIZUNA_DATA_DIR", "/tmp/kz")
    s = Settings()
    assert s.nation == "JPN"
    assert s.data_dir == Path("/tmp/kz")


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIZUNA_TLS_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()
