"""Kizuna's tracker against Stone Soup's GNN Kalman tracker on the same generated scenarios.

Prints one JSON line: ms/scan and mean GOSPA of each tracker per target count, and the speed
ratio. Stone Soup is configured as its multi-target GNN tutorial does (Kalman predictor and
updater, Mahalanobis DistanceHypothesiser, GNNWith2DAssignment, MultiMeasurementInitiator);
both trackers get the same motion model and process noise (``ScenarioSpec.tracker_q``), gate,
measurement noise, 3-detection confirmation and deletion after 4 missed scans.

Usage: python bench/fusion.py [--sizes 10,50,100,300] [--scans 200] [--big 1000]
       [--stonesoup-scans N]   (cap Stone Soup's scans per size, for a quick look)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import time

import numpy as np
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
from stonesoup.deleter.time import UpdateTimeStepsDeleter
from stonesoup.hypothesiser.distance import DistanceHypothesiser
from stonesoup.initiator.simple import MultiMeasurementInitiator
from stonesoup.measures import Mahalanobis
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
)
from stonesoup.models.transition.linear import (
    ConstantVelocity as SsConstantVelocity,
)
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.tracker.simple import MultiTargetTracker
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState
from stonesoup.updater.kalman import KalmanUpdater

from kizuna.fusion import (
    ConstantVelocity,
    Scenario,
    ScenarioSpec,
    SensorSpec,
    Tracker,
    TrackerConfig,
    TruthFrame,
    generate,
    score_run,
)

TARGET_Q = 0.5  # the targets' own acceleration noise; turns come on top
SIGMA = 15.0
GATE = 13.8
MISSES = 4
GOSPA = {"c": 100.0, "p": 2.0, "alpha": 2.0}


def scenario(n: int, scans: int, seed: int) -> Scenario:
    spec = ScenarioSpec(
        n_targets=n,
        n_scans=scans,
        q=TARGET_Q,
        sensors=(SensorSpec("USA", sigma=SIGMA, pd=0.95, clutter_per_km2=0.02),),
    )
    return generate(spec, np.random.default_rng(seed))


def frame(sc: Scenario, k: int, ids: np.ndarray, pos: np.ndarray) -> TruthFrame:
    tid, tx = sc.truth_at(k)
    return TruthFrame(float(sc.times[k]), ids, pos, tid, tx[:, :2])


def run_kizuna(sc: Scenario, scans: int) -> tuple[float, list[TruthFrame]]:
    cfg = TrackerConfig(gate=GATE, max_misses=MISSES)
    tracker = Tracker(ConstantVelocity(q=sc.spec.tracker_q), cfg)
    data = list(sc.scans("USA"))[:scans]
    frames, spent = [], 0.0
    for k, (t, det) in enumerate(data):
        t0 = time.perf_counter()
        res = tracker.step(t, det)
        spent += time.perf_counter() - t0
        frames.append(frame(sc, k, res.tracks.ids, res.tracks.positions))
    return 1000 * spent / len(data), frames


def _stonesoup_tracker(scans: list, q: float) -> MultiTargetTracker:
    transition = CombinedLinearGaussianTransitionModel(
        [SsConstantVelocity(q), SsConstantVelocity(q)]
    )
    measurement = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.eye(2) * SIGMA**2)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(measurement)
    # missed_distance is a Mahalanobis distance, so the square root of Kizuna's χ² gate.
    hypothesiser = DistanceHypothesiser(
        predictor, updater, measure=Mahalanobis(), missed_distance=float(np.sqrt(GATE))
    )
    associator = GNNWith2DAssignment(hypothesiser)
    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(np.zeros((4, 1)), np.diag([0.0, 150.0**2, 0.0, 150.0**2])),
        measurement_model=measurement,
        deleter=UpdateTimeStepsDeleter(time_steps_since_update=2),
        data_associator=associator,
        updater=updater,
        min_points=3,
    )
    return MultiTargetTracker(
        initiator=initiator,
        deleter=UpdateTimeStepsDeleter(time_steps_since_update=MISSES),
        detector=scans,
        data_associator=associator,
        updater=updater,
    )


def run_stonesoup(sc: Scenario, scans: int) -> tuple[float, list[TruthFrame]]:
    start = dt.datetime(2026, 1, 1)
    data = []
    for t, det in list(sc.scans("USA"))[:scans]:
        when = start + dt.timedelta(seconds=t)
        data.append((when, {Detection(z.reshape(2, 1), timestamp=when) for z in det.z}))
    tracker = _stonesoup_tracker(data, sc.spec.tracker_q)
    frames, spent = [], 0.0
    it = iter(tracker)
    for k in range(len(data)):
        t0 = time.perf_counter()
        _, tracks = next(it)
        spent += time.perf_counter() - t0
        trk = sorted(tracks, key=id)
        ids = np.array([id(x) for x in trk], dtype=np.int64)
        pos = np.array([[x.state_vector[0, 0], x.state_vector[2, 0]] for x in trk]).reshape(-1, 2)
        frames.append(frame(sc, k, ids, pos))
    return 1000 * spent / len(data), frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,50,100,300")
    ap.add_argument("--scans", type=int, default=200)
    ap.add_argument("--big", type=int, default=1000)
    ap.add_argument("--stonesoup-scans", type=int, default=0)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out: dict[str, object] = {"bench": "fusion", "scans": args.scans, "gospa": GOSPA}
    run_kizuna(scenario(5, 5, args.seed), 5)  # warm-up: first calls into scipy cost extra
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        sc = scenario(n, args.scans, args.seed)
        k_ms, k_frames = run_kizuna(sc, args.scans)
        ss_scans = min(args.stonesoup_scans or args.scans, args.scans)
        s_ms, s_frames = run_stonesoup(sc, ss_scans)
        # GOSPA over the same scans for both, even when Stone Soup ran fewer.
        k_g = score_run(k_frames[:ss_scans], **GOSPA).gospa_mean
        s_g = score_run(s_frames, **GOSPA).gospa_mean
        rows.append(
            {
                "targets": n,
                "kizuna_ms_per_scan": round(k_ms, 3),
                "kizuna_gospa_mean": round(k_g, 3),
                "stonesoup_scans": ss_scans,
                "stonesoup_ms_per_scan": round(s_ms, 3),
                "stonesoup_gospa_mean": round(s_g, 3),
                "speedup": round(s_ms / k_ms, 1),
                "gospa_ratio": round(k_g / s_g, 5),
            }
        )
    out["sizes"] = rows
    if args.big:
        k_ms, k_frames = run_kizuna(scenario(args.big, args.scans, args.seed), args.scans)
        k_g = score_run(k_frames, **GOSPA).gospa_mean
        out["big"] = {
            "targets": args.big,
            "kizuna_ms_per_scan": round(k_ms, 3),
            "kizuna_gospa_mean": round(k_g, 2),
        }
    at100 = [r for r in rows if r["targets"] == 100]
    out["targets_met"] = {
        "speedup_100_ge_20": bool(at100) and at100[0]["speedup"] >= 20,
        "gospa_100_no_worse": bool(at100) and at100[0]["gospa_ratio"] <= 1.0,
        "big_lt_20_ms": "big" in out and out["big"]["kizuna_ms_per_scan"] < 20,  # type: ignore[index]
    }
    out["python"] = platform.python_version()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
