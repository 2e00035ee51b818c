"""Reserved detail names: what the node or gateway writes itself, never a client.

Any detail element or attribute whose (local) name starts with ``__kizuna`` is reserved. A
client that writes one is trying to speak for the system (an origin, a category), so the
node takes them out at its edge, keeping the rest of the event.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kizuna._xml import parse_xml
from kizuna.cot._canon import canonical

__all__ = ["RESERVED_PREFIX", "is_reserved", "strip_reserved"]

RESERVED_PREFIX = "__kizuna"


def is_reserved(name: str) -> bool:
    """Whether an element or attribute name is reserved (namespace and case ignored: a
    look-alike is refused with the real one, not taken as the client's own)."""
    local = name.rpartition("}")[2]
    return local.casefold().startswith(RESERVED_PREFIX)


def _strip(elem: ET.Element) -> int:
    removed = 0
    for key in [k for k in elem.attrib if is_reserved(k)]:
        del elem.attrib[key]
        removed += 1
    previous: ET.Element | None = None
    for child in list(elem):
        if is_reserved(child.tag):
            removed += 1
            if child.tail:  # the text after it stays where it was
                if previous is None:
                    elem.text = (elem.text or "") + child.tail
                else:
                    previous.tail = (previous.tail or "") + child.tail
            elem.remove(child)
            continue
        removed += _strip(child)
        previous = child
    return removed


def strip_reserved(detail: str) -> tuple[str, int]:
    """A canonical detail (``Event.detail``) without its reserved elements and attributes,
    at any depth, and how many were removed (0: ``detail`` is returned as it was)."""
    if RESERVED_PREFIX not in detail.casefold():
        return detail, 0
    root = parse_xml(f"<detail>{detail}</detail>", max_bytes=len(detail.encode()) + 64)
    removed = _strip(root)
    if not removed:
        return detail, 0
    return "".join(canonical(child) for child in root), removed
