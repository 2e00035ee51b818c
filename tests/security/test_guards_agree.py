"""Issue 13, item 7: the sending guard and the receiving guard agree.

Originator control, decided: an item may cross only under its originator's own policy (or
UNCLASSIFIED), and NOFORN never crosses. The sending guard applies the receiver's own
over-label rule, so an item the receiver would refuse is refused first, at the sender, with
the receiver's reason; and whatever the sender releases, the receiver accepts. Both
directions, every tier, and a third partner (KOR) added to the policy table as data only.
"""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import AsyncIterator
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.cot import category_of
from kizuna.gateway import (
    Action,
    CotItemCodec,
    Guard,
    GuardReason,
    Meta,
    Outcome,
    Rule,
    RuleSet,
    Signer,
    Verdict,
    Work,
    inbound_guard,
    load_rules,
    outbound_guard,
    seal,
)
from kizuna.labels import Decider, Label, PolicyTable, default_table, format_banner, load_table
from kizuna.roadmap import Tier
from tests.security._guards import CATALOGUE, T0, Link, cot

G = GuardReason
# The shipped table with KOR's policy added and its column in every equivalence row, as the
# table's own comment says to add a nation: data only, no code.
KOR_ADDED = """
[policies.KOR]
levels = [
    { name = "III", banner = "KOR III" },
    { name = "II", banner = "KOR II" },
    { name = "I", banner = "KOR I" },
]
"""
KOR_ROWS = {'JPN = "HI"': "III", 'JPN = "GOKUHI"': "II", 'JPN = "KIMITSU"': "I"}


@cache
def kor_table() -> PolicyTable:
    text = resources.files("kizuna.labels").joinpath("data/policies.toml").read_text("utf-8")
    for jpn, kor in KOR_ROWS.items():
        text = text.replace(jpn, f'{jpn}\nKOR = "{kor}"')
    text = text.replace("\n[[equivalence]]", KOR_ADDED + "\n[[equivalence]]", 1)
    tomllib.loads(text)
    path = Path(tempfile.mkdtemp()) / "policies.toml"
    path.write_text(text)
    return load_table(path)


def test_the_kor_table_is_only_data() -> None:
    t = kor_table()
    assert t.levels["KOR"] == ("III", "II", "I")
    assert t.equivalent("KOR", "II", "USA") == "SECRET"


TYPES = ["a-h-S", "a-f-G-U-C", "b-d-r", "b-m-p", "b-t-f", "t-x-c"]


@st.composite
def labels(draw: st.DrawFn, table: PolicyTable) -> str:
    """A banner over every policy in ``table``: levels, REL TO lists, NOFORN, UNCLASSIFIED."""
    policy = draw(st.sampled_from([None, *sorted(table.levels)]))
    level = "UNCLASSIFIED" if policy is None else draw(st.sampled_from(table.levels[policy]))
    codes = sorted(table.codes & {"USA", "JPN", "KOR", "FVEY", "GBR"})
    rel = draw(st.one_of(st.none(), st.sets(st.sampled_from(codes), min_size=1, max_size=3)))
    noforn = draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else False
    label = Label(policy, level, None if rel is None else frozenset(rel), noforn)
    return format_banner(label, table)


class Pair:
    """Both real guards of one direction, over CoT, with one policy table."""

    def __init__(self, sender: str, receiver: str, table: PolicyTable) -> None:
        decider = Decider(table)
        self.sender, self.receiver = sender, receiver
        self.codec = CotItemCodec(sender, table=table)
        self.out = outbound_guard(sender, self.codec, decider, CATALOGUE.tiers, load_rules())
        self.signer = Signer.generate(sender)
        self.inn: Guard = inbound_guard(
            receiver, CotItemCodec(receiver, table=table), decider,
            lambda *_: True, lambda _m: False,
        )  # fmt: skip

    def offer(self, data: bytes, tier: Tier) -> Verdict:
        v = self.out.run(Work(data, self.receiver, tier, T0))
        if v.outcome is Outcome.HOLD:  # what a human's approval would then give
            v = self.out.run(Work(data, self.receiver, tier, T0, approved=True))
        return v

    def receive(self, data: bytes, type_: str) -> Verdict:
        env = seal(self.signer, msg_id="m", receiver=self.receiver, sent_at=T0.isoformat(),
                   audit_seq=0, item=data, meta=Meta(self.sender, category_of(type_)))  # fmt: skip
        return self.inn.run(Work(env.encode(), self.sender, Tier.T3, T0))


