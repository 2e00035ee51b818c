"""A lone surrogate handed to the hardened XML reader is a ParseError, not a crash (issue 23).

Before: ``parse_xml`` encoded str input without a guard, so a label or SPIF text holding a
lone surrogate escaped as UnicodeEncodeError, past every caller that turns a ParseError
into a refusal.
"""

from __future__ import annotations

import pytest

from kizuna._xml import parse_xml
from kizuna.errors import ParseError
from kizuna.labels import SpifError, from_xml, parse_spif, read_4774, shipped_policies

TEXT = '<ConfidentialityLabel xmlns="urn:nato:stanag:4774:confidentialitymetadatalabel:1:0">\ud800</ConfidentialityLabel>'  # noqa: E501


def test_parse_xml_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ParseError, match="not valid Unicode"):
        parse_xml(TEXT)


def test_every_label_and_policy_reader_refuses_it_as_bad_input() -> None:
    with pytest.raises(ParseError):
        from_xml(TEXT)
    with pytest.raises(ParseError):
        read_4774(TEXT, shipped_policies())
    with pytest.raises(SpifError, match="not valid Unicode"):
        parse_spif("<SPIF>\ud800</SPIF>")
