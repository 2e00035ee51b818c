"""Releasability labels: markings, STANAG 4774 XML, policies and the release decision."""

from kizuna.labels._banner import format_banner, parse_banner
from kizuna.labels._decide import Decider, decide, releasable_to
from kizuna.labels._hwm import dominates, high_water_mark, rank
from kizuna.labels._model import (
    UNCLASSIFIED,
    Category,
    CategoryType,
    Clearance,
    ClearanceStatus,
    Decision,
    Label,
    Reason,
    Viewer,
)
from kizuna.labels._spif import Policy, SpifError, load_spif, parse_spif
from kizuna.labels._stanag import NS as STANAG_4774_NS
from kizuna.labels._stanag import from_element, from_xml, to_element, to_xml
from kizuna.labels._table import (
    PolicyTable,
    default_table,
    load_table,
    shipped_policy,
    table_from_policies,
)
from kizuna.labels._viewer import parse_clearance, viewer_from_mapping

__all__ = [
    "STANAG_4774_NS",
    "UNCLASSIFIED",
    "Category",
    "CategoryType",
    "Clearance",
    "ClearanceStatus",
    "Decider",
    "Decision",
    "Label",
    "Policy",
    "PolicyTable",
    "Reason",
    "SpifError",
    "Viewer",
    "decide",
    "default_table",
    "dominates",
    "format_banner",
    "from_element",
    "from_xml",
    "high_water_mark",
    "load_spif",
    "load_table",
    "parse_banner",
    "parse_clearance",
    "parse_spif",
    "rank",
    "releasable_to",
    "shipped_policy",
    "table_from_policies",
    "to_element",
    "to_xml",
    "viewer_from_mapping",
]
