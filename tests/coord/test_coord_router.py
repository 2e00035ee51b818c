from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.coord import (
    Architecture,
    Constant,
    Edge,
    EdgeKind,
    LogNormal,
    Node,
    NodeKind,
    Router,
)

HQS = [f"h{i}" for i in range(6)]


def _arch(base: Architecture, edges: list[Edge], extra: list[Node]) -> Architecture:
    nodes = dict(base.nodes)
    nodes.update({n.id: n for n in extra})
    return replace(base, nodes=nodes, edges=tuple(edges))


def test_earliest_arrival_picks_the_fastest_channel(shipped: dict[str, Architecture]) -> None:
    base = shipped["integrated"]
    router = Router(base, np.random.default_rng(0))
    w = router.draw()
    bcc_jjoc = [i for i, e in enumerate(base.edges) if {e.src, e.dst} == {"bcc", "jjoc"}]
    assert router.latency("bcc", "jjoc", w) == min(w[i] for i in bcc_jjoc)


def test_sensors_and_shooters_do_not_relay(shipped: dict[str, Architecture]) -> None:
    arch = shipped["parallel"]
    router = Router(arch, np.random.default_rng(0))
    w = [1.0] * len(arch.edges)
    # cfc reaches the US chain only through indopacom, never through its own sensors
    assert router.latency("cfc", "usfj_jfhq", w) == 2.0
    integ = shipped["integrated"]
    lone = _arch(integ, [Edge("jpn_cabinet", "us_mq9", EdgeKind.DATA, Constant(0.0)),
                         *integ.edges], [])  # fmt: skip
    r2 = Router(lone, np.random.default_rng(0))
    w2 = [1.0] * len(lone.edges)
    # cabinet > jjoc > bcc > usfj, not 2.0 through the sensor us_mq9
    assert r2.latency("jpn_cabinet", "usfj_jfhq", w2) == 3.0


def test_tasking_follows_only_the_national_command_chain(shipped: dict[str, Architecture]) -> None:
    arch = shipped["integrated"]
    router = Router(arch, np.random.default_rng(0))
    w = [60.0] * len(arch.edges)
    lat, path = router.tasking("JPN", "jpn_cabinet", "jgsdf_ssm_1", w)
    assert path == ["jpn_cabinet", "jjoc", "jgsdf_ssm_1"] and lat == 120.0
    assert router.tasking("USA", "usfj_jfhq", "jgsdf_ssm_1", w)[0] == math.inf
    assert router.tasking("JPN", "bcc", "jgsdf_ssm_1", w)[0] == math.inf


def test_isr_products_need_a_data_path(shipped: dict[str, Architecture]) -> None:
    arch = shipped["parallel"]
    router = Router(arch, np.random.default_rng(0))
    w = [1.0 if e.key != "usfj_jfhq->jjoc:data" else 100.0 for e in arch.edges]
    # words travel by liaison through the ACM; imagery only by the slow release edge
    assert router.latency("us_mq9", "jjoc", w) == 3.0
    assert router.latency("us_mq9", "jjoc", w, data_only=True) == 101.0
    assert router.latency("rok_isr", "jjoc", w, data_only=True) == math.inf


def test_same_generator_seed_gives_the_same_realisations(
    shipped: dict[str, Architecture],
) -> None:
    arch = shipped["parallel"]
    a, b = Router(arch, np.random.default_rng(5)), Router(arch, np.random.default_rng(5))
    assert [a.draw() for _ in range(300)] == [b.draw() for _ in range(300)]


edges_st = st.lists(
    st.tuples(
        st.sampled_from(HQS), st.sampled_from(HQS), st.sampled_from(list(EdgeKind)),
        st.floats(1.0, 3600.0), st.floats(1.0, 4.0),
    ),
    min_size=1, max_size=14,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(edges_st, edges_st.map(lambda x: x[0]), st.integers(0, 2**32 - 1), st.data())
def test_adding_an_edge_never_makes_a_decision_slower(
    shipped: dict[str, Architecture],
    raw: list[tuple[str, str, EdgeKind, float, float]],
    new: tuple[str, str, EdgeKind, float, float],
    seed: int,
    data: st.DataObject,
) -> None:
    hqs = [Node(h, NodeKind.JOINT_HQ, "USA") for h in HQS]
    seen: set[str] = set()
    edges = []
    for s, d, k, m, r in raw:
        e = Edge(s, d, k, LogNormal(m, m * r) if r > 1.0 else Constant(m))
        if s != d and e.key not in seen:
            seen.add(e.key)
            edges.append(e)
    before = _arch(shipped["integrated"], edges, hqs)
    s, d, k, m, r = new
    extra = Edge(s, d, k, LogNormal(m, m * r) if r > 1.0 else Constant(m))
    if s == d or extra.key in seen:
        return
    after = before.with_edge(extra)
    r1, r2 = Router(before, np.random.default_rng(seed)), Router(after, np.random.default_rng(seed))
    src, dst = data.draw(st.sampled_from(HQS)), data.draw(st.sampled_from(HQS))
    for _ in range(3):
        w1, w2 = r1.draw(), r2.draw()
        assert w2[: len(w1)] == w1  # the old edges keep their draws
        for only in (False, True):
            assert r2.latency(src, dst, w2, data_only=only) <= r1.latency(
                src, dst, w1, data_only=only
            )
        assert r2.tasking("USA", src, dst, w2)[0] <= r1.tasking("USA", src, dst, w1)[0]
