"""A hardened XML reader shared by every codec: no DTD, no entities, bounded size and depth.

expat is driven directly so that a document type declaration or an entity declaration stops
the parse at once, before anything is expanded or fetched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from kizuna.errors import ParseError

__all__ = ["parse_xml", "parse_xml_lines"]


class _Builder:
    def __init__(
        self, max_depth: int, max_elements: int, lines: dict[int, int] | None = None
    ) -> None:
        self.lines = lines
        self.parser: expat.XMLParserType | None = None
        self.max_depth = max_depth
        self.max_elements = max_elements
        self.stack: list[ET.Element] = []
        self.root: ET.Element | None = None
        self.last: ET.Element | None = None
        self.count = 0
        self.text: list[str] = []

    def _flush(self) -> None:
        if not self.text:
            return
        data = "".join(self.text)
        self.text = []
        if self.last is not None and self.stack and self.last is not self.stack[-1]:
            self.last.tail = (self.last.tail or "") + data
        elif self.stack:
            top = self.stack[-1]
            top.text = (top.text or "") + data

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.text:
            self._flush()
        self.count += 1
        if len(self.stack) >= self.max_depth:
            raise ParseError(f"XML nested deeper than {self.max_depth}")
        if self.count > self.max_elements:
            raise ParseError(f"XML has more than {self.max_elements} elements")
        if "}" in name:
            name = "{" + name
        if attrs and any("}" in k for k in attrs):
            attrs = {(k if "}" not in k else "{" + k): v for k, v in attrs.items()}
        elem = ET.Element(name, attrs)
        if self.lines is not None and self.parser is not None:
            self.lines[id(elem)] = self.parser.CurrentLineNumber
        if self.stack:
            self.stack[-1].append(elem)
        elif self.root is None:
            self.root = elem
        self.stack.append(elem)
        self.last = elem

    def end(self, _name: str) -> None:
        if self.text:
            self._flush()
        self.last = self.stack.pop()

    def data(self, text: str) -> None:
        self.text.append(text)


def _refuse_doctype(*_: object) -> None:
    raise ParseError("XML with a document type declaration is refused")


def _refuse_entity(*_: object) -> int:
    raise ParseError("XML with entity declarations or references is refused")


def parse_xml(
    data: bytes | str,
    *,
    max_bytes: int = 64 * 1024,
    max_depth: int = 32,
    max_elements: int = 4096,
) -> ET.Element:
    """Parse one XML document strictly; raise ParseError with the reason on anything unsafe."""
    return _parse(data, max_bytes, max_depth, max_elements, None)


def parse_xml_lines(
    data: bytes | str,
    *,
    max_bytes: int = 64 * 1024,
    max_depth: int = 32,
    max_elements: int = 4096,
) -> tuple[ET.Element, dict[int, int]]:
    """parse_xml, also giving each element's line (keyed by ``id(element)``).

    For files an operator edits (a security policy), where an error must say where it is:
    every ParseError message then starts with ``line N:``.
    """
    lines: dict[int, int] = {}
    return _parse(data, max_bytes, max_depth, max_elements, lines), lines


def _parse(
    data: bytes | str,
    max_bytes: int,
    max_depth: int,
    max_elements: int,
    lines: dict[int, int] | None,
) -> ET.Element:
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else data
    except UnicodeEncodeError as exc:  # a lone surrogate: no XML document holds one
        raise ParseError("XML text is not valid Unicode") from exc
    if len(raw) > max_bytes:
        raise ParseError(f"XML larger than {max_bytes} bytes")
    if b"\x00" in raw:
        raise ParseError("XML contains a NUL byte")
    builder = _Builder(max_depth, max_elements, lines)
    parser = expat.ParserCreate("utf-8", namespace_separator="}")
    if lines is not None:
        builder.parser = parser
    parser.buffer_text = True  # one data call per text run, not one per line
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_entity
    parser.SkippedEntityHandler = _refuse_entity
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        where = ""
        if lines is not None:
            inside = f" <{builder.stack[-1].tag.rpartition('}')[2]}>:" if builder.stack else ""
            where = f"line {exc.lineno}:{inside} "
        raise ParseError(f"{where}malformed XML: {expat.errors.messages[exc.code]}") from exc
    except ParseError as exc:
        if lines is None:
            raise
        raise ParseError(f"line {parser.CurrentLineNumber}: {exc}") from exc
    if builder.root is None:
        raise ParseError("XML has no root element")
    return builder.root
