"""Canonical CoT read without the general XML reader.

Most events a gateway or node reads are in the one canonical form ``event_to_xml`` writes:
ASCII, fixed attribute order, no layout, no entities, a detail of empty elements. This
recogniser accepts exactly that shape and builds the same element tree the hardened reader
would; anything else (a reference, a comment, a namespace, text, another attribute order,
a byte it does not expect) makes it decline, and the caller reads the document the general
way. It never rejects: its only answers are "this tree" or "not mine".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import cast

__all__ = ["canonical_parts", "canonical_tree", "detail_tree", "element_count"]

# Possessive quantifiers: no token that follows a repeat can match what the repeat took, so
# backtracking never finds another match, and the engine is told not to look for one.
_V = r'[^"&<>\x00-\x1f\x7f]*+'  # an attribute value needing no escape
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*+"
_N = r"[+-]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][+-]?\d{1,3})?+"  # the node's decimal number
_EVENT = re.compile(
    rf'<event version="2\.0" uid="({_V})" type="({_V})" time="({_V})" start="({_V})" '
    rf'stale="({_V})" how="({_V})">'
    rf'<point lat="({_N})" lon="({_N})" hae="({_N})" ce="({_N})" le="({_N})"/>'
    rf'(?:<detail>((?:<{_NAME}(?: {_NAME}="{_V}")*+/>)*+)</detail>)?</event>',
    re.ASCII,
)
_CHILD = re.compile(rf'<({_NAME})((?: {_NAME}="{_V}")*+)/>', re.ASCII)
_ATTR = re.compile(rf' ({_NAME})="({_V})"', re.ASCII)
_POINT = ("lat", "lon", "hae", "ce", "le")


def canonical_parts(data: bytes) -> tuple[tuple[str, ...], str | None] | None:
    """The attribute texts of a canonical event (uid, type, time, start, stale, how, then
    lat, lon, hae, ce, le) and the text inside its detail (None: no detail); or None when
    ``data`` is not in the canonical shape. The five point values are decimal numbers as
    the full reader accepts them (``float`` reads them alike); nothing else is judged yet."""
    if not data.isascii():
        return None
    m = _EVENT.fullmatch(data.decode("ascii"))
    if m is None:
        return None
    g = m.groups()
    return cast("tuple[str, ...]", g[:11]), g[11]  # the eleven attributes always match


def canonical_tree(data: bytes) -> ET.Element | None:
    """The element tree of a canonical event, or None when ``data`` is not one."""
    parts = canonical_parts(data)
    if parts is None:
        return None
    g, inner = parts
    root = ET.Element(
        "event",
        {"version": "2.0", "uid": g[0], "type": g[1], "time": g[2], "start": g[3],
         "stale": g[4], "how": g[5]},
    )  # fmt: skip
    ET.SubElement(root, "point", dict(zip(_POINT, g[6:11], strict=True)))
    if inner is not None:
        detail = detail_tree(inner)
        if detail is None:
            return None
        root.append(detail)
    return root


def detail_tree(text: str) -> ET.Element | None:
    """The <detail> element around a canonical detail's inner text, or None."""
    detail = ET.Element("detail")
    for child in _CHILD.finditer(text):
        pairs = _ATTR.findall(child[2])
        attrs = dict(pairs)
        # a repeated attribute is an error and xml-prefixed names are reserved (xmlns
        # declares a namespace): the general reader has the last word on them
        if len(attrs) != len(pairs) or any(k.startswith("xml") for k in attrs):
            return None
        if child[1].startswith("xml"):
            return None
        detail.append(ET.Element(child[1], attrs))
    return detail


def element_count(root: ET.Element) -> int:
    """How many elements a tree from ``canonical_tree`` holds."""
    detail = root.find("detail")
    return 2 + (0 if detail is None else 1 + len(detail))
