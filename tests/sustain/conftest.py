"""Fixtures building small sustainment models from plain documents."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from sustain_helpers import Doc, base_doc

from kizuna.sustain import Campaign, SustainModel, parse_campaign, parse_model


@pytest.fixture
def doc() -> Doc:
    return base_doc()


@pytest.fixture
def build() -> Callable[..., tuple[SustainModel, Campaign]]:
    def _build(model_doc: Doc, **campaign: Any) -> tuple[SustainModel, Campaign]:
        model = parse_model(copy.deepcopy(model_doc))
        camp: Doc = {"name": "test", "days": 10, "cover_days": 3, "consumption": []}
        camp.update(campaign)
        return model, parse_campaign(camp, model)

    return _build
