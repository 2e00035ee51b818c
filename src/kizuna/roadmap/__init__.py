"""The sharing roadmap: measurable standards in four areas, partner assessments over time,
and the tier each partner has earned, which decides what the gateway lets through."""

from kizuna.roadmap._load import (
    load_assessments,
    load_catalogue,
    parse_assessments,
    parse_catalogue,
)
from kizuna.roadmap._model import (
    Area,
    Assessment,
    Catalogue,
    Direction,
    Standard,
    StandardStatus,
    Tier,
    TierResult,
    TierRule,
    assess,
    latest,
)

__all__ = [
    "Area",
    "Assessment",
    "Catalogue",
    "Direction",
    "Standard",
    "StandardStatus",
    "Tier",
    "TierResult",
    "TierRule",
    "assess",
    "latest",
    "load_assessments",
    "load_catalogue",
    "parse_assessments",
    "parse_catalogue",
]
