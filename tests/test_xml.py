from __future__ import annotations

import pytest

from kizuna._xml import parse_xml
from kizuna.errors import ParseError


def test_parses_namespaces_text_and_tails() -> None:
    root = parse_xml('<a xmlns="urn:x" k="v">hi<b/>tail &amp; more</a>')
    assert root.tag == "{urn:x}a"
    assert root.get("k") == "v"
    assert root.text == "hi"
    assert root[0].tail == "tail & more"


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        ('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', "document type"),
        ('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', "document type"),
        ("<a>&nope;</a>", "malformed|entit"),
        ("<a>" * 40 + "</a>" * 40, "deeper"),
        ("<a>" + "<b/>" * 5000 + "</a>", "more than"),
        ("<a>" + "x" * 70_000 + "</a>", "larger"),
        ("<a>\x00</a>", "NUL"),
        ("<a>", "malformed"),
        (b"<a>\xff</a>", "malformed"),
        ("", "malformed"),
    ],
)
def test_refuses_unsafe_documents(doc: str | bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why):
        parse_xml(doc)
