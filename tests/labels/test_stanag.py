from __future__ import annotations

import pytest
from hypothesis import given

from kizuna.errors import ParseError
from kizuna.labels import STANAG_4774_NS, Label, from_xml, parse_banner, to_xml

from .strategies import labels


@given(labels(with_categories=True))
def test_xml_round_trips(label: Label) -> None:
    assert from_xml(to_xml(label)) == label


def test_xml_carries_rel_to_as_a_permissive_category() -> None:
    xml = to_xml(parse_banner("SECRET//REL TO USA, JPN"))
    assert f'xmlns="{STANAG_4774_NS}"' in xml
    assert "<PolicyIdentifier>USA</PolicyIdentifier>" in xml
    assert 'TagName="Releasable To" Type="PERMISSIVE"' in xml
    assert xml.index("<GenericValue>USA</GenericValue>") < xml.index(
        "<GenericValue>JPN</GenericValue>"
    )


BAD = [
    # a billion-laughs document: refused at the DTD, nothing expanded
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}">&lol2;</ConfidentialityLabel>',
    # an external entity: refused, the file is never read
    '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}">&xxe;</ConfidentialityLabel>',
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}">&undefined;</ConfidentialityLabel>',
    "<ConfidentialityLabel>" * 50 + "</ConfidentialityLabel>" * 50,
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}"><ConfidentialityInformation>'
    + "<x/>" * 20000
    + "</ConfidentialityInformation></ConfidentialityLabel>",
    "<ConfidentialityLabel",
    "not xml at all",
    "",
    '<Label xmlns="urn:other"/>',
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}"><ConfidentialityInformation>'
    "<PolicyIdentifier>USA</PolicyIdentifier><Classification>SECRET</Classification>"
    "<Classification>SECRET</Classification></ConfidentialityInformation></ConfidentialityLabel>",
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}"><ConfidentialityInformation>'
    "<PolicyIdentifier>USA</PolicyIdentifier><Classification>HI</Classification>"
    "</ConfidentialityInformation></ConfidentialityLabel>",
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}"><ConfidentialityInformation>'
    "<PolicyIdentifier>USA</PolicyIdentifier><Classification>SECRET</Classification>"
    '<Category TagName="Releasable To" Type="PERMISSIVE"><GenericValue>XYZ</GenericValue>'
    "</Category></ConfidentialityInformation></ConfidentialityLabel>",
    f'<ConfidentialityLabel xmlns="{STANAG_4774_NS}"><ConfidentialityInformation>'
    "<PolicyIdentifier>USA</PolicyIdentifier><Classification>SECRET</Classification>"
    '<Category TagName="X" Type="SOMETIMES"><GenericValue>A</GenericValue>'
    "</Category></ConfidentialityInformation></ConfidentialityLabel>",
    b"\xff\xfe<ConfidentialityLabel/>",
]


@pytest.mark.parametrize("doc", BAD)
def test_hostile_or_malformed_xml_is_refused(doc: str | bytes) -> None:
    with pytest.raises(ParseError):
        from_xml(doc)
