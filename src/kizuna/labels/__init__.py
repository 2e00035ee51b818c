"""Releasability labels: markings, STANAG 4774 XML, policies and the release decision."""

from kizuna.labels._acdf import BatchDecider, SpifClearance, access, clearance_up_to
from kizuna.labels._banner import format_banner, parse_banner
from kizuna.labels._date import date_field, parse_date
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
from kizuna.labels._policylabel import (
    PolicyLabel,
    PolicySet,
    display_marking,
    read_4774,
    shipped_policies,
    translate,
    validate,
    write_4774,
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
    "BatchDecider",
    "Category",
    "CategoryType",
    "Clearance",
    "ClearanceStatus",
    "Decider",
    "Decision",
    "Label",
    "Policy",
    "PolicyLabel",
    "PolicySet",
    "PolicyTable",
    "Reason",
    "SpifClearance",
    "SpifError",
    "Viewer",
    "access",
    "clearance_up_to",
    "date_field",
    "decide",
    "default_table",
    "display_marking",
    "dominates",
    "format_banner",
    "from_element",
    "from_xml",
    "high_water_mark",
    "load_spif",
    "load_table",
    "parse_banner",
    "parse_clearance",
    "parse_date",
    "parse_spif",
    "rank",
    "read_4774",
    "releasable_to",
    "shipped_policies",
    "shipped_policy",
    "table_from_policies",
    "to_element",
    "to_xml",
    "translate",
    "validate",
    "viewer_from_mapping",
    "write_4774",
]
