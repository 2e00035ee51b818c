"""The event's text check refuses exactly the characters CoT text may not carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kizuna.cot import Event, Point
from kizuna.cot._model import _check_text
from kizuna.errors import ValidationError

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _refused(c: str) -> bool:
    return ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF or c in "\ufffe\uffff"


def test_check_text_refuses_exactly_controls_surrogates_and_noncharacters() -> None:
    wrong = []
    for cp in range(0x110000):
        c = chr(cp)
        try:
            _check_text(f"a{c}b", "uid")
            refused = False
        except ValidationError:
            refused = True
        if refused != _refused(c):
            wrong.append(hex(cp))
    assert wrong == []


@pytest.mark.parametrize("bad", ["\x00", "\t", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"])
def test_event_names_the_field_with_a_control_character(bad: str) -> None:
    with pytest.raises(ValidationError, match="control character") as err:
        Event(uid=f"trk{bad}1", type="a-f-G", time=T, start=T, stale=T, point=Point(1.0, 2.0))
    assert err.value.field == "uid"