def check_agreement(pair: Pair, banner: str, type_: str, tier: Tier) -> None:
    data = cot("x-1", type_, banner)
    sent = pair.offer(data, tier)
    if sent.released:
        got = pair.receive(sent.work.out, type_)
        assert got.outcome is Outcome.ACCEPT, (banner, tier, got.reasons, got.error)
    # the receiver's answer to the same item, had it arrived without the sender's guard
    direct = pair.receive(data, type_)
    if direct.outcome is not Outcome.ACCEPT:
        assert not sent.released, (banner, tier, direct.reasons)
        assert set(direct.reasons) <= set(sent.reasons), (banner, tier, direct, sent.reasons)


DEFAULT_PAIRS = {(a, b): Pair(a, b, default_table()) for a, b in (("USA", "JPN"), ("JPN", "USA"))}


@given(st.sampled_from(sorted(DEFAULT_PAIRS)), labels(default_table()),
       st.sampled_from(TYPES), st.sampled_from(list(Tier)))  # fmt: skip
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_what_the_sender_releases_the_receiver_accepts(
    direction: tuple[str, str], banner: str, type_: str, tier: Tier
) -> None:
    check_agreement(DEFAULT_PAIRS[direction], banner, type_, tier)


@cache
def kor_pairs() -> dict[tuple[str, str], Pair]:
    t = kor_table()
    dirs = (("USA", "KOR"), ("KOR", "USA"), ("JPN", "KOR"), ("KOR", "JPN"), ("USA", "JPN"))
    return {d: Pair(*d, t) for d in dirs}


@given(st.data(), st.sampled_from(TYPES), st.sampled_from(list(Tier)))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_third_partner_configured_as_data_agrees_too(
    data: st.DataObject, type_: str, tier: Tier
) -> None:
    direction = data.draw(st.sampled_from(sorted(kor_pairs())))
    banner = data.draw(labels(kor_table()))
    check_agreement(kor_pairs()[direction], banner, type_, tier)


# -- the case the issue reproduced, through two real gateways ------------------------------


@pytest.fixture
async def link() -> AsyncIterator[Link]:
    lk = Link("USA", "JPN", tier=Tier.T3)
    yield lk
    await lk.close()


async def test_a_usa_user_marking_under_jpn_policy_is_refused_by_the_usa_guard(
    link: Link,
) -> None:
    (v,), got = await link.send("USA", "JPN", [cot("u-1", "a-h-S", "JPN GOKUHI//REL TO USA, JPN")])
    assert v.outcome is Outcome.DENY and v.reasons == (G.DENY_OVER_LABEL,)
    assert v.stage == "over-label" and got == [] and link["JPN"].gw.received() == []
    (j,), (r,) = await link.send("JPN", "USA", [cot("j-1", "a-h-S", "JPN GOKUHI//REL TO USA, JPN")])
    assert j.released and r.outcome is Outcome.ACCEPT  # under its own policy it crosses


async def test_an_unclassified_noforn_of_another_nation_never_crosses(link: Link) -> None:
    """The table reads UNCLASSIFIED//NOFORN as its unclassified home's (USA's): marked by a
    JPN user it would otherwise have been released to USA."""
    (v,), got = await link.send("JPN", "USA", [cot("j-2", "a-h-S", "UNCLASSIFIED//NOFORN")])
    assert v.outcome is Outcome.DENY and got == []


async def test_a_rule_cannot_relabel_an_item_under_the_partners_policy() -> None:
    bad = Rule("RELABEL", "USA", Action.SANITISE, relabel="JPN GOKUHI//REL TO USA, {partner}")
    lk = Link("USA", "JPN", tier=Tier.T3, rules=RuleSet((bad,)))
    try:
        (v,), got = await lk.send("USA", "JPN", [cot("u-2", "a-h-S", "SECRET//REL TO USA, JPN")])
        assert v.outcome is Outcome.DENY and got == []
        assert set(v.reasons) == {G.DENY_SANITISED_LABEL, G.DENY_OVER_LABEL}
    finally:
        await lk.close()
