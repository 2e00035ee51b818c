"""STANAG 4774 confidentiality metadata labels as XML.

REL TO travels as a permissive category and NOFORN as a restrictive one, so a 4774-aware
peer applies the same semantics without knowing CAPCO banners.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kizuna._xml import parse_xml
from kizuna.errors import ParseError
from kizuna.labels._banner import order_codes
from kizuna.labels._model import UNCLASSIFIED, Category, CategoryType, Label
from kizuna.labels._table import PolicyTable, default_table

__all__ = ["NS", "from_xml", "to_element", "to_xml"]

NS = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"
_REL_TAG = "Releasable To"
_DISSEM_TAG = "Dissemination"
_NOFORN = "NOFORN"
_NO_POLICY = "NONE"


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _category(parent: ET.Element, tag: str, kind: CategoryType, values: list[str]) -> None:
    cat = ET.SubElement(parent, _q("Category"), {"TagName": tag, "Type": kind.value})
    for value in values:
        ET.SubElement(cat, _q("GenericValue")).text = value


def to_element(label: Label, table: PolicyTable | None = None) -> ET.Element:
    table = table or default_table()
    root = ET.Element(_q("ConfidentialityLabel"))
    info = ET.SubElement(root, _q("ConfidentialityInformation"))
    ET.SubElement(info, _q("PolicyIdentifier")).text = label.policy or _NO_POLICY
    ET.SubElement(info, _q("Classification")).text = label.level
    if label.rel_to is not None:
        codes = order_codes(label.rel_to, table.home(label.policy), table)
        _category(info, _REL_TAG, CategoryType.PERMISSIVE, codes)
    if label.noforn:
        _category(info, _DISSEM_TAG, CategoryType.RESTRICTIVE, [_NOFORN])
    for cat in sorted(label.categories):
        _category(info, cat.tag, cat.type, sorted(cat.values))
    return root


def to_xml(label: Label, table: PolicyTable | None = None) -> str:
    ET.register_namespace("", NS)
    return ET.tostring(to_element(label, table), encoding="unicode")


# All three root forms the 4774 schema allows; a label is read alike under each.
_ROOTS = frozenset(
    _q(n)
    for n in (
        "ConfidentialityLabel",
        "originatorConfidentialityLabel",
        "alternativeConfidentialityLabel",
    )
)


def _check_uri(elem: ET.Element, policy: str | None, table: PolicyTable) -> None:
    """A policy URI (or URL, as some tools spell it), when given, must be the SPIF's id."""
    uri, url = elem.get("URI"), elem.get("URL")
    if uri is None and url is None:
        return
    if uri is not None and url is not None and uri != url:
        raise ParseError("PolicyIdentifier has a URI and a URL that disagree")
    ref = (uri if uri is not None else url or "").strip()
    spif = table.policies.get(policy) if policy is not None else None
    if spif is None:  # nothing to check it against: refuse rather than trust it
        raise ParseError(f"PolicyIdentifier URI {ref!r} cannot be checked for {policy}")
    oid = ref[8:] if ref.lower().startswith("urn:oid:") else ref
    if oid != spif.id:
        raise ParseError(f"PolicyIdentifier URI {ref!r} is not policy {policy} ({spif.id})")


def _only(parent: ET.Element, name: str) -> str:
    found = parent.findall(_q(name))
    if len(found) != 1:
        raise ParseError(f"4774 label needs exactly one {name}, found {len(found)}")
    return (found[0].text or "").strip()


def _read_categories(info: ET.Element) -> tuple[frozenset[str] | None, bool, set[Category]]:
    rel_to: frozenset[str] | None = None
    noforn = False
    others: set[Category] = set()
    for cat in info.findall(_q("Category")):
        tag, kind = cat.get("TagName", ""), cat.get("Type", "")
        try:
            ctype = CategoryType(kind)
        except ValueError as exc:
            raise ParseError(f"unknown category type {kind!r}") from exc
        values = [(v.text or "").strip() for v in cat.findall(_q("GenericValue"))]
        if not tag or not values or not all(values):
            raise ParseError(f"category {tag!r} needs a name and non-empty values")
        if tag == _REL_TAG and ctype is CategoryType.PERMISSIVE:
            if rel_to is not None:
                raise ParseError("Releasable To appears twice")
            rel_to = frozenset(values)
        elif tag == _DISSEM_TAG and values == [_NOFORN]:
            if noforn:
                raise ParseError("NOFORN appears twice")
            noforn = True
        else:
            others.add(Category(tag, ctype, frozenset(values)))
    return rel_to, noforn, others


def from_element(root: ET.Element, table: PolicyTable | None = None) -> Label:
    table = table or default_table()
    if root.tag not in _ROOTS:
        raise ParseError(f"not a STANAG 4774 label: root is {root.tag!r}")
    infos = root.findall(_q("ConfidentialityInformation"))
    if len(infos) != 1:
        raise ParseError("4774 label needs exactly one ConfidentialityInformation")
    info = infos[0]
    policy: str | None = _only(info, "PolicyIdentifier")
    level = _only(info, "Classification")
    if policy == _NO_POLICY:
        policy = None
    _check_uri(info.findall(_q("PolicyIdentifier"))[0], policy, table)
    if policy is None:
        if level != UNCLASSIFIED:
            raise ParseError(f"classification {level!r} needs a policy")
    elif (policy, level) not in table.banner_of:
        raise ParseError(f"unknown classification {policy}:{level}")
    rel_to, noforn, others = _read_categories(info)
    if rel_to is not None and not rel_to <= table.codes:
        raise ParseError(f"Releasable To names unknown codes {sorted(rel_to - table.codes)}")
    return Label(policy, level, rel_to, noforn, frozenset(others))


def from_xml(text: str | bytes, table: PolicyTable | None = None) -> Label:
    """Parse a 4774 label with the hardened reader (no DTD, no entities, bounded)."""
    return from_element(parse_xml(text, max_bytes=16 * 1024, max_depth=8), table)
