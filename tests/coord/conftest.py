from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from kizuna.coord import Architecture, load_architecture, shipped_architectures
from tests.coord.helpers import NAMES


@pytest.fixture(scope="session")
def shipped() -> dict[str, Architecture]:
    return {n: load_architecture(n) for n in NAMES}


@pytest.fixture
def doc() -> dict[str, Any]:
    """The parallel architecture as a plain document, for tests to break."""
    return copy.deepcopy(yaml.safe_load(shipped_architectures()["parallel"]))
