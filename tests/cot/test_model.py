"""The event's text check refuses exactly the characters CoT text may not carry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kizuna.cot import Event, Point
from kizuna.cot._model import _check_text, check_event
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


@pytest.mark.parametrize(
    ("type_", "how", "field"),
    [
        ("a f", "m-g", "type"),
        ("a-f-G", "m g", "how"),
        ("", "m-g", "type"),
        ("a-f-G", "h" * 65, "how"),
    ],
)
def test_a_type_and_how_are_judged_alike_however_often_good_ones_were_seen(
    type_: str, how: str, field: str
) -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(3):
        check_event("u", "a-f-G", "m-g", time=t, start=t, stale=t)  # a good pair, remembered
        with pytest.raises(ValidationError) as got:
            check_event("u", type_, how, time=t, start=t, stale=t)
        assert got.value.field == field


def test_a_start_is_checked_even_when_it_is_not_the_stamp() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="UTC") as got:
        check_event("u", "a-f-G", "m-g", time=t, start=t.replace(tzinfo=None), stale=t)
    assert got.value.field == "start"
