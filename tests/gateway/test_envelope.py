"""Batch-sealed envelopes: one signature over a batch's Merkle root, each envelope provable on
its own, nothing in one envelope usable to pass off another."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ParseError
from kizuna.gateway import Envelope, KeyRing, Meta, Signer, open_envelope, seal, seal_batch
from kizuna.gateway._envelope import HeadCheck

JPN = Signer.generate("JPN")
RING = KeyRing.of(JPN)


def _batch(n: int) -> list[Envelope]:
    items = [(f"m{i}", i, f"<item n='{i}'/>".encode()) for i in range(n)]
    meta = [Meta("JPN", "track", "default")] * n
    return seal_batch(
        JPN, receiver="USA", sent_at="2027-01-01T00:00:00+00:00", items=items, meta=meta
    )


def test_the_metadata_is_signed_and_one_line_each() -> None:
    env = _batch(1)[0]
    assert (env.origin, env.category, env.label_source) == ("JPN", "track", "default")
    assert b"kizuna-envelope/v2" in env.body() and env.signature_ok(RING)
    with pytest.raises(ValueError, match="one line"):
        seal(JPN, msg_id="m", receiver="USA", sent_at="t", audit_seq=0, item=b"x",
             meta=Meta("JPN", "track\nUSA"))  # fmt: skip
    with pytest.raises(ValueError, match="one meta per item"):
        seal_batch(JPN, receiver="USA", sent_at="t", items=[("a", 0, b"x"), ("b", 1, b"y")],
                   meta=[Meta("JPN", "track")])  # fmt: skip
    bare = seal(JPN, msg_id="m", receiver="USA", sent_at="t", audit_seq=0, item=b"x")
    assert (bare.origin, bare.category) == ("JPN", "")  # no receiver accepts a bare one


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, name: str, signature: bytes, data: bytes) -> bool:
        self.calls += 1
        return RING.verify(name, signature, data)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_every_envelope_of_a_batch_verifies_alone_after_the_wire(n: int) -> None:
    for env in _batch(n):
        again = open_envelope(env.encode())
        assert again == env
        assert again.signature_ok(RING)
        assert HeadCheck(RING.verify)(again)


def test_a_batch_of_one_is_what_seal_makes() -> None:
    env = seal(JPN, msg_id="m", receiver="USA", sent_at="t", audit_seq=3, item=b"x")
    assert (env.index, env.size, env.path) == (0, 1, ())
    assert env.signature_ok(RING)


@pytest.mark.parametrize(
    "change",
    [
        {"item": b"<item n='other'/>"},
        {"msg_id": "m-forged"},
        {"receiver": "GBR"},
        {"sent_at": "2027-01-02T00:00:00+00:00"},
        {"audit_seq": 99},
        {"index": 4},
        {"size": 6},
        {"size": 1},
        {"sender": "USA"},
        {"origin": "USA"},
        {"category": "liaison"},
        {"label_source": "publisher"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_any_change_to_an_envelope_breaks_its_proof(change: dict[str, object]) -> None:
    env = _batch(7)[3]
    bad = msgspec.structs.replace(env, **change)  # type: ignore[arg-type]
    assert not bad.signature_ok(KeyRing.of(JPN, Signer.generate("USA")))
    assert not HeadCheck(RING.verify)(bad)


def test_a_path_taken_from_a_sibling_does_not_prove_another_item() -> None:
    batch = _batch(8)
    forged = msgspec.structs.replace(batch[2], item=batch[5].item, path=batch[5].path)
    assert not forged.signature_ok(RING)
    spliced = msgspec.structs.replace(batch[2], path=batch[3].path)
    assert not spliced.signature_ok(RING)


def test_a_batch_costs_one_verification_and_a_bad_one_is_checked_every_time() -> None:
    counting = _Counting()
    check = HeadCheck(counting)
    batch = _batch(50)
    assert all(check(env) for env in batch)
    assert counting.calls == 1
    forged = msgspec.structs.replace(batch[0], signature=bytes(64))
    assert not check(forged)
    assert not check(forged)
    assert counting.calls == 3
    other = seal_batch(Signer.generate("JPN"), receiver="USA", sent_at="t", items=[("x", 0, b"y")])
    assert not check(other[0])  # another key under the same name: a new head, checked, refused


@pytest.mark.parametrize(
    ("field", "value"),
    [("index", 5), ("index", -1), ("size", 0), ("size", 1 << 20), ("path", [b"short"])],
)
def test_an_envelope_whose_place_in_a_batch_is_impossible_is_refused_on_opening(
    field: str, value: object
) -> None:
    env = _batch(5)[1]
    wire = msgspec.json.decode(env.encode())
    wire[field] = value
    if field == "size" and value == 0:
        wire["index"] = 0
    with pytest.raises(ParseError):
        open_envelope(msgspec.json.encode(wire))


def _warm(batch: list[Envelope]) -> HeadCheck:
    check = HeadCheck(RING.verify)
    assert all(check(env) for env in batch)
    return check


@pytest.mark.parametrize(
    "change",
    [
        {"item": b"<item n='other'/>"},
        {"msg_id": "m-forged"},
        {"receiver": "GBR"},
        {"audit_seq": 99},
        {"index": 4},
        {"index": 2},
        {"size": 6},
        {"size": 8},
    ],
    ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}",
)
def test_a_check_that_knows_the_batch_still_refuses_any_change(change: dict[str, object]) -> None:
    batch = _batch(7)
    bad = msgspec.structs.replace(batch[3], **change)  # type: ignore[arg-type]
    assert not _warm(batch)(bad)


def test_a_check_that_knows_the_batch_refuses_borrowed_and_bent_paths() -> None:
    batch = _batch(8)
    check = _warm(batch)
    a, b = batch[2], batch[5]
    for forged in (
        msgspec.structs.replace(a, item=b.item, path=b.path),
        msgspec.structs.replace(a, path=batch[3].path),
        msgspec.structs.replace(a, path=a.path[:-1]),
        msgspec.structs.replace(a, path=(*a.path, a.path[-1])),
        msgspec.structs.replace(a, path=(a.path[0], *a.path)),
    ):
        assert not check(forged)
    assert check(a)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=33),
    st.data(),
)
def test_remembered_proofs_judge_exactly_as_a_fresh_check(n: int, data: st.DataObject) -> None:
    batch = _batch(n)
    order = data.draw(st.permutations(range(n)))
    check = HeadCheck(RING.verify)
    for i in order[: data.draw(st.integers(0, n))]:
        assert check(batch[i])
    env = batch[data.draw(st.integers(0, n - 1))]
    donor = batch[data.draw(st.integers(0, n - 1))]
    candidates = [
        env,
        msgspec.structs.replace(env, index=donor.index),
        msgspec.structs.replace(env, path=donor.path),
        msgspec.structs.replace(env, item=donor.item),
        msgspec.structs.replace(env, audit_seq=donor.audit_seq),
    ]
    for cand in candidates:
        assert check(cand) == HeadCheck(RING.verify)(cand)


def test_the_memory_of_proofs_is_bounded_and_forgetting_only_costs_a_verification() -> None:
    counting = _Counting()
    check = HeadCheck(counting, nodes=40)
    first, second = _batch(30), _batch(31)
    assert all(check(env) for env in first) and all(check(env) for env in second)
    assert check._nodes <= 40 + 2 * 31
    assert all(check(env) for env in first)  # forgotten, so proven again at one verification
    assert counting.calls == 3
