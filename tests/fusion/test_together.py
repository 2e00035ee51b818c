"""Trackers stepped together end exactly where each stepped alone ends: the same tracks, ids,
states and covariances to the bit, the same events and the same rejects."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ValidationError
from kizuna.fusion import (
    ConstantVelocity,
    Detections,
    ScanResult,
    Tracker,
    TrackerConfig,
    step_together,
)
from kizuna.fusion._assoc import DENSE_MAX, gate_2d, gate_pairs, near_pairs
from kizuna.fusion._kalman import predict, predict_cov, predict_state


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def _assert_same_result(a: ScanResult, b: ScanResult) -> None:
    assert a.tracks.time == b.tracks.time
    for got, want in (
        (a.tracks.ids, b.tracks.ids),
        (a.tracks.x, b.tracks.x),
        (a.tracks.p, b.tracks.p),
        (a.confirmed_now, b.confirmed_now),
        (a.deleted, b.deleted),
    ):
        _same_bits(got, want)
    assert a.rejects.counts == b.rejects.counts


def _assert_same_tracker(a: Tracker, b: Tracker) -> None:
    assert a.time == b.time and len(a) == len(b)
    for got, want in zip(a._state(), b._state(), strict=True):
        _same_bits(np.ascontiguousarray(got), np.ascontiguousarray(want))
    assert a._next_id == b._next_id
    assert a.rejects.counts == b.rejects.counts


def _scan(rng: np.random.Generator, truth: np.ndarray, sensor: str, ties: bool) -> Detections:
    """Truth seen with misses and noise, plus clutter, shuffled; on a coarse grid when
    ``ties``, so that association costs tie."""
    seen = truth[rng.random(truth.shape[0]) < 0.85]
    z = seen + rng.normal(0, 60.0, seen.shape)
    clutter = rng.uniform(-3e4, 3e4, (int(rng.integers(0, 8)), 2))
    z = np.concatenate([z, clutter])[rng.permutation(seen.shape[0] + clutter.shape[0])]
    if ties:
        z = np.round(z / 500.0) * 500.0
    return Detections.of(z, float(rng.choice([40.0, 60.0, 90.0])), sensor)


def _fleet(rng: np.random.Generator, k: int) -> list[Tracker]:
    """Trackers that may group (same rules, their own sensors and deletion variances)
    and some that may not (another gate, a sensor-less config)."""
    out = []
    for i in range(k):
        cfg = TrackerConfig(
            confirm_m=2,
            confirm_n=3,
            sensors=frozenset((f"S{i}",)),
            max_position_var=float(rng.choice([1e6, 4e6, 3e8])),
        )
        kind = rng.integers(0, 6)
        if kind == 0:
            cfg = replace(cfg, gate=9.2)
        elif kind == 1:
            cfg = replace(cfg, sensors=None)
        out.append(Tracker(ConstantVelocity(q=float(rng.choice([0.5, 1.0]))), cfg))
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 6), st.booleans())
def test_stepping_together_equals_stepping_alone(seed: int, k: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    together = _fleet(rng, k)
    alone = copy.deepcopy(together)
    n_targets = rng.integers(1, 40, k)
    truth = [rng.uniform(-3e4, 3e4, (int(n), 2)) for n in n_targets]
    vel = [rng.normal(0, 15.0, (int(n), 2)) for n in n_targets]
    # Each tracker looks every few ticks; a look of several at one tick is one group.
    every = rng.integers(1, 4, k)
    grouped = 0
    for tick in range(24):
        t = 60.0 * tick
        truth = [x + v * 60.0 for x, v in zip(truth, vel, strict=True)]
        due = [i for i in range(k) if tick % every[i] == 0]
        if not due:
            continue
        scans = [_scan(rng, truth[i], f"S{i}", ties) for i in due]
        if rng.random() < 0.1:  # now and then a scan with a bad row goes the long way
            z = scans[0].z.copy()
            if len(z):
                z[0, 0] = np.nan
            scans[0] = Detections(z, scans[0].sigma, scans[0].sensor)
        got = step_together([together[i] for i in due], t, scans)
        want = [alone[i].step(t, d) for i, d in zip(due, scans, strict=True)]
        for a, b in zip(got, want, strict=True):
            _assert_same_result(a, b)
        grouped += len(due) > 1
    for a, b in zip(together, alone, strict=True):
        _assert_same_tracker(a, b)
    assert grouped > 0
    assert sum(len(t) for t in together) > 0  # the run made tracks to compare


class _Counting(Tracker):
    """A tracker that counts the scans it steps alone."""

    alone = 0

    def step(self, time: float, detections: Detections) -> ScanResult:
        self.alone += 1
        return super().step(time, detections)


def test_a_group_of_busy_sensors_equals_stepping_alone() -> None:
    """Three sensors of a run's sizes looking at one instant, for an hour of looks; past
    the first look (no tracks yet: each steps alone) the group steps together."""
    rng = np.random.default_rng(7)
    cfg = TrackerConfig(max_position_var=1800.0**2)
    together = [_Counting(config=replace(cfg, sensors=frozenset((s,)))) for s in "ABC"]
    alone = [Tracker(config=replace(cfg, sensors=frozenset((s,)))) for s in "ABC"]
    truth = rng.uniform(-2e5, 2e5, (120, 2))
    vel = rng.normal(0, 10.0, truth.shape)
    confirmed = 0
    for tick in range(30):
        truth = truth + vel * 120.0
        scans = [_scan(rng, truth[: 40 * (i + 1)], s, ties=False) for i, s in enumerate("ABC")]
        got = step_together(together, 120.0 * tick, scans)
        for a, tr, d in zip(got, alone, scans, strict=True):
            _assert_same_result(a, tr.step(120.0 * tick, d))
            confirmed += a.confirmed_now.size
    for a, b in zip(together, alone, strict=True):
        _assert_same_tracker(a, b)
    assert [t.alone for t in together] == [1, 1, 1]
    assert confirmed > 50


def test_a_scan_past_the_dense_limit_steps_in_its_group_as_alone() -> None:
    """Above DENSE_MAX pairs a lone step gates with a KD-tree; in a group the same pairs
    come from the dense table, with the same costs: the same tracks to the bit."""
    rng = np.random.default_rng(11)
    cfg = TrackerConfig(max_position_var=3e4**2)
    together = [_Counting(config=replace(cfg, sensors=frozenset((s,)))) for s in "AB"]
    alone = [Tracker(config=replace(cfg, sensors=frozenset((s,)))) for s in "AB"]
    truth = rng.uniform(-4e5, 4e5, (190, 2))
    vel = rng.normal(0, 10.0, truth.shape)
    big = 0
    for tick in range(8):
        truth = truth + vel * 600.0
        scans = [_scan(rng, truth, "A", ties=False), _scan(rng, truth[:30], "B", ties=False)]
        big += len(alone[0]) * len(scans[0]) > DENSE_MAX
        got = step_together(together, 600.0 * tick, scans)
        for a, tr, d in zip(got, alone, scans, strict=True):
            _assert_same_result(a, tr.step(600.0 * tick, d))
    for a, b in zip(together, alone, strict=True):
        _assert_same_tracker(a, b)
    assert big >= 5  # most scans were past the dense limit ...
    assert [t.alone for t in together] == [1, 1]  # ... and still stepped in the group


def test_odd_members_step_alone_with_the_same_results() -> None:
    """A late scan, a non-finite time, an empty scan, a 3-D tracker and bad rows are
    stepped the way ``step`` takes them, beside a group that steps together."""
    rng = np.random.default_rng(3)
    base = TrackerConfig(confirm_m=1, confirm_n=1)
    together = [Tracker(config=replace(base, sensors=frozenset((f"S{i}",)))) for i in range(4)]
    together.append(Tracker(ConstantVelocity(dim=3), base))
    alone = copy.deepcopy(together)
    truth = rng.uniform(-1e4, 1e4, (10, 2))

    def scans() -> list[Detections]:
        out = [_scan(rng, truth, f"S{i}", ties=False) for i in range(4)]
        out.append(Detections.of(rng.normal(0, 1e3, (5, 3)), 50.0, "X"))
        return out

    for t in (0.0, 60.0, 120.0):
        s = scans()
        for a, b in zip(
            step_together(together, t, s),
            [tr.step(t, d) for tr, d in zip(alone, s, strict=True)],
            strict=True,
        ):
            _assert_same_result(a, b)
    s = scans()
    s[1] = Detections.empty()
    s[2] = Detections(s[2].z, np.where(np.arange(len(s[2])) == 0, -1.0, s[2].sigma), s[2].sensor)
    s[3] = Detections.of(s[3].z, 60.0, "nobody")
    got = step_together(together, 180.0, s)
    for a, b in zip(got, [tr.step(180.0, d) for tr, d in zip(alone, s, strict=True)], strict=True):
        _assert_same_result(a, b)
    assert got[2].rejects.counts["bad_sigma"] == 1
    assert got[3].rejects.counts["unknown_sensor"] == len(s[3])
    for t in (100.0, float("nan")):  # a late scan and a non-finite time change nothing
        s = scans()
        got = step_together(together, t, s)
        for a, b in zip(got, [tr.step(t, d) for tr, d in zip(alone, s, strict=True)], strict=True):
            _assert_same_result(a, b)
        assert all(r.rejects.total > 0 for r in got)
    for a, b in zip(together, alone, strict=True):
        _assert_same_tracker(a, b)


def test_a_tracker_twice_steps_twice_in_order() -> None:
    rng = np.random.default_rng(5)
    one = Tracker()
    twin = copy.deepcopy(one)
    truth = rng.uniform(-1e4, 1e4, (6, 2))
    s = [_scan(rng, truth, "", ties=False) for _ in range(2)]
    got = step_together([one, one], 0.0, s)
    want = [twin.step(0.0, s[0]), twin.step(0.0, s[1])]
    for a, b in zip(got, want, strict=True):
        _assert_same_result(a, b)


def test_bad_calls_are_refused_before_any_tracker_steps() -> None:
    trackers = [Tracker(), Tracker()]
    good = Detections.of([[0.0, 0.0]], 50.0, "A")
    with pytest.raises(ValidationError) as err:
        step_together(trackers, 0.0, [good])
    assert err.value.field == "scans"
    with pytest.raises(ValidationError) as err:
        step_together(trackers, 0.0, [good, Detections.of([[0.0, 0.0, 0.0]], 50.0, "A")])
    assert err.value.field == "z"
    assert all(t.time is None and len(t) == 0 for t in trackers)
    assert step_together([], 0.0, []) == []


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_near_and_gated_pairs_are_the_dense_gate_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 30)), int(rng.integers(1, 30))
    pos = rng.uniform(-1e4, 1e4, (n, 2))
    a = rng.normal(0, 300.0, (n, 2, 2))
    ppos = a @ a.transpose(0, 2, 1) + np.eye(2) * rng.uniform(1.0, 1e5, (n, 1, 1))
    z = np.concatenate([pos[rng.integers(0, n, m)] + rng.normal(0, 500.0, (m, 2))])
    r_var = rng.choice([100.0, 2500.0, 40000.0], m)
    gate = 13.8
    keep, cost = gate_2d(pos, ppos, z, r_var, gate=gate)
    tracks = np.empty((n, 6))
    tracks[:, :2] = pos
    tracks[:, 2], tracks[:, 3], tracks[:, 4] = ppos[:, 0, 0], ppos[:, 0, 1], ppos[:, 1, 1]
    tracks[:, 5] = (tracks[:, 2] + tracks[:, 4]) + 2.0 * float(r_var.max())
    dets = np.column_stack([z, r_var])
    rows, cols = near_pairs(tracks, dets, gate=gate)
    ok, w = gate_pairs(tracks, dets, rows, cols, gate=gate)
    want_r, want_c = keep.nonzero()
    np.testing.assert_array_equal(rows[ok], want_r)
    np.testing.assert_array_equal(cols[ok], want_c)
    _same_bits(w[ok], cost[want_r, want_c])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60))
def test_covariances_predict_alike_in_any_stack(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    model = ConstantVelocity(q=0.7)
    f, q = model.transition(120.0), model.noise(120.0)
    x = rng.normal(0, 1e4, (n, 4))
    a = rng.normal(0, 100.0, (n, 4, 4))
    p = a @ a.transpose(0, 2, 1)
    want_x, want_p = predict(x, p, f, q)
    _same_bits(predict_state(x, f), want_x)
    cut = int(rng.integers(0, n + 1))
    _same_bits(np.concatenate([predict_cov(p[:cut], f, q), predict_cov(p[cut:], f, q)]), want_p)
