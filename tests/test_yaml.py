"""The package's YAML reader: libyaml's, where PyYAML has it, reads exactly what the pure-Python
safe reader reads, and refuses what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import kizuna
from kizuna._yaml import safe_load

SHIPPED = sorted(Path(kizuna.__file__).parent.rglob("*.yaml"))


def test_every_shipped_file_is_read() -> None:
    assert len(SHIPPED) >= 7


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_shipped_file_reads_as_the_pure_python_reader_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert safe_load(text) == yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2",
        "a: b: c",
        "!!python/object/apply:os.system ['true']",
        "a: !!python/name:os.system",
        "\t- tab",
    ],
)
def test_what_the_safe_reader_refuses_is_refused_with_its_place(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as got:
        safe_load(text)
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=yaml.SafeLoader)
    assert "line" in str(got.value)
