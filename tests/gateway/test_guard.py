"""Each outbound filter stops what it must, with its reason, and passes the rest on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import msgspec
import pytest

from kizuna.gateway import (
    Action,
    Envelope,
    Guard,
    GuardReason,
    Meta,
    Outcome,
    Rule,
    RuleSet,
    Verdict,
    Work,
    coarsen,
    load_rules,
    outbound_guard,
    seal,
)
from kizuna.gateway._filters import (
    CheckLabel,
    Originator,
    Parse,
    Releasable,
    Reserialise,
    Sanitise,
    SizeLimit,
    TierAllows,
    top_viewer,
)
from kizuna.labels import Clearance, ClearanceStatus, Decider, Reason, Viewer, default_table
from kizuna.roadmap import Tier
from tests.gateway.conftest import CATALOGUE, CODEC, SIGNERS, T0, item, raw

G = GuardReason
TABLE = default_table()


def guard(rules: RuleSet | None = None, max_bytes: int = 4096) -> Guard:
    return outbound_guard(
        "USA", CODEC, Decider(), CATALOGUE.tiers, rules or RuleSet(), max_bytes=max_bytes
    )


def run(data: bytes, tier: Tier | None = Tier.T2, g: Guard | None = None) -> Verdict:
    return (g or guard()).run(Work(data, "JPN", tier, T0))


def test_a_releasable_item_within_the_tier_is_released_canonically() -> None:
    it = item("a")
    v = run(raw(it))
    assert (v.outcome, v.reasons, v.stage) == (Outcome.RELEASE, (), "done")
    assert v.released and v.work.out == CODEC.encode(it) and v.work.item == it


JP = "JPN HI//REL TO JPN, USA"
NOT_REL, LOW = Reason.DENY_NOT_RELEASABLE, Reason.DENY_INSUFFICIENT_CLEARANCE


@pytest.mark.parametrize(
    ("data", "reason", "stage"),
    [
        (b"x" * 5000, G.DENY_TOO_LARGE, "size"),
        (b"{not json", G.DENY_PARSE, "parse"),
        (b'{"uid": "a"}', G.DENY_PARSE, "parse"),
        (raw(item("a", origin="JPN", label=JP)), G.DENY_NOT_ORIGINATOR, "originator"),
        (raw(item("a", label="")), Reason.DENY_MISSING_LABEL, "label"),
        (raw(item("a", label="   ")), Reason.DENY_MISSING_LABEL, "label"),
        (raw(item("a", label="SECRET//REL TO MARS")), Reason.DENY_MALFORMED_LABEL, "label"),
        (raw(item("a", label="SECRET//REL TO JPN")), Reason.DENY_UNSATISFIABLE_LABEL, "label"),
        (raw(item("a", label="SECRET//NOFORN")), Reason.DENY_NOT_RELEASABLE, "releasable"),
        (raw(item("a", label="SECRET")), Reason.DENY_NOT_RELEASABLE, "releasable"),
        (raw(item("a", label="SECRET//REL TO USA, FVEY")), NOT_REL, "releasable"),
        (raw(item("a", label="TOP SECRET//REL TO USA, JPN")), LOW, "releasable"),
        (raw(item("a", category="plan")), G.DENY_CATEGORY_NOT_IN_TIER, "tier"),
    ],
)  # fmt: skip
def test_each_filter_denies_with_its_reason(data: bytes, reason: object, stage: str) -> None:
    v = run(data)
    assert v.outcome is Outcome.DENY and not v.released
    assert reason in v.reasons and v.stage == stage
    assert v.work.out == b""


def test_the_size_limit_is_inclusive() -> None:
    assert SizeLimit(3)(Work(b"abc", "JPN", Tier.T2, T0)) == Work(b"abc", "JPN", Tier.T2, T0)
    assert isinstance(SizeLimit(2)(Work(b"abc", "JPN", Tier.T2, T0)), Verdict)


def test_tier_limits_rank_and_category() -> None:
    secret = raw(item("a", label="SECRET//REL TO USA, JPN"))
    unclass = raw(item("a", label="UNCLASSIFIED"))
    assert run(secret, Tier.T1).outcome is Outcome.DENY
    assert run(secret, Tier.T3).outcome is Outcome.RELEASE
    assert run(unclass, Tier.T1).outcome is Outcome.RELEASE
    assert (
        run(raw(item("a", label="UNCLASSIFIED", category="unit")), Tier.T1).outcome is Outcome.DENY
    )
    assert run(raw(item("a", label="UNCLASSIFIED", category="liaison")), Tier.T0).released
    assert not run(unclass, Tier.T0).released
    plan = raw(item("a", category="plan"))
    assert run(plan, Tier.T3).released


def test_rank_above_tier_is_its_own_reason() -> None:
    w = Work(
        b"",
        "JPN",
        Tier.T1,
        T0,
        item=item("a"),
        label=CheckLabel(TABLE)(Work(b"", "JPN", Tier.T1, T0, item=item("a"))).label,
    )  # type: ignore[union-attr]
    v = TierAllows(CATALOGUE.tiers, TABLE)(w)
    assert isinstance(v, Verdict) and v.reasons == (G.DENY_ABOVE_TIER,)
    w2 = msgspec.structs.replace(w, item=item("a", category="plan"))
    v2 = TierAllows(CATALOGUE.tiers, TABLE)(w2)
    assert isinstance(v2, Verdict)
    assert v2.reasons == (G.DENY_ABOVE_TIER, G.DENY_CATEGORY_NOT_IN_TIER)


def test_a_partner_without_a_tier_gets_nothing() -> None:
    v = run(raw(item("a", label="UNCLASSIFIED", category="liaison")), None)
    assert v.outcome is Outcome.DENY and v.reasons == (G.DENY_NO_TIER,)
    labelled = Work(b"", "JPN", None, T0, item=item("a"), label=TABLE and None)
    for f in (TierAllows(CATALOGUE.tiers, TABLE), Sanitise(RuleSet(), ())):  # type: ignore[arg-type]
        got = f(msgspec.structs.replace(labelled, label=CheckLabel(TABLE)(labelled).label))  # type: ignore[union-attr]
        assert isinstance(got, Verdict) and got.reasons == (G.DENY_NO_TIER,)


def test_the_partner_is_judged_as_its_tiers_most_cleared_viewer() -> None:
    assert top_viewer("JPN", 0, TABLE).clearance == Clearance(
        "JPN", "NONE", ClearanceStatus.ACTIVE, date.max
    )
    assert top_viewer("JPN", 2, TABLE).clearance.level == "GOKUHI"  # type: ignore[union-attr]
    assert top_viewer("JPN", 3, TABLE).clearance.level == "KIMITSU"  # type: ignore[union-attr]
    assert top_viewer("JPN", 9, TABLE).clearance.level == "KIMITSU"  # type: ignore[union-attr]
    assert top_viewer("KOR", 3, TABLE) == Viewer("KOR")  # no policy of its own: no clearance
    assert run(raw(item("a", label="UNCLASSIFIED//REL TO USA, KOR")), Tier.T2).reasons == (
        Reason.DENY_NOT_RELEASABLE,
    )


def test_hold_rule_holds_until_approved() -> None:
    hold = RuleSet((Rule("H", "USA", Action.HOLD, categories=frozenset({"unit"})),))
    g = guard(hold)
    v = run(raw(item("a", category="unit")), g=g)
    assert (v.outcome, v.reasons, v.stage) == (Outcome.HOLD, (G.HOLD_FOR_ORIGINATOR,), "sanitise")
    assert not v.released and v.work.rule is not None and v.work.rule.id == "H"
    ok = g.run(Work(raw(item("a", category="unit")), "JPN", Tier.T2, T0, approved=True))
    assert ok.outcome is Outcome.RELEASE and ok.work.rule is not None


def test_sanitise_rule_coarsens_strips_and_relabels() -> None:
    rule = Rule(
        "S", "USA", Action.SANITISE, partners=frozenset({"JPN"}), types=("a-h",),
        precision_km=10.0, strip_detail=frozenset({"sensor"}), drop_callsign=True,
        relabel="CONFIDENTIAL//REL TO USA, {partner}",
    )  # fmt: skip
    v = run(raw(item("a")), g=guard(RuleSet((rule,))))
    assert v.outcome is Outcome.SANITISE and v.released
    out = CODEC.decode(v.work.out)
    assert out.label == "CONFIDENTIAL//REL TO USA, JPN" and out.callsign == ""
    assert dict(out.detail) == {"platform": "P-8A", "source": "SIGINT"}
    assert out.ce == 10000.0 and (out.lat, out.lon) != (item("a").lat, item("a").lon)
    assert v.work.label is not None and v.work.label.level == "CONFIDENTIAL"
    other = raw(item("a", type="a-f-G"))
    assert run(other, g=guard(RuleSet((rule,)))).outcome is Outcome.RELEASE


def test_a_relabel_cannot_release_what_the_partner_may_not_see() -> None:
    for bad, reason in (
        ("SECRET//NOFORN", Reason.DENY_NOT_RELEASABLE),
        ("TOP SECRET//REL TO USA, JPN", Reason.DENY_INSUFFICIENT_CLEARANCE),
        ("SECRET//MARS", Reason.DENY_MALFORMED_LABEL),
    ):
        rule = Rule("R", "USA", Action.SANITISE, relabel=bad)
        v = run(raw(item("a")), g=guard(RuleSet((rule,))))
        assert v.outcome is Outcome.DENY and v.stage == "sanitise"
        assert G.DENY_SANITISED_LABEL in v.reasons and reason in v.reasons


def test_rules_match_on_every_condition() -> None:
    it = item("a", category="sensor")
    base = Rule("R", "USA", Action.HOLD)
    assert base.matches(it, "JPN", Tier.T2)
    assert not replace(base, originator="JPN").matches(it, "JPN", Tier.T2)
    assert not replace(base, partners=frozenset({"KOR"})).matches(it, "JPN", Tier.T2)
    assert not replace(base, categories=frozenset({"track"})).matches(it, "JPN", Tier.T2)
    assert not replace(base, types=("a-",)).matches(it, "JPN", Tier.T2)
    assert not replace(base, tiers=frozenset({Tier.T3})).matches(it, "JPN", Tier.T2)
    assert not replace(base, label_source="default").matches(it, "JPN", Tier.T2)
    defaulted = msgspec.structs.replace(it, label_source="default")
    assert replace(base, originator="*", label_source="default").matches(defaulted, "JPN", Tier.T2)
    assert replace(base, originator="*").matches(item("j", origin="JPN"), "USA", Tier.T2)
    first = RuleSet((replace(base, id="1", tiers=frozenset({Tier.T3})), replace(base, id="2")))
    assert first.first(it, "JPN", Tier.T2).id == "2"  # type: ignore[union-attr]
    assert RuleSet().first(it, "JPN", Tier.T2) is None


def test_coarsen_snaps_to_the_grid_and_stays_in_range() -> None:
    it = item("a", lat=89.999, lon=179.999, ce=3.0)
    c = coarsen(it, 50.0)
    assert -90 <= c.lat <= 90 and -180 <= c.lon <= 180 and c.ce == 50000.0
    near = coarsen(item("a", lat=35.001, lon=139.001), 10.0)
    near2 = coarsen(item("a", lat=35.002, lon=139.002), 10.0)
    assert (near.lat, near.lon) == (near2.lat, near2.lon)
    assert abs(near.lat - 35.0) < 10 / 111.32


class _Boom:
    name = "boom"

    def __call__(self, w: Work) -> Work | Verdict:
        raise RuntimeError("fault")


class _Nothing:
    name = "nothing"

    def __call__(self, w: Work) -> Work | Verdict:
        return None  # type: ignore[return-value]


class _Pass:
    name = "pass"

    def __call__(self, w: Work) -> Work | Verdict:
        return w


def test_any_fault_in_a_filter_is_a_denial() -> None:
    w = Work(raw(item("a")), "JPN", Tier.T2, T0)
    for bad in (_Boom(), _Nothing()):
        g = Guard([Parse(CODEC), bad, Reserialise(CODEC)])
        v = g.run(w)
        assert v.outcome is Outcome.DENY and v.reasons == (G.DENY_FILTER_ERROR,)
        assert v.stage == bad.name and v.error
    assert "fault" in Guard([_Boom()]).run(w).error


def test_passing_every_filter_is_not_enough_without_canonical_bytes() -> None:
    w = Work(raw(item("a")), "JPN", Tier.T2, T0)
    v = Guard([_Pass()]).run(w)
    assert v.outcome is Outcome.DENY and v.reasons == (G.DENY_NOT_CANONICAL,)
    v2 = Guard([Parse(CODEC)]).run(w)
    assert v2.outcome is Outcome.DENY
    assert Guard([Parse(CODEC), Reserialise(CODEC)], done=Outcome.ACCEPT).run(w).outcome is (
        Outcome.ACCEPT
    )
    with pytest.raises(ValueError, match="at least one"):
        Guard([])


class _Lossy:
    """A codec whose output does not read back as the item."""

    def decode(self, data: bytes) -> object:
        return CODEC.decode(data.replace(b"HAWK", b"HAWX"))

    def encode(self, it: object) -> bytes:
        return CODEC.encode(it)  # type: ignore[arg-type]


def test_a_codec_that_does_not_round_trip_is_refused() -> None:
    w = Work(b"", "JPN", Tier.T2, T0, item=item("a"))
    v = Reserialise(_Lossy())(w)  # type: ignore[arg-type]
    assert isinstance(v, Verdict) and v.reasons == (G.DENY_NOT_CANONICAL,)


def test_inbound_origin_is_the_envelope_sender_and_its_metadata_must_agree() -> None:
    it = item("a", origin="USA")  # what the item claims is of no account inbound
    env = seal(SIGNERS["JPN"], msg_id="m", receiver="USA", sent_at=T0.isoformat(),
               audit_seq=0, item=b"x", meta=Meta("JPN", "track"))  # fmt: skip
    w = Work(b"", "JPN", Tier.T2, T0, envelope=env, item=it)
    got = Originator(None)(w)
    assert isinstance(got, Work) and got.item is not None and got.item.origin == "JPN"
    for bad, reason in [
        (Meta("USA", "track"), G.DENY_NOT_ORIGINATOR),  # a sender states another origin
        (Meta("JPN", "liaison"), G.DENY_ENVELOPE_MISMATCH),  # not the type's category
        (Meta("JPN", "track", "guess"), G.DENY_ENVELOPE_MISMATCH),
        (Meta("JPN", "", ""), G.DENY_ENVELOPE_MISMATCH),  # missing
    ]:
        v = Originator(None)(msgspec.structs.replace(w, envelope=replace_meta(env, bad)))
        assert isinstance(v, Verdict) and v.reasons == (reason,), bad
    assert isinstance(Originator(None)(msgspec.structs.replace(w, envelope=None)), Verdict)
    assert isinstance(Originator("USA")(msgspec.structs.replace(w, item=item("j", "JPN"))), Verdict)


def replace_meta(env: Envelope, m: Meta) -> Envelope:
    return msgspec.structs.replace(
        env, origin=m.origin, category=m.category, label_source=m.label_source
    )


def test_releasable_reports_the_label_engines_reasons() -> None:
    w = Work(b"", "JPN", Tier.T2, T0, item=item("a", label="SECRET//NOFORN"))
    w = CheckLabel(TABLE)(w)  # type: ignore[assignment]
    v = Releasable(Decider(), CATALOGUE.tiers)(w)
    assert isinstance(v, Verdict) and v.reasons == (Reason.DENY_NOT_RELEASABLE,)
    assert isinstance(
        Releasable(Decider(), CATALOGUE.tiers)(msgspec.structs.replace(w, tier=None)), Verdict
    )


def test_packaged_rules_load_and_hold_plans() -> None:
    rules = load_rules()
    assert rules.first(item("a", category="plan"), "JPN", Tier.T3).action is Action.HOLD  # type: ignore[union-attr]
    assert rules.first(item("a", origin="JPN", category="plan"), "USA", Tier.T3) is not None
