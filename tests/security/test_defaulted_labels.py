"""Issue 13, item 11 (the gateway's side): a label the node applied by default is not a
release decision. The gateway is told which items carry the default label; the shipped
rules hold them for a human of the originator, whoever the originator is; the envelope says
so to the receiver."""

from __future__ import annotations

from pathlib import Path

import pytest

from kizuna.errors import ConfigError
from kizuna.gateway import GuardReason, Outcome, load_rules
from kizuna.roadmap import Tier
from tests.security._guards import Link, cot


@pytest.mark.parametrize(("origin", "partner", "label"), [
    ("USA", "JPN", "UNCLASSIFIED"),
    ("JPN", "USA", "UNCLASSIFIED"),
    ("KOR", "USA", "UNCLASSIFIED"),
    ("USA", "JPN", "SECRET//REL TO USA, JPN"),
])  # fmt: skip
async def test_a_defaulted_item_is_held_for_its_originator(
    origin: str, partner: str, label: str
) -> None:
    lk = Link(origin, partner, tier=Tier.T2)
    try:
        raws = [cot("d-1", "a-h-S", label), cot("p-1", "a-h-S", label),
                cot("d-2", "b-d-r", label)]  # fmt: skip
        sent, got = await lk.send(origin, partner, raws, defaulted=[True, False, True])
        assert [v.outcome for v in sent] == [Outcome.HOLD, Outcome.RELEASE, Outcome.HOLD]
        for v in (sent[0], sent[2]):
            assert v.reasons == (GuardReason.HOLD_FOR_ORIGINATOR,)
            assert v.work.rule is not None and v.work.rule.id == "DEFAULT-LABEL-HOLD"
        assert [r.work.item.uid for r in got if r.work.item] == ["p-1"]
        (env,) = [r.work.envelope for r in got]
        assert env is not None and env.label_source == "publisher"
        gw = lk[origin].gw
        held = gw.holds()
        assert [h.uid for h in held] == ["d-1", "d-2"]
        approved = await gw.approve(held[0].id, by=f"{origin.lower()}-duty-officer")
        assert approved.released
        _, got = await lk.send(origin, partner, [])
        (r,) = got
        assert r.outcome is Outcome.ACCEPT and r.work.envelope is not None
        assert r.work.envelope.label_source == "default"  # the receiver knows what it was
        assert r.work.item is not None and r.work.item.label_source == "default"
    finally:
        await lk.close()


async def test_missing_flags_are_publisher_labels() -> None:
    lk = Link("USA", "JPN")
    try:
        sent, _ = await lk.send("USA", "JPN", [cot("a"), cot("b")], defaulted=[True])
        assert [v.outcome for v in sent] == [Outcome.HOLD, Outcome.RELEASE]
        (v,) = await lk["USA"].gw.offer([cot("c")], "JPN", cursor=17)  # accepted, not used
        assert v.released
    finally:
        await lk.close()


def test_the_shipped_rules_hold_defaulted_items_first_for_every_originator() -> None:
    first = load_rules().rules[0]
    assert (first.originator, first.label_source, first.action.value) == ("*", "default", "hold")


@pytest.mark.parametrize(("text", "key"), [
    ('[[rule]]\nid = "X"\noriginator = "*"\naction = "hold"\nlabel_source = "dflt"\n',
     "label_source"),
    ('[[rule]]\nid = "X"\noriginator = "*"\naction = "hold"\nlabelsource = "default"\n',
     "unknown keys"),
])  # fmt: skip
def test_a_bad_rule_is_refused_naming_its_key(tmp_path: Path, text: str, key: str) -> None:
    p = tmp_path / "rules.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=key):
        load_rules(p)
