"""What a verdict records matters as much as the decision: the audit log keeps the stage, the
error and the work, so a wrong stage or a lost field is a wrong record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from kizuna.gateway import (
    Action,
    Envelope,
    Guard,
    GuardReason,
    Outcome,
    Rule,
    RuleSet,
    Verdict,
    Work,
    inbound_guard,
    seal,
)
from kizuna.gateway import _filters as filters
from kizuna.gateway._filters import (
    CheckLabel,
    OpenEnvelope,
    Releasable,
    Replay,
    Reserialise,
    Sanitise,
    TierAllows,
    top_viewer,
)
from kizuna.labels import Decider, Reason, default_table, load_table, parse_banner
from kizuna.roadmap import Tier
from tests.gateway.conftest import CATALOGUE, CODEC, RING, SIGNERS, T0, item, raw
from tests.gateway.test_guard import guard
from tests.gateway.test_inbound import BAD, JPN_ITEM, env

G = GuardReason
TABLE = default_table()


def _full() -> Work:
    """A Work with every field set to something distinct."""
    it = item("full")
    e = Envelope("m", "JPN", "USA", "t", 3, b"inner", b"sig")
    rule = Rule("R", "USA", Action.SANITISE)
    return Work(
        b"raw", "JPN", Tier.T2, T0, e, it, parse_banner(it.label, TABLE),
        rule, True, True, b"out",
    )  # fmt: skip


def test_each_helper_changes_only_its_own_field() -> None:
    w = _full()
    other = item("other")
    label = parse_banner("UNCLASSIFIED", TABLE)
    rule = Rule("S", "USA", Action.HOLD)
    e2 = Envelope("n", "JPN", "USA", "t", 4, b"other-inner")
    assert w.with_item(other) == msgspec.structs.replace(w, item=other)
    assert w.with_label(label) == msgspec.structs.replace(w, label=label)
    assert w.with_out(b"new") == msgspec.structs.replace(w, out=b"new")
    assert w.with_rule(rule, other, sanitised=False) == msgspec.structs.replace(
        w, rule=rule, item=other, sanitised=False
    )
    assert w.with_envelope(e2) == msgspec.structs.replace(w, envelope=e2, raw=b"other-inner")


STAGES = {
    "garbage": "envelope", "unknown-field": "envelope", "too-large": "size",
    "unsigned": "envelope", "wrong-key": "envelope", "tampered": "envelope",
    "other-sender": "envelope", "wrong-receiver": "envelope", "stale": "replay",
    "future": "replay", "naive-time": "replay", "bad-item": "parse", "nan": "parse",
    "not-origin": "originator", "no-label": "label", "usa-marking": "over-label",
    "noforn": "over-label",
}  # fmt: skip


@pytest.mark.parametrize(("name", "data", "reason"), BAD, ids=[b[0] for b in BAD])
def test_inbound_verdicts_name_their_stage_and_keep_the_work(
    name: str, data: bytes, reason: object
) -> None:
    g = inbound_guard("USA", CODEC, Decider(), RING.verify, lambda _m: False)
    v = g.run(Work(data, "JPN", Tier.T3, T0))
    assert v.stage == STAGES[name] and v.work.partner == "JPN" and v.work.at == T0
    assert v.reasons == (reason,)
    if name in ("garbage", "unknown-field", "bad-item", "nan"):
        assert v.error.startswith(("envelope:", "item:"))
    if name == "naive-time":
        assert v.error == "sent_at is not a UTC time"
    if STAGES[name] not in ("size", "envelope"):
        assert v.work.envelope is not None and v.work.raw == v.work.envelope.item


def test_a_replay_is_refused_at_its_own_stage() -> None:
    g = inbound_guard("USA", CODEC, Decider(), RING.verify, lambda m: m == "m1")
    v = g.run(Work(env(JPN_ITEM), "JPN", Tier.T3, T0))
    assert (v.stage, v.reasons) == ("replay", (G.DENY_REPLAY,))
    assert v.work.envelope is not None and v.work.envelope.msg_id == "m1"


def test_the_replay_window_is_inclusive() -> None:
    e = seal(SIGNERS["JPN"], msg_id="m", receiver="USA",
             sent_at=(T0 - timedelta(hours=1)).isoformat(), audit_seq=0, item=b"x")  # fmt: skip
    w = Work(b"x", "JPN", Tier.T3, T0, envelope=e)
    assert Replay(lambda _m: False, timedelta(hours=1))(w) is w
    assert isinstance(Replay(lambda _m: False, timedelta(minutes=59))(w), Verdict)


def test_outbound_verdicts_keep_the_offered_work() -> None:
    for data, stage in ((b"{bad", "parse"), (raw(item("a", label="SECRET//X")), "label"),
                        (raw(item("a", label="SECRET//NOFORN")), "releasable"),
                        (raw(item("a", category="plan")), "tier")):  # fmt: skip
        v = guard().run(Work(data, "JPN", Tier.T2, T0))
        assert v.stage == stage and v.work.raw == data and v.work.partner == "JPN"
    bad = guard().run(Work(raw(item("a", label="SECRET//X")), "JPN", Tier.T2, T0))
    assert "unknown block" in bad.error


def test_no_tier_denials_keep_the_work_and_stage() -> None:
    w = Work(b"", "JPN", None, T0, item=item("a"), label=parse_banner(item("a").label, TABLE))
    for f in (Releasable(Decider(), CATALOGUE.tiers), TierAllows(CATALOGUE.tiers, TABLE),
              Sanitise(RuleSet(), ())):  # type: ignore[arg-type]  # fmt: skip
        v = f(w)
        assert isinstance(v, Verdict) and v.work is w and v.stage == f.name


def test_guard_faults_keep_the_work_and_say_what_happened() -> None:
    w = Work(raw(item("a")), "JPN", Tier.T2, T0)

    class Nothing:
        name = "nothing"

        def __call__(self, work: Work) -> Work | Verdict:
            return None  # type: ignore[return-value]

    class Boom:
        name = "boom"

        def __call__(self, work: Work) -> Work | Verdict:
            raise KeyError("k")

    v = Guard([Nothing()]).run(w)
    assert (v.work, v.error, v.stage) == (w, "filter returned nothing", "nothing")
    v = Guard([Boom()]).run(w)
    assert (v.work, v.error, v.stage) == (w, "KeyError('k')", "boom")

    class Pass:
        name = "pass"

        def __call__(self, work: Work) -> Work | Verdict:
            return work

    v = Guard([Pass()]).run(w)
    assert (v.work, v.stage, v.reasons) == (w, "guard", (G.DENY_NOT_CANONICAL,))
    with pytest.raises(ValueError, match=r"^a guard needs at least one filter$"):
        Guard([])
    twice = Verdict.deny("s", w, G.DENY_PARSE, G.DENY_PARSE, Reason.DENY_MISSING_LABEL)
    assert twice.reasons == (Reason.DENY_MISSING_LABEL, G.DENY_PARSE)  # sorted, once each
    assert twice.error == "" and twice.outcome is Outcome.DENY


def test_holds_are_not_marked_sanitised() -> None:
    g = guard(RuleSet((Rule("H", "USA", Action.HOLD),)))
    held = g.run(Work(raw(item("a")), "JPN", Tier.T2, T0))
    assert held.outcome is Outcome.HOLD and held.work.sanitised is False
    ok = g.run(Work(raw(item("a")), "JPN", Tier.T2, T0, approved=True))
    assert ok.work.sanitised is False and ok.work.rule is not None and ok.work.rule.id == "H"
    relabel = Rule("R", "USA", Action.SANITISE, relabel="SECRET//NOFORN")
    v = guard(RuleSet((relabel,))).run(Work(raw(item("a")), "JPN", Tier.T2, T0))
    assert v.work.item is not None and v.work.item.label == "SECRET//NOFORN"


def test_label_judgements_are_remembered_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    f = CheckLabel(TABLE)
    calls: list[str] = []
    judge = f._judge
    monkeypatch.setattr(f, "_judge", lambda b: calls.append(b) or judge(b))
    w = Work(b"", "JPN", Tier.T2, T0, item=item("a"))
    first, second = f(w), f(w)
    assert isinstance(first, Work) and first == second and calls == [item("a").label]
    assert f._seen[item("a").label] == first.label
    missing = f(msgspec.structs.replace(w, item=item("a", label=" ")))
    assert isinstance(missing, Verdict) and missing.error == ""
    fresh = CheckLabel(TABLE)
    for i in range(4096):
        fresh(msgspec.structs.replace(w, item=item("a", label=f"X{i}")))
    assert len(fresh._seen) == 4096
    fresh(msgspec.structs.replace(w, item=item("a", label="one more")))
    assert len(fresh._seen) == 1  # cleared when full, then the newest kept
    unsat = f(msgspec.structs.replace(w, item=item("a", label="SECRET//REL TO JPN")))
    assert isinstance(unsat, Verdict) and unsat.error == ""


def test_the_partner_viewer_is_worked_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = filters.top_viewer
    monkeypatch.setattr(filters, "top_viewer", lambda *a: made.append(a[0]) or real(*a))
    f = Releasable(Decider(), CATALOGUE.tiers)
    w = Work(b"", "JPN", Tier.T2, T0, item=item("a"), label=parse_banner(item("a").label, TABLE))
    assert f(w) is w and f(w) is w and made == ["JPN"]


def test_a_gap_in_the_equivalence_rows_keeps_the_level_below(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "src/kizuna/labels/data/policies.toml").read_text()
    text += '\n[policies.KOR]\nlevels = [{ name = "II", banner = "KOR II" }]\n'
    text = text.replace(
        'USA = "SECRET"\nJPN = "GOKUHI"', 'USA = "SECRET"\nJPN = "GOKUHI"\nKOR = "II"'
    )
    path = tmp_path / "p.toml"
    path.write_text(text)
    table = load_table(path)
    v = top_viewer("KOR", 3, table)
    assert v.clearance is not None and v.clearance.level == "II"
    assert top_viewer("KOR", 1, table).clearance.level == "NONE"  # type: ignore[union-attr]


def test_envelope_and_canonical_denials_keep_the_work() -> None:
    f = OpenEnvelope("USA", RING.verify)
    w = Work(b"not json", "JPN", Tier.T3, T0)
    v = f(w)
    assert isinstance(v, Verdict) and v.work is w and v.error.startswith("envelope:")

    class Lossy:
        def decode(self, data: bytes) -> object:
            return CODEC.decode(data.replace(b"HAWK", b"HAWX"))

        def encode(self, it: object) -> bytes:
            return CODEC.encode(it)  # type: ignore[arg-type]

    w2 = Work(b"", "JPN", Tier.T2, T0, item=item("a"), sanitised=True)
    v2 = Reserialise(Lossy())(w2)  # type: ignore[arg-type]
    assert isinstance(v2, Verdict) and v2.work is w2 and v2.stage == "canonical"
    same = Work(raw(item("a")), "JPN", Tier.T2, T0, item=item("a"), sanitised=True)
    assert isinstance(Reserialise(Lossy())(same), Verdict)  # type: ignore[arg-type]
