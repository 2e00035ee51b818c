"""YAML for the package's own files: safe loading only, through libyaml when PyYAML has it.

An exercise sweep reads the scenario, an architecture and the sustainment model for every run;
the pure-Python reader took a few per cent of a run for that alone. Both readers build only
plain data (no tags beyond YAML's own) and raise ``yaml.YAMLError`` with the place it failed.
"""

from __future__ import annotations

import yaml

__all__ = ["safe_load"]

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> object:
    """``yaml.safe_load``, with libyaml's reader when it is there."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
