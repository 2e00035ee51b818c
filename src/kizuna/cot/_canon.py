"""Canonical XML text for detail elements: sorted attributes, no layout whitespace."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kizuna.errors import ValidationError

__all__ = ["attr", "canonical", "text"]

_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def text(value: str) -> str:
    return value.translate(_TEXT)


def attr(value: str) -> str:
    return value.translate(_ATTR)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _write(elem: ET.Element, parent_ns: str, out: list[str]) -> None:
    ns, local = _split(elem.tag)
    out.append("<" + local)
    if ns != parent_ns:
        out.append(f' xmlns="{attr(ns)}"')
    for key in sorted(elem.attrib):
        if key.startswith("{"):
            raise ValidationError(f"namespaced attribute {key!r} is not accepted", field="detail")
        out.append(f' {key}="{attr(elem.attrib[key])}"')
    body = elem.text if elem.text and elem.text.strip() else ""
    if not body and not len(elem):
        out.append("/>")
    else:
        out.append(">" + text(body))
        for child in elem:
            _write(child, ns, out)
            if child.tail and child.tail.strip():
                out.append(text(child.tail))
        out.append(f"</{local}>")


def canonical(elem: ET.Element, parent_ns: str = "") -> str:
    """One element as canonical XML; whitespace-only text is layout and is dropped."""
    out: list[str] = []
    _write(elem, parent_ns, out)
    return "".join(out)
